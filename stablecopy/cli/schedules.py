"""`stablecopy schedule ...` and `stablecopy scheduler`: recurring crawls kept in the catalogue."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from rich import box
from rich.table import Table
from sqlalchemy.orm import Session

from stablecopy.catalog import schedules
from stablecopy.catalog.models import Crawl, CrawlStatus, Schedule
from stablecopy.catalog.schedules import ScheduleError, ScheduleSpec
from stablecopy.catalog.session import CatalogError, open_catalog, session_scope
from stablecopy.cli.console import err, out
from stablecopy.cli.dispatch import Dispatch, dispatch_options
from stablecopy.cli.group import cli
from stablecopy.cli.options import (
    INTERRUPTED,
    catalog,
    location_options,
    parse_settings,
    scope_options,
    settings_option,
)
from stablecopy.crawl.seeds import collect_seeds
from stablecopy.layout import DataLayout
from stablecopy.schedule.cadence import Cadence, CadenceError, format_interval, parse_interval


def _now() -> datetime:
    return datetime.now(UTC)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


def _cadence(every: str | None, cron: str | None, tz: str) -> Cadence:
    try:
        return Cadence(every=parse_interval(every) if every else None, cron=cron, timezone=tz)
    except CadenceError as exc:
        raise click.UsageError(str(exc)) from exc


def _seeds(urls: tuple[str, ...], seed_files: tuple[str, ...]) -> list[str]:
    seeds, problems = collect_seeds(urls, seed_files)
    for problem in problems:
        err.print(f"Warning: skipping seed {problem}")
    if not seeds:
        raise click.ClickException("no valid seed URL for this schedule")
    return seeds


def _notify_url(url: str | None) -> str | None:
    if url and not url.lower().startswith(("http://", "https://")):
        raise click.BadParameter(f"not an http(s) URL: {url!r}", param_hint="--notify-url")
    return url or None


def _named(session: Session, name: str) -> Schedule:
    try:
        return schedules.require_schedule(session, name)
    except ScheduleError as exc:
        raise click.ClickException(str(exc)) from exc


def _describe(schedule: Schedule) -> str:
    every = timedelta(seconds=schedule.every_seconds) if schedule.every_seconds else None
    if every is not None:
        return f"every {format_interval(every)}"
    return f"cron {schedule.cron} ({schedule.timezone})"


def _state(schedule: Schedule, now: datetime) -> str:
    if schedule.claimed_until is not None and schedule.claimed_until > now:
        return f"running (crawl {schedule.running_crawl_id})"
    return "enabled" if schedule.enabled else "paused"


def notify_options(command: Any) -> Any:
    command = click.option(
        "--notify-cmd",
        metavar="COMMAND",
        help="Shell command run after each run, the run's summary as JSON on its standard input.",
    )(command)
    return click.option(
        "--notify-url",
        metavar="URL",
        help="Webhook that each run's summary is POSTed to, as JSON.",
    )(command)


@contextmanager
def _writable(data_dir: Path, db_url: str | None) -> Iterator[Session]:
    """A session on the catalogue, creating it (and the data directory) if needed."""
    layout = DataLayout.create(data_dir, db_url)
    try:
        layout.root.mkdir(parents=True, exist_ok=True)
        engine = open_catalog(layout.db_url, writer=True)
    except (OSError, CatalogError) as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        with session_scope(engine) as session:
            yield session
    except ScheduleError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGINT or SIGTERM: running crawls are then stopped cleanly."""
    stop = threading.Event()

    def handler(signum: int, _frame: object) -> None:
        err.print(f"Stopping ({signal.Signals(signum).name}): waiting for running crawls to close.")
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@cli.group()
def schedule() -> None:
    """Recurring crawls, kept in the catalogue: add, list, show, edit, pause, resume, remove, and
    run them (`schedule run NAME` now, `schedule run-due` from cron, or `stablecopy scheduler`)."""


@schedule.command("add")
@click.argument("name")
@click.argument("urls", nargs=-1, metavar="[URL]...")
@scope_options()
@click.option("--every", metavar="INTERVAL", help="Run at this interval: 6h, 90m, 1h30m, 1d, 2w.")
@click.option("--cron", metavar="EXPR", help='Run on this cron expression, e.g. "0 */6 * * *".')
@click.option(
    "--tz", default="UTC", show_default=True, help="Time zone the cron expression is read in."
)
@notify_options
@settings_option
@location_options
def add(
    name: str,
    urls: tuple[str, ...],
    seed_files: tuple[str, ...],
    follow: bool,
    depth: int,
    allow: tuple[str, ...],
    deny: tuple[str, ...],
    every: str | None,
    cron: str | None,
    tz: str,
    notify_url: str | None,
    notify_cmd: str | None,
    overrides: tuple[str, ...],
    data_dir: Path,
    db_url: str | None,
) -> None:
    """Add schedule NAME: capture URL... (articles, front pages, feeds, sitemaps) and the URLs of
    seed files (read now and stored), every INTERVAL or on a cron expression. Its first run is due
    at once."""
    cadence = _cadence(every, cron, tz)
    spec = ScheduleSpec(
        seeds=_seeds(urls, seed_files),
        follow=follow,
        depth=depth,
        allow=list(allow),
        deny=list(deny),
        settings=parse_settings(overrides),
        every_seconds=int(cadence.every.total_seconds()) if cadence.every else None,
        cron=cadence.cron,
        timezone=cadence.timezone,
        notify_url=_notify_url(notify_url),
        notify_cmd=notify_cmd or None,
    )
    with _writable(data_dir, db_url) as session:
        added = schedules.add_schedule(session, name, spec, _now())
        err.print(
            f"Added schedule {added.name}: {cadence.describe()}, {len(spec.seeds)} seed(s); "
            "first run due now. Runs start with `stablecopy scheduler` or "
            "`stablecopy schedule run-due`."
        )


@schedule.command("edit")
@click.argument("name")
@click.argument("urls", nargs=-1, metavar="[URL]...")
@scope_options(editing=True)
@click.option("--every", metavar="INTERVAL", help="Run at this interval instead.")
@click.option("--cron", metavar="EXPR", help="Run on this cron expression instead.")
@click.option("--tz", help="Time zone of the cron expression.")
@notify_options
@settings_option
@location_options
def edit(
    name: str,
    urls: tuple[str, ...],
    seed_files: tuple[str, ...],
    follow: bool | None,
    depth: int | None,
    allow: tuple[str, ...],
    deny: tuple[str, ...],
    every: str | None,
    cron: str | None,
    tz: str | None,
    notify_url: str | None,
    notify_cmd: str | None,
    overrides: tuple[str, ...],
    data_dir: Path,
    db_url: str | None,
) -> None:
    """Change schedule NAME: what is given replaces what it had (URLs and --seeds together replace
    its seeds; --notify-url "" removes the webhook). A new cadence is due from now."""
    with catalog(data_dir, db_url) as session:
        found = _named(session, name)
        spec = schedules.spec_of(found)
        if urls or seed_files:
            spec.seeds = _seeds(urls, seed_files)
        if follow is not None:
            spec.follow = follow
        if depth is not None:
            spec.depth = depth
        if allow:
            spec.allow = list(allow)
        if deny:
            spec.deny = list(deny)
        if overrides:
            spec.settings.update(parse_settings(overrides))
        if notify_url is not None:
            spec.notify_url = _notify_url(notify_url)
        if notify_cmd is not None:
            spec.notify_cmd = notify_cmd or None
        if every or cron or tz:
            # A new interval replaces a cron expression and the other way round.
            kept_every = spec.every_seconds if not cron else None
            cadence = _cadence(
                every or (format_interval(timedelta(seconds=kept_every)) if kept_every else None),
                cron or (spec.cron if not every else None),
                tz or spec.timezone,
            )
            spec.every_seconds = int(cadence.every.total_seconds()) if cadence.every else None
            spec.cron, spec.timezone = cadence.cron, cadence.timezone
            found.next_due_at = cadence.next_after(_now())
        schedules.apply_spec(found, spec)
        err.print(f"Changed schedule {found.name}: {_describe(found)}, next run due "
                  f"{_when(found.next_due_at)} UTC.")  # fmt: skip


def _toggle(name: str, data_dir: Path, db_url: str | None, enabled: bool) -> None:
    with catalog(data_dir, db_url) as session:
        found = _named(session, name)
        found.enabled = enabled
        now = _now()
        if enabled and found.next_due_at < now:
            found.next_due_at = now  # the runs missed while paused coalesce into one, now
        state = (
            "resumed; next run due " + _when(found.next_due_at) + " UTC" if enabled else "paused"
        )
        err.print(f"Schedule {found.name} {state}.")


@schedule.command("pause")
@click.argument("name")
@location_options
def pause(name: str, data_dir: Path, db_url: str | None) -> None:
    """Stop starting runs of NAME (a run in progress goes on to its end)."""
    _toggle(name, data_dir, db_url, enabled=False)


@schedule.command("resume")
@click.argument("name")
@location_options
def resume(name: str, data_dir: Path, db_url: str | None) -> None:
    """Start running NAME again; if runs were missed while paused, one is due at once."""
    _toggle(name, data_dir, db_url, enabled=True)


@schedule.command("remove")
@click.argument("name")
@location_options
def remove(name: str, data_dir: Path, db_url: str | None) -> None:
    """Delete schedule NAME. Its runs, captures and WARC files stay, as plain crawls."""
    with catalog(data_dir, db_url) as session:
        found = _named(session, name)
        try:
            kept = schedules.remove_schedule(session, found, _now())
        except ScheduleError as exc:
            raise click.ClickException(str(exc)) from exc
        err.print(f"Removed schedule {name}; its {kept} run(s) stay in the catalogue.")


@schedule.command("list")
@location_options
def list_(data_dir: Path, db_url: str | None) -> None:
    """Every schedule: cadence, state, next due time and last run."""
    now = _now()
    with catalog(data_dir, db_url) as session:
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        for column in ("name", "cadence", "state", "next due (UTC)", "last run", "seeds"):
            table.add_column(column, overflow="fold")
        for found in schedules.list_schedules(session):
            last = schedules.last_run(session, found.id)
            table.add_row(
                found.name,
                _describe(found),
                _state(found, now),
                _when(found.next_due_at),
                f"{last.id} {last.status} {_when(last.started_at)}" if last else "-",
                str(len(found.seeds)),
            )
        out.print(table)


def _runs_table(runs: list[Crawl]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for column in ("run", "started (UTC)", "status", "captures", "new/chg/same/fail"):
        table.add_column(column, no_wrap=True)
    table.add_column("error", overflow="fold")
    for run in runs:
        pages = f"{run.pages_new}/{run.pages_changed}/{run.pages_unchanged}/{run.pages_failed}"
        table.add_row(
            str(run.id),
            _when(run.started_at),
            run.status,
            str(run.captures),
            pages,
            run.error or "",
        )
    return table


@schedule.command("show")
@click.argument("name")
@click.option("--runs", type=click.IntRange(min=1), default=10, show_default=True)
@location_options
def show(name: str, runs: int, data_dir: Path, db_url: str | None) -> None:
    """Schedule NAME: what it captures, when, and its recent runs with what each found."""
    now = _now()
    with catalog(data_dir, db_url) as session:
        found = _named(session, name)
        facts = {
            "name": found.name,
            "cadence": _describe(found),
            "state": _state(found, now),
            "next due": f"{_when(found.next_due_at)} UTC",
            "follow": f"yes, depth {found.depth}" if found.follow else "no",
            "allow": " ".join(found.allow) or "-",
            "deny": " ".join(found.deny) or "-",
            "settings": " ".join(f"{k}={v}" for k, v in found.settings.items()) or "-",
            "notify": " ".join(filter(None, [found.notify_url, found.notify_cmd])) or "-",
            "created": f"{_when(found.created_at)} UTC",
        }
        width = max(len(key) for key in facts)
        for key, value in facts.items():
            out.print(f"{key:<{width}}  {value}", markup=False)
        out.print(f"{'seeds':<{width}}  " + f"\n{'':<{width}}  ".join(found.seeds), markup=False)
        recent = list(schedules.recent_runs(session, found.id, limit=runs))
        if recent:
            out.print("\nRecent runs (pages new / changed / unchanged / failed):")
            out.print(_runs_table(recent))
        else:
            out.print("\nNo runs yet.")


def _say(line: str) -> None:
    err.print(line, markup=False, highlight=False)


def _scheduler(
    data_dir: Path,
    db_url: str | None,
    say: Callable[[str], None],
    dispatch: Dispatch,
    **options: Any,
) -> Any:
    from stablecopy.crawl.runner import DataDirError, prepare_data_dir
    from stablecopy.schedule.scheduler import Scheduler

    layout = DataLayout.create(data_dir, db_url)
    launcher = dispatch.launcher(layout, say)
    try:
        prepare_data_dir(layout)
        return Scheduler(layout, say=say, launcher=launcher, **options)
    except (DataDirError, CatalogError) as exc:
        raise click.ClickException(str(exc)) from exc


@schedule.command("run")
@click.argument("name")
@dispatch_options
@location_options
def run(name: str, dispatch: Dispatch, data_dir: Path, db_url: str | None) -> None:
    """Run NAME now, in the foreground, as a normal run of the schedule (paused or not).

    Exit status: 0 when the run finished, 1 when it failed, 130 when it was interrupted."""
    runner = _scheduler(data_dir, db_url, _say, dispatch, foreground=True)
    try:
        with _stop_on_signals() as stop:
            report = runner.run_now(name, stop)
    except ScheduleError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        runner.close()
    if report.status == CrawlStatus.INTERRUPTED:
        sys.exit(INTERRUPTED)
    if report.status != CrawlStatus.FINISHED:
        sys.exit(1)


@schedule.command("run-due")
@click.option(
    "--max-runs", type=click.IntRange(min=1), default=1, show_default=True,
    help="Runs of different schedules at once.",
)  # fmt: skip
@notify_options
@dispatch_options
@location_options
def run_due(
    max_runs: int,
    notify_url: str | None,
    notify_cmd: str | None,
    dispatch: Dispatch,
    data_dir: Path,
    db_url: str | None,
) -> None:
    """Run every schedule that is due, once, and exit when they are done (for system cron or a
    systemd timer). Safe to start while another is running: a schedule is never run twice at once.

    Exit status: 0 when every run finished (or none was due), 1 when one failed."""
    runner = _scheduler(
        data_dir, db_url, _say, dispatch, max_runs=max_runs,
        notify_url=_notify_url(notify_url), notify_cmd=notify_cmd,
    )  # fmt: skip
    try:
        with _stop_on_signals() as stop:
            reports = runner.run_due(stop)
    finally:
        runner.close()
    if not reports:
        err.print("No schedule is due.")
    if any(report.status == CrawlStatus.INTERRUPTED for report in reports):
        sys.exit(INTERRUPTED)
    if any(report.status != CrawlStatus.FINISHED for report in reports):
        sys.exit(1)


@cli.command()
@click.option(
    "--max-runs", type=click.IntRange(min=1), default=1, show_default=True,
    help="Runs of different schedules at once.",
)  # fmt: skip
@click.option(
    "--interval", type=click.FloatRange(min=0.1), default=30.0, show_default=True,
    metavar="SECONDS", help="How often to look for due schedules.",
)  # fmt: skip
@click.option(
    "--stop-timeout", type=click.FloatRange(min=0), default=120.0, show_default=True,
    metavar="SECONDS", help="On SIGTERM, how long running crawls get to close before being killed.",
)  # fmt: skip
@notify_options
@dispatch_options
@location_options
def scheduler(
    max_runs: int,
    interval: float,
    stop_timeout: float,
    notify_url: str | None,
    notify_cmd: str | None,
    dispatch: Dispatch,
    data_dir: Path,
    db_url: str | None,
) -> None:
    """Run schedules on time until stopped: due runs start as crawl processes (never two of one
    schedule, even across schedulers sharing a catalogue), runs missed while it was down coalesce
    into one, and SIGTERM or Ctrl-C stops running crawls cleanly (files closed, runs marked
    interrupted and due again). With --dispatch scrapyd, crawls run as jobs on Scrapyd nodes
    that share the catalogue (see the README on deploying stablecopy to Scrapyd)."""

    def say(line: str) -> None:
        click.echo(f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S}Z {line}")

    runner = _scheduler(
        data_dir, db_url, say, dispatch, max_runs=max_runs,
        notify_url=_notify_url(notify_url), notify_cmd=notify_cmd,
    )  # fmt: skip
    say(f"Scheduler {runner.worker} watching {runner.layout.db_url} (every {interval:g} s).")
    try:
        with _stop_on_signals() as stop:
            runner.serve(stop, interval=interval, grace=stop_timeout)
    finally:
        runner.close()
    say("Scheduler stopped.")

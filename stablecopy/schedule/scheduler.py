"""The scheduler: starts due runs of schedules, one at a time per schedule, as `stablecopy crawl`
processes here or as jobs on Scrapyd nodes (see stablecopy.schedule.launcher), and records how each ended.

Each run holds a lease on its schedule in the catalogue (see catalog.schedules), renewed while its
crawl runs, so no two schedulers start the same schedule. A run is a crawl row tied to its
schedule; the crawl process joins that row, and when it ends the scheduler counts what changed,
stores it, moves the schedule's next due time on (missed slots coalesced) and sends notifications.
Time comes from an injected clock, so tests never wait for a real schedule.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from stablecopy.catalog import schedules
from stablecopy.catalog.history import RunSummary, run_summary, store_summary
from stablecopy.catalog.models import ACTIVE_STATUSES, Crawl, CrawlStatus, Schedule
from stablecopy.catalog.rows import recount
from stablecopy.catalog.session import open_catalog, session_factory
from stablecopy.export.jsonl import iso
from stablecopy.layout import DataLayout
from stablecopy.schedule.cadence import Cadence
from stablecopy.schedule.launcher import Launcher, LocalLauncher, RunProcess, RunStart
from stablecopy.schedule.notify import NotifyError, post_json, run_command

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
LEASE = timedelta(minutes=10)
STOP_GRACE = 120.0  # seconds a stopping crawl gets to close its files before it is killed


def utc_now() -> datetime:
    return datetime.now(UTC)


def cadence_of(schedule: Schedule) -> Cadence:
    every = timedelta(seconds=schedule.every_seconds) if schedule.every_seconds else None
    return Cadence(every=every, cron=schedule.cron, timezone=schedule.timezone)


def crawl_command(schedule: Schedule, layout: DataLayout, crawl_id: int) -> list[str]:
    """The `stablecopy crawl` command line of one run of `schedule`, joining crawl `crawl_id`."""
    command = [sys.executable, "-m", "stablecopy", "crawl", *schedule.seeds]
    if schedule.follow:
        command.append("--follow")
    command += ["--depth", str(schedule.depth)]
    for pattern in schedule.allow:
        command += ["--allow", pattern]
    for pattern in schedule.deny:
        command += ["--deny", pattern]
    command += ["--data-dir", str(layout.root), "--db", layout.db_url]
    for key, value in {**schedule.settings, "STABLECOPY_CRAWL_ID": str(crawl_id)}.items():
        command += ["-s", f"{key}={value}"]
    return command


def resume_command(layout: DataLayout, crawl_id: int) -> list[str]:
    """The command line that continues an interrupted run (its seeds and settings are its own)."""
    return [
        sys.executable, "-m", "stablecopy", "crawl", "--resume", str(crawl_id),
        "--data-dir", str(layout.root), "--db", layout.db_url,
    ]  # fmt: skip


def scope_settings(schedule: Schedule) -> dict[str, Any]:
    """What a run's crawl row says it was started with, before its crawl process fills in the
    rest (enough to resume it even if it was killed before that)."""
    return {
        **schedule.settings,
        "STABLECOPY_FOLLOW": schedule.follow,
        "STABLECOPY_DEPTH": schedule.depth,
        "STABLECOPY_ALLOW": list(schedule.allow),
        "STABLECOPY_DENY": list(schedule.deny),
    }


@dataclass
class ActiveRun:
    """A run in progress: its schedule, crawl row, process, and when the schedule is due next."""

    schedule_id: int
    name: str
    crawl_id: int
    process: RunProcess
    next_due: datetime | None
    started_at: datetime
    renewed_at: datetime
    stop_sent_at: float | None = None


@dataclass(frozen=True)
class RunReport:
    """How a run ended, as notifications and the console get it."""

    schedule: str
    crawl_id: int
    status: str
    started_at: datetime
    finished_at: datetime
    captures: int
    summary: RunSummary
    error: str | None = None
    notices: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "schedule": self.schedule,
            "crawl_id": self.crawl_id,
            "status": self.status,
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "captures": self.captures,
            **self.summary.as_dict(),
            "error": self.error,
        }


class Scheduler:
    """Runs schedules of one catalogue; `poll()` and `start_due()` are its whole heartbeat.

    Args:
        layout: the data directory (and catalogue URL) runs write to.
        clock: the time now, aware UTC (injected in tests).
        lease: how long a claim lasts without renewal; renewed at a fifth of it.
        max_runs: runs this scheduler keeps going at once (different schedules).
        notify_url, notify_cmd: notified after every run, besides each schedule's own.
        foreground: runs write to this terminal instead of a log file under logs/.
        launcher: where runs' crawls run (default: local subprocesses; see stablecopy.schedule.scrapyd).
    """

    def __init__(
        self,
        layout: DataLayout,
        clock: Clock = utc_now,
        lease: timedelta = LEASE,
        max_runs: int = 1,
        notify_url: str | None = None,
        notify_cmd: str | None = None,
        foreground: bool = False,
        say: Callable[[str], None] = print,
        launcher: Launcher | None = None,
    ) -> None:
        self.layout = layout
        self.clock = clock
        self.lease = lease
        self.max_runs = max(1, max_runs)
        self.notify_url = notify_url
        self.notify_cmd = notify_cmd
        self.say = say
        self.launcher = launcher or LocalLauncher(layout, foreground)
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.engine = open_catalog(layout.db_url, writer=True)
        self.sessions = session_factory(self.engine)
        self.active: dict[int, ActiveRun] = {}
        self.started: set[int] = set()  # schedules this scheduler has started (for run-due)

    def close(self) -> None:
        self.engine.dispose()

    # --- starting runs ---------------------------------------------------------------------------

    def start_due(self, once: bool = False) -> list[ActiveRun]:
        """Start the due schedules this scheduler has room for; with `once`, never one it has
        started before (run-due: each due schedule runs once per invocation)."""
        begun: list[ActiveRun] = []
        now = self.clock()
        with self.sessions() as session:
            for schedule in schedules.due_schedules(session, now):
                if len(self.active) >= self.max_runs:
                    break
                if schedule.id in self.active or (once and schedule.id in self.started):
                    continue
                if not schedules.claim(session, schedule.id, self.worker, now, self.lease):
                    continue  # another scheduler was quicker
                begun.append(self._start(session, schedule.id, now))
        return begun

    def start_now(self, name: str) -> ActiveRun:
        """Start a run of `name` whatever its due time or pause (`schedule run NAME`)."""
        now = self.clock()
        with self.sessions() as session:
            schedule = schedules.require_schedule(session, name)
            if not schedules.claim(
                session, schedule.id, self.worker, now, self.lease, due_only=False
            ):
                session.refresh(schedule)
                raise schedules.ScheduleError(
                    f"schedule {name!r} is already running ({schedule.claimed_by}, "
                    f"lease until {iso(schedule.claimed_until or now)})"
                )
            return self._start(session, schedule.id, now)

    def _start(self, session: Session, schedule_id: int, now: datetime) -> ActiveRun:
        schedule = session.get(Schedule, schedule_id, populate_existing=True)
        assert schedule is not None
        abandoned = schedules.abandoned_run(session, schedule)
        if abandoned is not None:
            abandoned.status = CrawlStatus.INTERRUPTED
            abandoned.finished_at = abandoned.finished_at or now
            abandoned.error = "its runner stopped renewing the schedule's lease (killed?)"
            self.say(f"Run {abandoned.id} of {schedule.name} was left running; marked interrupted.")
        cadence = cadence_of(schedule)
        due = schedule.next_due_at <= now
        # A run on demand before the due time leaves the next due time where it was.
        next_due = cadence.next_after(now, schedule.next_due_at) if due else None
        crawl = self._resumable(session, schedule, cadence, now)
        if crawl is not None:  # it stays interrupted until its crawl process takes it up again
            start = RunStart(crawl.id, True, resume_command(self.layout, crawl.id))
            self.say(f"Resuming run {crawl.id} of {schedule.name}, interrupted before it ended.")
        else:
            crawl = Crawl(
                started_at=now,
                status=CrawlStatus.STARTING,
                seeds=list(schedule.seeds),
                settings=scope_settings(schedule),
                software={},
                worker=self.worker,
                captures=0,
                failures=0,
                write_errors=0,
                warc_bytes=0,
                extracted=0,
                schedule_id=schedule.id,
            )
            session.add(crawl)
            session.commit()
            start = RunStart(crawl.id, False, crawl_command(schedule, self.layout, crawl.id))
            self.say(f"Started run {crawl.id} of {schedule.name} ({cadence.describe()}).")
        schedules.set_running(session, schedule.id, self.worker, crawl.id)
        process = self.launcher.launch(start)
        run = ActiveRun(
            schedule_id=schedule.id,
            name=schedule.name,
            crawl_id=crawl.id,
            process=process,
            next_due=next_due,
            started_at=now,
            renewed_at=now,
        )
        self.active[schedule.id] = run
        self.started.add(schedule.id)
        return run

    @staticmethod
    def _resumable(
        session: Session, schedule: Schedule, cadence: Cadence, now: datetime
    ) -> Crawl | None:
        """The schedule's last run, if it was interrupted while serving the slot now due and that
        slot has not passed: it is continued rather than started again."""
        last = schedules.last_run(session, schedule.id)
        if last is None or last.status != CrawlStatus.INTERRUPTED:
            return None
        slot = schedule.next_due_at
        if last.started_at < slot or now >= cadence.next_after(slot):
            return None
        return last

    # --- watching runs ---------------------------------------------------------------------------

    def poll(self) -> list[RunReport]:
        """Renew the leases of running crawls; finish the runs whose crawl has ended."""
        ended = []
        now = self.clock()
        for run in list(self.active.values()):
            if run.process.poll() is not None:
                ended.append(self._finish(run))
            elif now - run.renewed_at >= self.lease / 5:
                self._renew(run, now)
        return ended

    def _renew(self, run: ActiveRun, now: datetime) -> None:
        try:
            with self.sessions() as session:
                held = schedules.renew(session, run.schedule_id, self.worker, now + self.lease)
        except SQLAlchemyError as exc:
            logger.warning("cannot renew the lease on %s: %s", run.name, exc)
            return
        run.renewed_at = now
        if not held:
            self.say(f"Lost the lease on {run.name}; stopping run {run.crawl_id}.")
            self.stop(run)

    def stop(self, run: ActiveRun) -> None:
        """Ask a crawl to stop cleanly (it closes its WARC files and marks itself interrupted)."""
        if run.process.poll() is None and run.stop_sent_at is None:
            run.process.stop()
            run.stop_sent_at = time.monotonic()

    def shutdown(
        self, grace: float = STOP_GRACE, pause: Callable[[float], object] = time.sleep
    ) -> list[RunReport]:
        """Stop every running crawl: SIGTERM, then SIGKILL after `grace` seconds; finish them all."""
        for run in self.active.values():
            self.stop(run)
        deadline = time.monotonic() + grace
        while any(run.process.poll() is None for run in self.active.values()):
            if time.monotonic() >= deadline:
                for run in self.active.values():
                    if run.process.poll() is None:
                        self.say(f"Run {run.crawl_id} did not stop within {grace:g} s; killing it.")
                        run.process.kill()
                        run.process.wait()
                break
            pause(0.2)
        return [self._finish(run) for run in list(self.active.values())]

    def _finish(self, run: ActiveRun) -> RunReport:
        returncode = run.process.wait()
        now = self.clock()
        with self.sessions() as session:
            crawl = session.get(Crawl, run.crawl_id, populate_existing=True)
            assert crawl is not None
            if crawl.status in ACTIVE_STATUSES:
                # The crawl process ended without closing its row: it was killed, or never began.
                stopped = run.stop_sent_at is not None or returncode < 0
                crawl.status = CrawlStatus.INTERRUPTED if stopped else CrawlStatus.FAILED
                crawl.finished_at = now
            if crawl.status == CrawlStatus.FAILED and not crawl.error:
                crawl.error = self._failure(run, returncode, crawl)
            recount(session, crawl)
            summary = run_summary(session, crawl.id)
            store_summary(crawl, summary)
            session.commit()
            # An interrupted run leaves its schedule due: the next start runs it again.
            next_due = None if crawl.status == CrawlStatus.INTERRUPTED else run.next_due
            schedules.release(session, run.schedule_id, self.worker, next_due)
            schedule = session.get(Schedule, run.schedule_id)
            report = RunReport(
                schedule=run.name,
                crawl_id=crawl.id,
                status=crawl.status,
                started_at=run.started_at,
                finished_at=crawl.finished_at or now,
                captures=crawl.captures,
                summary=summary,
                error=crawl.error,
            )
            targets = [
                (schedule.notify_url if schedule else None, self.notify_url),
                (schedule.notify_cmd if schedule else None, self.notify_cmd),
            ]
        del self.active[run.schedule_id]
        self.say(describe(report))
        self._notify(report, [u for u in targets[0] if u], [c for c in targets[1] if c])
        return report

    @staticmethod
    def _failure(run: ActiveRun, returncode: int, crawl: Crawl) -> str:
        """Why a run failed, in one line: the crawl's own reason, or what its process left."""
        if crawl.finish_reason and crawl.finish_reason != "finished":
            return f"the crawl stopped: {crawl.finish_reason}"
        return run.process.failure(returncode)

    def _notify(self, report: RunReport, urls: list[str], commands: list[str]) -> None:
        payload = report.as_json()
        for url in dict.fromkeys(urls):
            try:
                post_json(url, payload)
            except NotifyError as exc:
                report.notices.append(str(exc))
        for command in dict.fromkeys(commands):
            try:
                run_command(command, payload)
            except NotifyError as exc:
                report.notices.append(str(exc))
        for notice in report.notices:
            self.say(f"Warning: {notice}")

    # --- loops -----------------------------------------------------------------------------------

    def serve(
        self, stop: threading.Event, interval: float = 5.0, grace: float = STOP_GRACE
    ) -> None:
        """Start due runs and watch them until `stop` is set; then stop running crawls cleanly."""
        while not stop.is_set():
            self.poll()
            self.start_due()
            stop.wait(interval)
        self.shutdown(grace)

    def run_due(
        self, stop: threading.Event, interval: float = 1.0, grace: float = STOP_GRACE
    ) -> list[RunReport]:
        """Run every schedule due now, once each, and return when they have all ended."""
        reports: list[RunReport] = []
        while not stop.is_set():
            reports += self.poll()
            self.start_due(once=True)
            if not self.active:
                return reports
            stop.wait(interval)
        return reports + self.shutdown(grace)

    def run_now(
        self, name: str, stop: threading.Event, interval: float = 1.0, grace: float = STOP_GRACE
    ) -> RunReport:
        """Run `name` now and wait for it (`schedule run NAME`)."""
        run = self.start_now(name)
        while not stop.is_set():
            for report in self.poll():
                if report.crawl_id == run.crawl_id:
                    return report
            stop.wait(interval)
        return next(r for r in self.shutdown(grace) if r.crawl_id == run.crawl_id)


def describe(report: RunReport) -> str:
    """`Run 12 of front-pages finished: 40 captures; 2 new, 5 changed, ...`."""
    line = (
        f"Run {report.crawl_id} of {report.schedule} {report.status}: {report.captures} captures; "
        f"{report.summary}"
    )
    return f"{line}. Error: {report.error}" if report.error else f"{line}."

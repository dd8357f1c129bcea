"""Schedules: cadence arithmetic, the scheduler on an injected clock, leases between real processes,
clean shutdown, notifications, and the `schedule` commands.

Runs are real `stablecopy crawl` processes against the loopback test site; time is injected, so no
test waits for a schedule to come due.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from stablecopy.catalog import schedules
from stablecopy.catalog.models import Capture, Crawl, Schedule
from stablecopy.catalog.schedules import ScheduleSpec
from stablecopy.catalog.session import open_catalog
from stablecopy.layout import DataLayout
from stablecopy.samplesite.server import SiteServer
from stablecopy.schedule.cadence import Cadence, CadenceError, format_interval, parse_interval
from stablecopy.schedule.scheduler import RunReport, Scheduler
from tests.helpers import FAST, run_cli

T0 = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)
FAST_SETTINGS = dict(pair.split("=", 1) for pair in FAST[1::2])


class Clock:
    """The time the scheduler sees: moved by the test, never by the wall clock."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def wait_for_runs(scheduler: Scheduler, limit: float = 120) -> list[RunReport]:
    """Poll until the scheduler's crawl processes have ended (a real crawl takes seconds)."""
    reports: list[RunReport] = []
    deadline = time.monotonic() + limit
    while scheduler.active:
        assert time.monotonic() < deadline, "a scheduled crawl did not end"
        reports += scheduler.poll()
        time.sleep(0.05)
    return reports


def add(data: Path, name: str, seeds: list[str], now: datetime, **spec: object) -> None:
    data.mkdir(parents=True, exist_ok=True)
    engine = open_catalog(DataLayout.create(data).db_url, writer=True)
    with Session(engine) as session:
        settings = {**FAST_SETTINGS, "STABLECOPY_PROGRESS": "False"}
        schedules.add_schedule(session, name, ScheduleSpec(seeds, settings=settings, **spec), now)  # type: ignore[arg-type]
        session.commit()
    engine.dispose()


def rows(data: Path) -> tuple[list[Crawl], list[Schedule]]:
    engine = open_catalog(DataLayout.create(data).db_url)
    with Session(engine) as session:
        crawls = list(session.scalars(select(Crawl).order_by(Crawl.id)))
        found = list(session.scalars(select(Schedule).order_by(Schedule.id)))
    engine.dispose()
    return crawls, found


# --- cadence -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("6h", 21600), ("90m", 5400), ("1h30m", 5400), ("1d", 86400), ("2w", 1209600), ("1H", 3600)],
)
def test_intervals_read_and_print_back(text: str, seconds: int) -> None:
    interval = parse_interval(text)
    assert interval.total_seconds() == seconds
    assert parse_interval(format_interval(interval)) == interval


@pytest.mark.parametrize("text", ["", "6", "h", "6x", "30s", "-1h", "6h garbage", "1.5h"])
def test_bad_intervals_are_refused(text: str) -> None:
    with pytest.raises(CadenceError):
        parse_interval(text)


def test_a_cadence_needs_exactly_one_rule_and_a_real_zone() -> None:
    with pytest.raises(CadenceError, match="either"):
        Cadence()
    with pytest.raises(CadenceError, match="either"):
        Cadence(every=timedelta(hours=1), cron="0 * * * *")
    with pytest.raises(CadenceError, match="cron"):
        Cadence(cron="every tuesday")
    with pytest.raises(CadenceError, match="time zone"):
        Cadence(cron="0 * * * *", timezone="Mars/Olympus")


def test_intervals_keep_their_rhythm_and_coalesce_missed_runs() -> None:
    every = Cadence(every=timedelta(hours=6))
    assert every.next_after(T0) == T0 + timedelta(hours=6)
    # served a little late: the next slot stays on the grid
    assert every.next_after(T0 + timedelta(minutes=7), anchor=T0) == T0 + timedelta(hours=6)
    # three days down: one run now, the next on the grid after it, not twelve in a row
    later = T0 + timedelta(days=3, hours=1)
    assert every.next_after(later, anchor=T0) == T0 + timedelta(days=3, hours=6)


def test_cron_is_read_in_its_time_zone_across_daylight_saving() -> None:
    paris = Cadence(cron="0 6 * * *", timezone="Europe/Paris")
    winter = paris.next_after(datetime(2026, 3, 28, 12, 0, tzinfo=UTC))
    summer = paris.next_after(winter)
    assert winter == datetime(2026, 3, 29, 4, 0, tzinfo=UTC)  # 06:00 CEST, the first summer day
    assert summer == datetime(2026, 3, 30, 4, 0, tzinfo=UTC)
    assert paris.next_after(datetime(2026, 1, 10, 12, 0, tzinfo=UTC)) == datetime(
        2026, 1, 11, 5, 0, tzinfo=UTC
    )  # 06:00 CET


# --- the scheduler on an injected clock ----------------------------------------------------------


@pytest.mark.catalogue
def test_runs_start_when_due_once_each_and_missed_runs_coalesce(
    site: SiteServer, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    clock = Clock(T0)
    add(data, "front", [site.url("/")], clock(), every_seconds=6 * 3600)
    add(data, "paused", [site.url("/about/")], clock(), every_seconds=3600)
    engine = open_catalog(DataLayout.create(data).db_url, writer=True)
    with Session(engine) as session:
        schedules.require_schedule(session, "paused").enabled = False
        session.commit()
    engine.dispose()
    scheduler = Scheduler(DataLayout.create(data), clock=clock, max_runs=2, say=lambda _: None)
    try:
        assert [run.name for run in scheduler.start_due()] == ["front"]
        assert scheduler.start_due() == []  # running: never a second run of one schedule
        (report,) = wait_for_runs(scheduler)
        assert report.status == "finished", report
        assert report.summary.new > 0
        clock.advance(timedelta(hours=1))
        assert scheduler.start_due() == []  # not due for five more hours
        clock.advance(timedelta(days=3))
        assert len(scheduler.start_due()) == 1  # twelve missed slots, one run
        (again,) = wait_for_runs(scheduler)
        assert again.summary.unchanged > 0
        assert again.summary.new == 0
    finally:
        scheduler.close()
    crawls, found = rows(data)
    assert [crawl.schedule_id for crawl in crawls] == [found[0].id, found[0].id]
    assert all(crawl.status == "finished" for crawl in crawls)
    assert crawls[0].software
    assert crawls[0].settings
    assert crawls[1].pages_unchanged == again.summary.unchanged
    assert found[0].next_due_at == T0 + timedelta(days=3, hours=6)
    assert found[0].claimed_by is None
    assert found[1].next_due_at == T0  # paused: never started


@pytest.mark.catalogue
def test_a_lease_left_by_a_killed_scheduler_expires(site: SiteServer, tmp_path: Path) -> None:
    data = tmp_path / "data"
    clock = Clock(T0)
    add(data, "slow", [site.url("/test/slow?seconds=1")], clock(), every_seconds=3600)
    first = Scheduler(DataLayout.create(data), clock=clock, say=lambda _: None)
    second = Scheduler(DataLayout.create(data), clock=clock, say=lambda _: None)
    try:
        (run,) = first.start_due()
        assert second.start_due() == []  # the lease holds
        run.process.kill()  # the first scheduler's machine dies: nobody renews, nobody finishes
        run.process.wait()
        clock.advance(timedelta(minutes=5))
        assert second.start_due() == []  # the schedule is not due again yet, and still leased
        clock.advance(timedelta(hours=1))
        (taken,) = second.start_due()
        (report,) = wait_for_runs(second)
        assert report.status == "finished"
    finally:
        first.close()
        second.close()
    crawls, _ = rows(data)
    assert crawls[0].id == run.crawl_id
    assert crawls[0].status == "interrupted"
    assert "lease" in (crawls[0].error or "")
    assert crawls[1].id == taken.crawl_id


@pytest.mark.catalogue
def test_an_interrupted_run_is_resumed_not_restarted(site: SiteServer, tmp_path: Path) -> None:
    data = tmp_path / "data"
    clock = Clock(T0)
    seeds = [site.url("/"), *(site.url(f"/test/slow?n={n}&seconds=1") for n in range(40))]
    add(data, "mixed", seeds, clock(), every_seconds=3600)
    scheduler = Scheduler(DataLayout.create(data), clock=clock, say=lambda _: None)
    try:
        (run,) = scheduler.start_due()
        deadline = time.monotonic() + 60
        while len(captures_of(data)) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        scheduler.stop(run)
        (stopped,) = wait_for_runs(scheduler)
        assert stopped.status == "interrupted"
        clock.advance(timedelta(minutes=10))  # within the slot it was serving
        (resumed,) = scheduler.start_due()
        assert resumed.crawl_id == run.crawl_id
        (report,) = wait_for_runs(scheduler)
        assert report.status == "finished"
    finally:
        scheduler.close()
    crawls, found = rows(data)
    assert len(crawls) == 1
    urls = [url for url, _ in captures_of(data)]
    assert len(urls) == len(set(urls))  # nothing captured twice across the two processes
    assert set(seeds) <= set(urls)
    assert found[0].next_due_at == T0 + timedelta(hours=1)


def captures_of(data: Path) -> list[tuple[str, int]]:
    engine = open_catalog(DataLayout.create(data).db_url)
    with Session(engine) as session:
        found = [(c.url, c.crawl_id) for c in session.scalars(select(Capture))]
    engine.dispose()
    return found


# --- real processes ------------------------------------------------------------------------------


@pytest.mark.catalogue
def test_two_run_due_processes_start_one_run(site: SiteServer, tmp_path: Path) -> None:
    data = tmp_path / "data"
    add(data, "slow", [site.url("/test/slow")], datetime.now(UTC), every_seconds=3600)
    command = [sys.executable, "-m", "stablecopy", "schedule", "run-due", "--data-dir", str(data)]
    processes = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs
    crawls, _ = rows(data)
    assert len(crawls) == 1
    assert crawls[0].status == "finished"
    said = "".join(err for _, err in outputs)
    assert said.count("Started run") == 1
    assert "No schedule is due." in said


@pytest.mark.catalogue
def test_two_schedulers_on_one_catalogue_start_one_run(site: SiteServer, tmp_path: Path) -> None:
    data = tmp_path / "data"
    add(data, "slow", [site.url("/test/slow")], datetime.now(UTC), every_seconds=3600)
    command = [sys.executable, "-m", "stablecopy", "scheduler", "--interval", "0.1",
               "--data-dir", str(data)]  # fmt: skip
    schedulers = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    deadline = time.monotonic() + 90
    while not any(crawl.status == "finished" for crawl in rows(data)[0]):
        assert time.monotonic() < deadline
        assert all(process.poll() is None for process in schedulers)
        time.sleep(0.1)
    for process in schedulers:
        process.send_signal(signal.SIGTERM)
    outputs = [process.communicate(timeout=60) for process in schedulers]
    assert [process.returncode for process in schedulers] == [0, 0], outputs
    crawls, found = rows(data)
    assert len(crawls) == 1
    assert sum(out.count("Started run") for out, _ in outputs) == 1
    assert found[0].next_due_at > datetime.now(UTC)


@pytest.mark.catalogue
def test_sigterm_stops_the_scheduler_and_its_crawl_cleanly(
    site: SiteServer, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    seeds = [site.url("/test/slow"), *(site.url(f"/test/slow?n={n}") for n in range(20))]
    add(data, "slow", seeds, datetime.now(UTC), every_seconds=3600)
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "stablecopy", "scheduler", "--interval", "0.2",
         "--data-dir", str(data)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not any(crawl.status == "running" for crawl in rows(data)[0]):
        assert time.monotonic() < deadline, scheduler.stderr
        assert scheduler.poll() is None
        time.sleep(0.1)
    scheduler.send_signal(signal.SIGTERM)
    stdout, stderr = scheduler.communicate(timeout=120)
    assert scheduler.returncode == 0, stderr
    assert "Scheduler stopped." in stdout
    crawls, found = rows(data)
    assert [crawl.status for crawl in crawls] == ["interrupted"]
    assert not list((data / "warcs").glob("*.open"))  # the crawl closed its files
    assert found[0].claimed_by is None
    assert found[0].next_due_at <= datetime.now(UTC)  # interrupted: due again at the next start
    checked = run_cli("verify", "--data-dir", str(data))
    assert checked.returncode == 0, checked.stderr


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, object]]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        _Hook.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Hook.received = []
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


@pytest.mark.catalogue
def test_a_run_notifies_a_webhook_and_a_command(
    site: SiteServer, tmp_path: Path, webhook: str
) -> None:
    data, told = tmp_path / "data", tmp_path / "told.json"
    added = run_cli(
        "schedule", "add", "front", site.url("/"), "--every", "6h",
        "--notify-url", webhook, "--notify-cmd", f"cat > {told}",
        *FAST, "--data-dir", str(data),
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    ran = run_cli("schedule", "run", "front", "--data-dir", str(data))
    assert ran.returncode == 0, ran.stderr
    assert "Run 1 of front finished" in ran.stderr
    (posted,) = _Hook.received
    assert posted["schedule"] == "front"
    assert posted["status"] == "finished"
    # The one page is new; the other captures are robots.txt files and what the page needs.
    assert posted["new"] == 1 < posted["captures"]
    assert {"changed", "unchanged", "failed", "started_at", "finished_at"} <= posted.keys()
    assert json.loads(told.read_text()) == posted
    unreachable = run_cli("schedule", "edit", "front", "--notify-url", "http://127.0.0.1:9/x",
                          "--notify-cmd", "exit 3", "--data-dir", str(data))  # fmt: skip
    assert unreachable.returncode == 0, unreachable.stderr
    again = run_cli("schedule", "run", "front", "--data-dir", str(data))
    assert again.returncode == 0, again.stderr  # a failed notification never fails the run
    assert "webhook http://127.0.0.1:9/x unreachable" in again.stderr
    assert "notify command exited 3" in again.stderr


@pytest.mark.catalogue
def test_schedule_commands(site: SiteServer, tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    seeds = tmp_path / "seeds.txt"
    seeds.write_text(f"# front pages\n{site.url('/')}\n{site.url('/feed.xml')}\n", "utf-8")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return run_cli("schedule", *args, "--data-dir", data)

    added = cli("add", "news", "--seeds", str(seeds), "--follow", "--cron", "0 */6 * * *",
                "--tz", "Europe/Berlin")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "first run due now" in added.stderr
    assert cli("add", "news", site.url("/"), "--every", "1h").returncode == 1  # taken
    both = cli("add", "x", site.url("/"), "--every", "1h", "--cron", "0 * * * *")
    assert both.returncode == 2
    assert "either" in both.stderr
    assert "unknown time zone" in cli("add", "y", site.url("/"), "--cron", "0 * * * *",
                                      "--tz", "Nowhere/Place").stderr  # fmt: skip
    assert "no valid seed" in cli("add", "z", "ftp://example.org/", "--every", "1h").stderr
    listed = cli("list").stdout
    assert "news" in listed
    assert "cron 0 */6 * * *" in listed
    shown = cli("show", "news").stdout
    assert site.url("/feed.xml") in shown
    assert "yes, depth 1" in shown
    assert "No runs yet." in shown
    assert cli("pause", "news").returncode == 0
    assert "paused" in cli("list").stdout
    assert "No schedule is due." in cli("run-due").stderr
    assert cli("resume", "news").returncode == 0
    edited = cli("edit", "news", "--every", "2h", "--no-follow")
    assert edited.returncode == 0, edited.stderr
    shown = cli("show", "news").stdout
    assert "every 2h" in shown
    assert "follow    no" in shown
    assert cli("remove", "news").returncode == 0
    assert "there is no schedule named 'news'" in cli("show", "news").stderr

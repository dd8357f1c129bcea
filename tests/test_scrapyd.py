"""Scheduled runs dispatched to a real Scrapyd node on loopback: the node runs stablecopy's Scrapy
project, the run takes its seeds and settings from the catalogue, stops cleanly when the scheduler
stops, and an interrupted run is resumed on the node."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from warcio.archiveiterator import ArchiveIterator
from warcio.cli import main as warcio_main

from stablecopy.catalog.models import Capture
from stablecopy.catalog.session import open_catalog
from stablecopy.layout import DataLayout
from stablecopy.samplesite.pages import articles
from stablecopy.samplesite.server import SiteServer
from tests.helpers import run_cli
from tests.services import ScrapydServer, free_port
from tests.test_schedules import add, rows

pytestmark = pytest.mark.catalogue


@pytest.fixture(scope="module")
def scrapyd() -> Iterator[ScrapydServer]:
    with ScrapydServer() as server:
        yield server


def captured_urls(data: Path) -> list[str]:
    engine = open_catalog(DataLayout.create(data).db_url)
    with engine.connect() as connection:
        urls = list(connection.scalars(select(Capture.url)))
    engine.dispose()
    return urls


def dispatch(node: ScrapydServer) -> tuple[str, ...]:
    return ("--dispatch", "scrapyd", "--scrapyd", node.url)


def test_a_due_run_goes_to_scrapyd_with_its_schedules_seeds_and_settings(
    site: SiteServer, scrapyd: ScrapydServer, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    operator = "Bibliothèque de test, Scrapyd node"
    add(data, "news", [site.url("/feed.xml")], datetime.now(UTC), every_seconds=3600)
    edited = run_cli("schedule", "edit", "news", "-s", f"STABLECOPY_OPERATOR={operator}",
                     "--data-dir", str(data))  # fmt: skip
    assert edited.returncode == 0, edited.stderr

    result = run_cli("schedule", "run-due", *dispatch(scrapyd), "--data-dir", str(data))

    assert result.returncode == 0, result.stderr
    job = result.stderr.split("is Scrapyd job ", 1)[1].split()[0]
    assert "Run 1 of news finished" in result.stderr
    log = scrapyd.job_log(job)
    assert "Spider closed (finished)" in log  # the node ran it, in its own process
    crawls, found = rows(data)
    assert [crawl.status for crawl in crawls] == ["finished"]
    assert crawls[0].settings["STABLECOPY_OPERATOR"] == operator
    assert crawls[0].pages_new == len(articles()) + 1  # the feed's articles and the feed
    assert found[0].next_due_at > datetime.now(UTC)
    warcs = sorted((data / "warcs").glob("*.warc.gz"))
    assert warcs
    with warcs[0].open("rb") as stream:
        info = next(iter(ArchiveIterator(stream)))
        assert info.rec_type == "warcinfo"
        assert operator in info.content_stream().read().decode()
    with pytest.raises(SystemExit) as checked:
        warcio_main(["check", *map(str, warcs)])
    assert checked.value.code == 0
    verified = run_cli("verify", "--data-dir", str(data))
    assert verified.returncode == 0, verified.stderr


def test_stopping_the_scheduler_cancels_the_job_cleanly_and_the_run_resumes_on_the_node(
    site: SiteServer, scrapyd: ScrapydServer, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    seeds = [*(site.url(f"/test/slow?n={n}") for n in range(8)), site.url("/")]
    add(data, "slow", seeds, datetime.now(UTC), every_seconds=3600, follow=True, depth=1)
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "stablecopy", "scheduler", "--interval", "0.2",
         *dispatch(scrapyd), "--data-dir", str(data)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while not (captured_urls(data) and rows(data)[0][0].status == "running"):
            assert time.monotonic() < deadline, "the run never got going on the node"
            assert scheduler.poll() is None, scheduler.communicate()
            time.sleep(0.2)
        scheduler.send_signal(signal.SIGTERM)
        stdout, stderr = scheduler.communicate(timeout=120)
    finally:
        scheduler.kill()
        scheduler.communicate()

    assert scheduler.returncode == 0, stderr
    assert "Run 1 is Scrapyd job" in stdout
    crawls, found = rows(data)
    assert [crawl.status for crawl in crawls] == ["interrupted"]
    assert crawls[0].finish_reason == "shutdown"  # the crawl itself closed, on cancel.json
    assert not list((data / "warcs").glob("*.open"))
    assert found[0].claimed_by is None
    resumed = run_cli("schedule", "run-due", *dispatch(scrapyd), "--data-dir", str(data))

    assert resumed.returncode == 0, resumed.stderr
    assert "Resuming run 1 of slow" in resumed.stderr
    crawls, _ = rows(data)
    assert [crawl.status for crawl in crawls] == ["finished"]
    urls = captured_urls(data)
    assert {*seeds, *(site.url(a.path) for a in articles())} <= set(urls)
    assert sorted(urls) == sorted(set(urls))  # what the first job captured was not fetched again
    verified = run_cli("verify", "--data-dir", str(data))
    assert verified.returncode == 0, verified.stderr


def test_a_node_that_cannot_take_runs_is_one_clear_line(
    scrapyd: ScrapydServer, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    add(data, "news", ["http://127.0.0.1:9/"], datetime.now(UTC), every_seconds=3600)
    nobody = f"http://127.0.0.1:{free_port()}"

    down = run_cli("schedule", "run-due", "--dispatch", "scrapyd", "--scrapyd", nobody,
                   "--data-dir", str(data))  # fmt: skip
    wrong = run_cli("schedule", "run-due", *dispatch(scrapyd), "--scrapyd-project", "other",
                    "--data-dir", str(data))  # fmt: skip
    no_url = run_cli("schedule", "run-due", "--dispatch", "scrapyd", "--data-dir", str(data))

    assert down.returncode == 1
    assert down.stderr.strip().splitlines()[-1] == f"Error: no Scrapyd node answers: {nobody}"
    assert wrong.returncode == 1
    assert "has no project 'other'" in wrong.stderr.strip().splitlines()[-1]
    assert no_url.returncode == 2
    assert "--dispatch scrapyd needs at least one --scrapyd URL" in no_url.stderr
    crawls, found = rows(data)
    assert crawls == []  # nothing was started, the schedule is still due
    assert found[0].next_due_at <= datetime.now(UTC)

"""Several workers, one crawl: real worker processes, a real Redis frontier, one PostgreSQL catalogue.

A generated site of 1,000 articles is crawled by two and by three processes (`crawl --redis` plus
`worker --crawl ID`) sharing one data directory, as workers on several machines would share
network storage. One worker is SIGKILLed mid-crawl; the others finish the crawl.
"""

from __future__ import annotations

import contextlib
import pickle
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from redis import Redis
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from warcio.archiveiterator import ArchiveIterator
from warcio.cli import main as warcio_main

from stablecopy.catalog.models import Capture, Crawl, LogLeaf
from stablecopy.catalog.session import CatalogError, open_catalog
from stablecopy.samplesite.generated import article_paths, generated_site
from stablecopy.samplesite.server import SiteServer
from tests.helpers import FAST, run_cli
from tests.pgcatalogue import create_database
from tests.services import PostgresServer, RedisServer

pytestmark = pytest.mark.own_postgres
ARTICLES = 1000
SHARED = (
    *FAST,
    "-s", "STABLECOPY_WORKER_HEARTBEAT=0.5",
    "-s", "STABLECOPY_WORKER_TIMEOUT=4",
)  # fmt: skip


@pytest.fixture(scope="module")
def site() -> Iterator[SiteServer]:
    with SiteServer(resources=lambda b: generated_site(b, ARTICLES, 4000), delay=0.02) as server:
        yield server


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server


@pytest.fixture
def db(postgres: PostgresServer, request: pytest.FixtureRequest) -> str:
    return create_database(postgres.url, request.node.name.lower()[:60])


def stablecopy(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "stablecopy", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def first_worker(
    site: SiteServer, redis: RedisServer, data: Path, db: str
) -> subprocess.Popen[str]:
    return stablecopy(
        "crawl", site.url("/"), "--follow", "--depth", "2", "--redis", redis.url,
        "--data-dir", str(data), "--db", db, *SHARED,
    )  # fmt: skip


def more_worker(redis: RedisServer, data: Path, db: str) -> subprocess.Popen[str]:
    return stablecopy(
        "worker", "--redis", redis.url, "--crawl", "1", "--data-dir", str(data), "--db", db,
        *SHARED,
    )  # fmt: skip


def captures(db: str) -> list[Capture]:
    engine = open_catalog(db)
    with Session(engine) as session:
        rows = list(session.scalars(select(Capture)))
    engine.dispose()
    return rows


def wait_for_captures(db: str, count: int, files: int = 1, timeout: float = 120) -> None:
    """Until the crawl has `count` captures, in at least `files` WARC files (one per worker that
    has archived something)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(SQLAlchemyError, CatalogError):  # not created yet
            rows = captures(db)
            if len(rows) >= count and len({row.warc_file for row in rows}) >= files:
                return
        time.sleep(0.2)
    raise AssertionError(f"fewer than {count} captures in {files} file(s) after {timeout} s")


def in_flight_paths(redis: RedisServer, pid: int) -> set[str]:
    """The paths of the requests worker `pid` had taken and not yet archived durably."""
    client = Redis.from_url(redis.url)
    paths = set()
    for key in client.scan_iter(match=f"*:inflight:*:{pid}"):
        for encoded in client.hvals(key):
            request = pickle.loads(encoded)  # scrapy-redis's format, from our own Redis
            paths.add(urlsplit(request["url"]).path)
    client.close()
    return paths


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    _, stderr = process.communicate(timeout=300)
    return process.returncode, stderr


def page_paths(rows: list[Capture]) -> Counter[str]:
    """How often each page (not robots.txt: every worker fetches its own) was captured."""
    paths = Counter(urlsplit(row.url).path for row in rows if row.record_type == "response")
    paths.pop("/robots.txt", None)
    return paths


def assert_catalogue_and_warcs_agree(data: Path, db: str) -> None:
    warcs = sorted((data / "warcs").iterdir())
    assert warcs
    assert all(name.name.endswith(".warc.gz") for name in warcs)  # none left .open
    with pytest.raises(SystemExit) as checked:
        warcio_main(["check", *map(str, warcs)])
    assert checked.value.code == 0
    catalogued = {(row.warc_file, row.warc_offset, row.record_id) for row in captures(db)}
    in_files = set()
    for path in warcs:
        with path.open("rb") as handle:
            records = ArchiveIterator(handle)
            for record in records:
                if record.rec_type in ("response", "revisit"):
                    record_id = record.rec_headers.get_header("WARC-Record-ID")
                    in_files.add((f"warcs/{path.name}", records.get_record_offset(), record_id))
    assert catalogued == in_files
    verified = run_cli("verify", "--data-dir", str(data), "--db", db)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    # Workers appended to one capture log on PostgreSQL at once: no gap, every capture once.
    audited = run_cli("log", "verify", "--data-dir", str(data), "--db", db)
    assert audited.returncode == 0, audited.stdout + audited.stderr
    engine = open_catalog(db)
    with Session(engine) as session:
        logged = session.scalar(
            select(func.count()).select_from(LogLeaf).where(LogLeaf.kind == "capture")
        )
    engine.dispose()
    assert logged == len(catalogued)


def every_article_captured(db: str) -> tuple[list[Capture], Counter[str]]:
    """The crawl's capture rows and how often each page was captured, once every article of the
    site is known to be there."""
    rows = captures(db)
    pages = page_paths(rows)
    assert set(article_paths(ARTICLES)) <= set(pages)
    return rows, pages


def test_two_workers_share_one_crawl_and_capture_every_page_once(
    site: SiteServer, redis: RedisServer, db: str, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    first = first_worker(site, redis, data, db)
    wait_for_captures(db, 5)
    second = more_worker(redis, data, db)
    results = [finish(first), finish(second)]
    assert [code for code, _ in results] == [0, 0], results

    rows, pages = every_article_captured(db)
    assert [path for path, count in pages.items() if count > 1] == []
    by_file = Counter(row.warc_file for row in rows)
    assert len(by_file) == 2  # one WARC file per worker, named by its pid
    assert min(by_file.values()) > 50  # both made real progress
    engine = open_catalog(db)
    with Session(engine) as session:
        crawl = session.scalars(select(Crawl)).one()
    engine.dispose()
    assert crawl.status == "finished"
    assert crawl.captures == len(rows)
    assert_catalogue_and_warcs_agree(data, db)


def test_a_worker_killed_mid_crawl_leaves_nothing_behind(
    site: SiteServer, redis: RedisServer, db: str, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    first = first_worker(site, redis, data, db)
    wait_for_captures(db, 5)
    doomed, third = more_worker(redis, data, db), more_worker(redis, data, db)
    wait_for_captures(db, 300, files=3)  # every worker has archived some of the crawl
    doomed.send_signal(signal.SIGKILL)
    doomed.communicate()
    unfinished = in_flight_paths(redis, doomed.pid)  # before a survivor claims them (4 s on)
    results = [finish(first), finish(third)]
    assert [code for code, _ in results] == [0, 0], results
    logs = "".join(path.read_text("utf-8") for path in (data / "logs").iterdir())
    assert "stopped answering" in logs  # the survivors noticed and took its requests back

    repaired = run_cli("repair", "--data-dir", str(data), "--db", db)  # the killed one's .open
    assert repaired.returncode == 0, repaired.stderr
    rows, pages = every_article_captured(db)
    # At least once: only what the killed worker had taken and not yet committed (what it
    # archived in its last moments) may be there twice.
    twice = {path for path, count in pages.items() if count > 1}
    assert twice <= unfinished, sorted(twice - unfinished)
    by_file = Counter(row.warc_file for row in rows)
    assert len(by_file) == 3
    assert_catalogue_and_warcs_agree(data, db)


def test_the_queue_outlives_the_worker_that_started_it(
    site: SiteServer, redis: RedisServer, db: str, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    first = first_worker(site, redis, data, db)
    wait_for_captures(db, 5)
    second = more_worker(redis, data, db)
    wait_for_captures(db, 200)
    first.send_signal(signal.SIGTERM)  # leaves cleanly, putting back what it had taken
    code, stderr = finish(first)
    assert code == 130, stderr
    assert finish(second)[0] == 0

    _, pages = every_article_captured(db)
    assert [path for path, count in pages.items() if count > 1] == []
    assert_catalogue_and_warcs_agree(data, db)

    late = more_worker(redis, data, db)  # the crawl is over: a late worker has nothing to do
    code, stderr = finish(late)
    assert code == 1
    assert "crawl 1 is over (finished)" in stderr

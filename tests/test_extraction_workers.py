"""Clean text survives its workers: a killed worker is replaced and its pages tried again, a page
that takes too long or is too large is recorded so, and a resumed crawl makes the text of every
page whose extraction failed or never happened."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from warcio.cli import main as warcio_main

from stablecopy.catalog.models import Capture, Crawl, Extraction
from stablecopy.catalog.session import open_catalog
from stablecopy.layout import DataLayout
from stablecopy.samplesite.generated import article_paths, generated_site
from stablecopy.samplesite.server import SiteServer
from tests.helpers import FAST, run_cli
from tests.rawserver import RawServer, response

pytestmark = pytest.mark.catalogue

ARTICLES = 60


@pytest.fixture(scope="module")
def news() -> Iterator[SiteServer]:
    with SiteServer(resources=lambda base: generated_site(base, ARTICLES, 6000), delay=0.02) as s:
        yield s


def texts(data: Path) -> dict[str, str]:
    """URL → extraction status of every capture that has one."""
    engine = open_catalog(DataLayout.create(data).db_url)
    with Session(engine) as session:
        found = session.execute(
            select(Capture.url, Extraction.status).join(
                Extraction, Extraction.capture_id == Capture.id
            )
        ).all()
    engine.dispose()
    return dict(found)


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def extraction_workers(crawl_pid: int) -> list[int]:
    """The crawl's extraction workers: the children of its forkserver."""
    workers: list[int] = []
    for child in children(crawl_pid):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"forkserver" in command:
            workers += children(child)
    return workers


def test_a_killed_worker_is_replaced_and_its_pages_tried_again(
    news: SiteServer, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    process = subprocess.Popen(
        [
            sys.executable, "-m", "stablecopy", "crawl", news.url("/"), "--follow", "--depth", "2",
            "--data-dir", str(data), *FAST,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    killed: set[int] = set()
    deadline = time.monotonic() + 120
    while len(killed) < 2 and process.poll() is None:
        assert time.monotonic() < deadline, "no extraction worker to kill"
        workers = [pid for pid in extraction_workers(process.pid) if pid not in killed]
        if workers:
            time.sleep(0.3)  # let it take pages
            for pid in workers:
                subprocess.run(["kill", "-KILL", str(pid)], check=False)
                killed.add(pid)
        time.sleep(0.05)
    _, stderr = process.communicate(timeout=300)
    assert len(killed) == 2, "the crawl ended before its worker was killed twice"
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    made = texts(data)
    wanted = {news.url(path) for path in article_paths(ARTICLES)}
    assert wanted <= set(made)
    assert {url: made[url] for url in wanted if made[url] != "ok"} == {}


def texts_lost(news: SiteServer, data: Path) -> tuple[str, str]:
    """A crawl as one killed with pages queued for extraction, and a worker lost three times under
    a page, leaves it: one text missing, one `error`. The two pages' URLs."""
    done = run_cli(
        "crawl", news.url("/"), "--follow", "--depth", "2", "--data-dir", str(data), *FAST
    )
    assert done.returncode == 0, done.stderr
    first, second = (news.url(path) for path in article_paths(ARTICLES)[:2])
    engine = open_catalog(DataLayout.create(data).db_url)
    with Session(engine) as session:
        ids = dict(session.execute(select(Capture.url, Capture.id)).all())
        session.execute(
            update(Extraction)
            .where(Extraction.capture_id == ids[first])
            .values(status="error", error="worker process died")
        )
        session.execute(delete(Extraction).where(Extraction.capture_id == ids[second]))
        session.execute(update(Crawl).values(status="interrupted", finish_reason="shutdown"))
        session.commit()
    engine.dispose()
    return first, second


def test_a_resumed_crawl_makes_the_texts_that_failed_or_never_came(
    news: SiteServer, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    first, second = texts_lost(news, data)
    resumed = run_cli("crawl", "--resume", "1", "--data-dir", str(data), *FAST)
    assert resumed.returncode == 0, resumed.stderr
    made = texts(data)
    assert (made[first], made[second]) == ("ok", "ok")
    verified = run_cli("verify", "--data-dir", str(data))
    assert verified.returncode == 0, verified.stdout + verified.stderr


def paragraphs(count: int) -> bytes:
    return b"".join(b"<p>The council met on Tuesday about the harbour, item %d.</p>" % n
                    for n in range(count))  # fmt: skip


BOUNDED = {
    # Some 60,000 nested elements: trafilatura takes minutes over it.
    "/nested": response(
        b"HTTP/1.1 200 OK",
        [b"Content-Type: text/html; charset=utf-8"],
        b"<html><body><article><p>" + b"<span>word </span>" * 60_000 + b"</p></article></body>",
    ),
    "/huge": response(
        b"HTTP/1.1 200 OK",
        [b"Content-Type: text/html; charset=utf-8"],
        b"<html><body><article>" + paragraphs(40_000) + b"</article></body></html>",
    ),
    "/plain": response(
        b"HTTP/1.1 200 OK",
        [b"Content-Type: text/html; charset=utf-8"],
        b"<html><body><article>" + paragraphs(40) + b"</article></body></html>",
    ),
}


def test_a_page_too_slow_or_too_large_is_recorded_so_and_the_crawl_goes_on(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    with RawServer(BOUNDED) as server:
        done = run_cli(
            "crawl", *(server.url(path) for path in BOUNDED), "--data-dir", str(data), *FAST,
            "-s", "STABLECOPY_EXTRACT_TIMEOUT=2", "-s", "STABLECOPY_EXTRACT_MAX_SIZE=1500000",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        made = {url.removeprefix(server.base): status for url, status in texts(data).items()}
    assert made == {"/nested": "timeout", "/huge": "too-large", "/plain": "ok"}
    verified = run_cli("verify", "--data-dir", str(data))
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_repair_makes_the_texts_that_failed_or_never_came(news: SiteServer, tmp_path: Path) -> None:
    data = tmp_path / "data"
    first, second = texts_lost(news, data)
    repaired = run_cli("repair", "--data-dir", str(data))
    assert repaired.returncode == 0, repaired.stderr
    assert "Made the clean text of 2 capture(s)" in repaired.stderr
    made = texts(data)
    assert (made[first], made[second]) == ("ok", "ok")
    again = run_cli("repair", "--data-dir", str(data))
    assert "Made the clean text" not in again.stderr  # nothing is made twice
    warcs = sorted(map(str, (data / "warcs").iterdir()))
    assert len(warcs) == 2  # the crawl's file, and the one the repair wrote
    with pytest.raises(SystemExit) as checked:
        warcio_main(["check", *warcs])
    assert checked.value.code == 0
    verified = run_cli("verify", "--data-dir", str(data))
    assert verified.returncode == 0, verified.stdout + verified.stderr

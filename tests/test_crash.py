"""Crash safety: a real crawl killed at random moments, repaired and resumed, never lies.

The crawl runs as a real process against a generated site of a few hundred pages served slowly
enough to be interrupted mid-flight. It is killed with SIGKILL at twenty random moments and stopped
with SIGTERM at five, resumed after each; then the archive and the catalogue are checked against
each other with warcio and `stablecopy verify`.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from warcio.cli import main as warcio_main

from stablecopy.archive.writer import OPEN_SUFFIX
from stablecopy.catalog.models import Capture, Crawl, Extraction, LogLeaf, TreeHeadRow, WarcFile
from stablecopy.catalog.session import open_catalog
from stablecopy.layout import DataLayout
from stablecopy.samplesite.generated import article_paths, generated_site
from stablecopy.samplesite.server import SiteServer
from tests.helpers import FAST, run_cli

pytestmark = pytest.mark.catalogue

ARTICLES = 300
SEED = 20261121
KILLS = 20
STOPS = 5


@pytest.fixture(scope="module")
def slow_site() -> Iterator[SiteServer]:
    with SiteServer(
        resources=lambda base: generated_site(base, ARTICLES, 6000), delay=0.03
    ) as site:
        yield site


def has_catalogue(data: Path) -> bool:
    """Whether the crawl has made its catalogue yet (a server catalogue is always there)."""
    db_url = DataLayout.create(data).db_url
    return not db_url.startswith("sqlite") or (data / "stablecopy.db").exists()


def crawl_rows(data: Path) -> tuple[list[Crawl], list[Capture], int]:
    engine = open_catalog(DataLayout.create(data).db_url)
    with Session(engine) as session:
        crawls = list(session.scalars(select(Crawl)))
        captures = list(session.scalars(select(Capture)))
        texts = session.scalar(select(Extraction.id).order_by(Extraction.id.desc()).limit(1)) or 0
    engine.dispose()
    return crawls, captures, texts


def start(site: SiteServer, data: Path, resume: bool) -> subprocess.Popen[str]:
    what = ["--resume", "1"] if resume else [site.url("/"), "--follow", "--depth", "2"]
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stablecopy",
            "crawl",
            *what,
            "--data-dir",
            str(data),
            *FAST,
            "-s",
            "STABLECOPY_TREE_HEAD_INTERVAL=0.5",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_killed_at_random_moments_repaired_and_resumed(
    slow_site: SiteServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = random.Random(SEED)
    data = tmp_path / "data"
    blows = [signal.SIGKILL] * KILLS + [signal.SIGTERM] * STOPS
    rng.shuffle(blows)
    assert run_cli("keys", "init", "--data-dir", str(data)).returncode == 0
    for blow in blows:
        started = has_catalogue(data) and bool(crawl_rows(data)[0])
        process = start(slow_site, data, resume=started)
        time.sleep(rng.uniform(0.4, 3.0))  # a random moment of its life: the point of the test
        process.send_signal(blow)
        _, stderr = process.communicate(timeout=120)
        assert process.returncode in (-signal.SIGKILL, 130, -signal.SIGTERM, 0), stderr
    final = run_cli("crawl", "--resume", "1", "--data-dir", str(data), *FAST)
    assert final.returncode == 0, final.stderr

    warcs = sorted((data / "warcs").iterdir())
    assert not [p for p in warcs if p.name.endswith(OPEN_SUFFIX)]
    with pytest.raises(SystemExit) as checked:
        warcio_main(["check", *map(str, warcs)])
    assert checked.value.code == 0, capsys.readouterr().out

    verified = run_cli("verify", "--data-dir", str(data))  # every row's record, by SHA-256
    assert verified.returncode == 0, verified.stderr

    crawls, captures, _ = crawl_rows(data)
    assert [(c.id, c.status) for c in crawls] == [(1, "finished")]
    twice = {url: n for url, n in Counter(c.url for c in captures).items() if n > 1}
    assert twice == {}  # no page captured twice in the crawl, robots.txt included
    captured = {c.url for c in captures}
    wanted = {slow_site.url(path) for path in article_paths(ARTICLES)}
    assert wanted <= captured  # every page, in the end
    engine = open_catalog(DataLayout.create(data).db_url)
    with Session(engine) as session:
        texts = {
            url
            for (url,) in session.execute(
                select(Capture.url)
                .join(Extraction, Extraction.capture_id == Capture.id)
                .where(Extraction.status == "ok")
            )
        }
    engine.dispose()
    assert wanted <= texts  # and every article's clean text, none lost to a kill
    assert crawls[0].captures == len(captures)
    assert_log_whole(data)


def assert_log_whole(data: Path) -> None:
    """The capture log after kills, repairs and resumes: every catalogued capture, text and file
    exactly once, no gap, and every tree head signed along the way (twice a second while the crawls
    ran) still a prefix of the log: no committed entry was lost, duplicated or moved."""
    audited = run_cli("log", "verify", "--data-dir", str(data))
    assert audited.returncode == 0, audited.stdout + audited.stderr
    engine = open_catalog(DataLayout.create(data).db_url)
    with Session(engine) as session:
        leaves = Counter(session.scalars(select(LogLeaf.kind)))
        heads = session.scalar(select(func.count()).select_from(TreeHeadRow))
        logged = Counter(
            session.scalars(select(LogLeaf.capture_id).where(LogLeaf.kind == "capture"))
        )
        assert leaves["capture"] == session.scalar(select(func.count()).select_from(Capture))
        assert leaves["text"] == session.scalar(select(func.count()).select_from(Extraction))
        assert leaves["warc-file"] == session.scalar(select(func.count()).select_from(WarcFile))
    engine.dispose()
    assert max(logged.values()) == 1
    assert (heads or 0) > 3  # signed during the crawls and at their ends, all checked above


def test_repair_moves_a_cut_record_aside_and_catalogues_the_rest(
    slow_site: SiteServer, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    process = start(slow_site, data, resume=False)
    try:
        deadline = time.monotonic() + 60
        while not has_catalogue(data) or len(crawl_rows(data)[1]) < 20:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
    (open_file,) = (data / "warcs").glob(f"*{OPEN_SUFFIX}")
    complete = open_file.stat().st_size
    with open_file.open("ab") as handle:  # as if the kill had cut a record in the middle
        handle.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03half a record")
    repaired = run_cli("repair", str(data))
    assert repaired.returncode == 0, repaired.stderr
    assert "Closed warcs/" in repaired.stderr
    assert "moved to repair/" in repaired.stderr
    assert "Marked crawl 1 interrupted" in repaired.stderr
    (aside,) = (data / "repair").iterdir()
    assert aside.read_bytes().endswith(b"half a record")
    closed = open_file.with_name(open_file.name.removesuffix(OPEN_SUFFIX))
    assert closed.stat().st_size <= complete
    verified = run_cli("verify", "--data-dir", str(data))
    assert verified.returncode == 0, verified.stderr
    again = run_cli("repair", "--data-dir", str(data))
    assert again.returncode == 0, again.stderr
    assert "Nothing to repair." in again.stderr

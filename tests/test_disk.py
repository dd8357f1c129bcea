"""A full disk: the crawl stops with one clear line, files closed, nothing half-catalogued.

The WARC files, or the catalogue, live on a small tmpfs mounted for the test (as root, which is how
`make test` runs on a fresh machine), so the disk really fills: ENOSPC from the kernel, not a mock.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from warcio.cli import main as warcio_main

from stablecopy.archive.writer import OPEN_SUFFIX
from stablecopy.catalog.models import Capture
from stablecopy.catalog.session import open_catalog
from stablecopy.samplesite.generated import generated_site
from stablecopy.samplesite.server import SiteServer
from tests.helpers import FAST, run_cli

pytestmark = pytest.mark.catalogue

ARTICLES = 200


@contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert mounted.returncode == 0, f"the disk-full tests mount a tmpfs, as root: {mounted.stderr}"
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def resize(path: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(path)], check=True)


@pytest.fixture(scope="module")
def news() -> Iterator[SiteServer]:
    with SiteServer(resources=lambda base: generated_site(base, ARTICLES, 6000)) as site:
        yield site


def captured(db_url: str) -> int:
    engine = open_catalog(db_url)
    with Session(engine) as session:
        count = session.scalar(select(func.count()).select_from(Capture)) or 0
    engine.dispose()
    return count


def warcio_check(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    warcs = [str(p) for p in sorted(folder.iterdir())]
    assert not [w for w in warcs if w.endswith(OPEN_SUFFIX)]  # every file closed and renamed
    with pytest.raises(SystemExit) as checked:
        warcio_main(["check", *warcs])
    assert checked.value.code == 0, capsys.readouterr().out


def test_a_full_data_disk_stops_the_crawl_cleanly_and_resume_finishes_it(
    news: SiteServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db_url = f"sqlite:///{tmp_path / 'catalogue.db'}"
    with tmpfs(tmp_path / "disk", "600k") as disk:
        data = disk / "data"
        stopped = run_cli("crawl", news.url("/"), "--follow", "--depth", "2",
                          "--data-dir", str(data), "--db", db_url, *FAST)  # fmt: skip
        assert stopped.returncode == 1
        errors = [line for line in stopped.stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1, stopped.stderr
        assert "the crawl stopped (warc_write_failed)" in errors[0]
        assert "No space left on device" in errors[0]
        assert stopped.stderr.count("cannot write the archive") == 1  # said once, not per record
        assert "No space left on device" in stopped.stderr
        warcio_check(data / "warcs", capsys)
        verified = run_cli("verify", "--data-dir", str(data), "--db", db_url)
        assert verified.returncode == 0, verified.stderr  # every row points at a whole record
        before = captured(db_url)
        assert before > 0

        resize(disk, "50m")
        resumed = run_cli("crawl", "--resume", "1", "--data-dir", str(data), "--db", db_url, *FAST)
        assert resumed.returncode == 0, resumed.stderr
        assert captured(db_url) > before
        warcio_check(data / "warcs", capsys)
        assert run_cli("verify", "--data-dir", str(data), "--db", db_url).returncode == 0


def test_a_full_catalogue_disk_stops_the_crawl_and_repair_catalogues_the_rest(
    news: SiteServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    # Room for the catalogue of the crawl's first pages and of what repair adds (with their search
    # texts, FTS index and log entries), once the filler is gone.
    with tmpfs(tmp_path / "catalogue", "4m") as disk:
        db_url = f"sqlite:///{disk / 'catalogue.db'}"
        open_catalog(db_url).dispose()
        crawl = subprocess.Popen(
            [sys.executable, "-m", "stablecopy", "crawl", news.url("/"), "--follow", "--depth",
             "2", "--data-dir", str(data), "--db", db_url, *FAST, "-s", "DOWNLOAD_DELAY=0.02"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while captured(db_url) < 10:
            assert time.monotonic() < deadline, "the crawl never got going"
            time.sleep(0.05)
        free = os.statvfs(disk)
        (disk / "filler").write_bytes(b"\0" * (free.f_bavail * free.f_frsize))
        _, stderr = crawl.communicate(timeout=120)
        assert crawl.returncode == 1
        errors = [line for line in stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1, stderr
        assert "catalog_failed" in errors[0]
        assert "cannot write to the catalogue" in stderr
        assert "full" in stderr
        warcio_check(data / "warcs", capsys)

        (disk / "filler").unlink()
        orphans = run_cli("verify", "--data-dir", str(data), "--db", db_url)
        assert orphans.returncode == 1  # records the catalogue could not take...
        assert "orphan" in orphans.stderr
        repaired = run_cli("repair", str(data), "--db", db_url)
        assert repaired.returncode == 0, repaired.stderr
        assert "Catalogued" in repaired.stderr
        verified = run_cli("verify", "--data-dir", str(data), "--db", db_url)
        assert verified.returncode == 0, verified.stderr  # ...are catalogued by repair

"""stablecopy is also a plain Scrapy project: `scrapy list` and `scrapy crawl articles -a ...` work."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from stablecopy.archive.writer import OPEN_SUFFIX
from stablecopy.catalog.models import Capture
from stablecopy.catalog.session import open_catalog
from stablecopy.layout import DataLayout
from stablecopy.samplesite.pages import articles
from stablecopy.samplesite.server import SiteServer
from tests.helpers import FAST, run_cli

ROOT = Path(__file__).parent.parent


def scrapy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scrapy", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_scrapy_list_names_the_articles_spider() -> None:
    result = scrapy("list")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["articles"]


@pytest.mark.catalogue
def test_scrapy_crawl_with_spider_arguments_archives_and_catalogues(
    site: SiteServer, tmp_path: Path
) -> None:
    data = tmp_path / "not" / "made" / "yet"  # created by the crawl, as the CLI would
    result = scrapy(
        "crawl", "articles",
        "-a", f"url={site.url('/feed.xml')}",
        "-s", f"STABLECOPY_DATA_DIR={data}",
        "-s", "AUTOTHROTTLE_ENABLED=False",
        "-s", "DOWNLOAD_DELAY=0",
        "-s", "LOG_LEVEL=WARNING",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    engine = open_catalog(DataLayout.create(data).db_url)
    with engine.connect() as connection:
        urls = set(connection.scalars(select(Capture.url)))
    engine.dispose()
    assert {site.url(a.path) for a in articles()} <= urls
    assert site.url("/robots.txt") in urls


@pytest.mark.catalogue
def test_scrapy_crawl_first_repairs_what_a_killed_crawl_left_open(
    site: SiteServer, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    seeds = [site.url(f"/test/slow?n={n}") for n in range(6)]
    killed = subprocess.Popen(
        [sys.executable, "-m", "stablecopy", "crawl", site.url("/"), *seeds,
         "--data-dir", str(data), *FAST],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not any(p.stat().st_size > 2000 for p in (data / "warcs").glob(f"*{OPEN_SUFFIX}")):
        assert time.monotonic() < deadline, "no WARC file was begun"
        assert killed.poll() is None
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.wait()

    result = scrapy(
        "crawl", "articles", "-a", f"url={site.url('/feed.xml')}",
        "-s", f"STABLECOPY_DATA_DIR={data}", *FAST, "-s", "LOG_LEVEL=WARNING",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "repair: Closed warcs/" in result.stderr
    assert not list((data / "warcs").glob(f"*{OPEN_SUFFIX}"))
    verified = run_cli("verify", "--data-dir", str(data))
    assert verified.returncode == 0, verified.stderr

"""stablecopy is also a plain Scrapy project: `scrapy list` and `scrapy crawl articles -a ...` work."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from stablecopy.catalog.models import Capture
from stablecopy.catalog.session import open_catalog
from stablecopy.layout import DataLayout
from stablecopy.samplesite.pages import articles
from stablecopy.samplesite.server import SiteServer

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


def test_scrapy_crawl_with_spider_arguments_archives_and_catalogues(
    site: SiteServer, tmp_path: Path
) -> None:
    result = scrapy(
        "crawl", "articles",
        "-a", f"url={site.url('/feed.xml')}",
        "-s", f"STABLECOPY_DATA_DIR={tmp_path}",
        "-s", "AUTOTHROTTLE_ENABLED=False",
        "-s", "DOWNLOAD_DELAY=0",
        "-s", "LOG_LEVEL=WARNING",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    engine = open_catalog(DataLayout.create(tmp_path).db_url)
    with engine.connect() as connection:
        urls = set(connection.scalars(select(Capture.url)))
    engine.dispose()
    assert {site.url(a.path) for a in articles()} <= urls
    assert site.url("/robots.txt") in urls

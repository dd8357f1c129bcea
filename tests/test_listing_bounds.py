"""Listings and pages without bounds: a chain of sitemap indexes stops at
STABLECOPY_SITEMAP_INDEX_DEPTH, a sitemap of hundreds of thousands of URLs is read as the crawl goes
(its memory stays flat) up to STABLECOPY_MAX_LISTED_URLS, and a page of 100,000 links has the first
STABLECOPY_MAX_LINKS_PER_PAGE followed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from stablecopy.catalog.models import Capture
from stablecopy.catalog.session import open_catalog
from stablecopy.layout import DataLayout
from tests.helpers import FAST, peak_rss_kb, run_cli
from tests.rawserver import RawServer, response

pytestmark = pytest.mark.catalogue

XML = [b"Content-Type: application/xml"]
HTML = [b"Content-Type: text/html; charset=utf-8"]
CHAIN = 8
HUGE = 300_000


def index(next_path: str) -> bytes:
    return (
        b'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<sitemap><loc>" + next_path.encode() + b"</loc></sitemap></sitemapindex>"
    )


def urlset(paths: Iterator[str]) -> bytes:
    return (
        b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        + b"".join(b"<url><loc>" + p.encode() + b"</loc></url>" for p in paths)
        + b"</urlset>"
    )


PAGE = b"<html><body><article><p>A story about the harbour and the council.</p></article></body>"
ANSWERS = {
    **{
        f"/index-{n}.xml": response(b"HTTP/1.1 200 OK", XML, index(f"/index-{n + 1}.xml"))
        for n in range(CHAIN)
    },
    "/huge.xml": response(
        b"HTTP/1.1 200 OK", XML, urlset(f"/listed/{n}.html" for n in range(HUGE))
    ),
    "/small.xml": response(b"HTTP/1.1 200 OK", XML, urlset(f"/listed/{n}.html" for n in range(3))),
    "/many-links.html": response(
        b"HTTP/1.1 200 OK",
        HTML,
        b"<html><body>"
        + b"".join(b'<a href="/linked/%d.html">%d</a>' % (n, n) for n in range(100_000))
        + b"</body></html>",
    ),
}


@pytest.fixture(scope="module")
def server() -> Iterator[RawServer]:
    with RawServer(ANSWERS) as raw:
        yield raw


def captured(data: Path, like: str) -> int:
    engine = open_catalog(DataLayout.create(data).db_url)
    with Session(engine) as session:
        count = session.scalar(select(func.count()).where(Capture.url.like(like)))
    engine.dispose()
    return count or 0


def test_a_chain_of_sitemap_indexes_stops_at_the_nesting_limit(
    server: RawServer, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    done = run_cli("crawl", server.url("/index-0.xml"), "--data-dir", str(data), *FAST)
    assert done.returncode == 0, done.stderr
    assert captured(data, "%/index-%") == 4  # the seed and three indexes below it
    assert "is nested 4 deep: its sitemaps are not fetched" in done.stderr


def test_a_huge_sitemap_is_read_as_the_crawl_goes_in_flat_memory(
    server: RawServer, tmp_path: Path
) -> None:
    stop_soon = (
        "-s", "CLOSESPIDER_PAGECOUNT=5", "-s", "STABLECOPY_EXTRACT_ENABLED=False",
        "-s", "STABLECOPY_MAX_LISTED_URLS=5000",
    )  # fmt: skip
    small = peak_rss_kb(
        "crawl", server.url("/small.xml"), "--data-dir", str(tmp_path / "small"), *FAST, *stop_soon
    )
    huge = peak_rss_kb(
        "crawl", server.url("/huge.xml"), "--data-dir", str(tmp_path / "huge"), *FAST, *stop_soon
    )
    # Read whole, 300,000 URLs made a tree, a list and as many requests: some 400 MB more.
    assert huge - small < 120_000, (small, huge)
    assert captured(tmp_path / "huge", "%/listed/%") >= 1


def test_a_page_of_100000_links_has_the_first_few_thousand_followed(
    server: RawServer, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    done = run_cli(
        "crawl", server.url("/many-links.html"), "--follow", "--depth", "1",
        "--data-dir", str(data), *FAST, "-s", "CLOSESPIDER_PAGECOUNT=20",
        "-s", "STABLECOPY_EXTRACT_ENABLED=False",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "has more than 6000 new links (STABLECOPY_MAX_LINKS_PER_PAGE)" in done.stderr
    assert captured(data, "%/linked/%") >= 10

"""What the articles spider captures from each kind of seed, and how far --follow goes."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from stablecopy.catalog.models import Capture, Extraction
from stablecopy.catalog.session import open_catalog
from stablecopy.layout import DataLayout
from stablecopy.samplesite.pages import articles
from stablecopy.samplesite.server import SiteServer
from tests.helpers import FAST, raw_records, run_cli

pytestmark = pytest.mark.catalogue

ARTICLES = [a.path for a in articles()]


def crawled(site: SiteServer, tmp_path: Path, *args: str) -> set[str]:
    result = run_cli("crawl", *args, "--data-dir", str(tmp_path), *FAST)
    assert result.returncode == 0, result.stderr
    engine = open_catalog(DataLayout.create(tmp_path).db_url)
    with engine.connect() as connection:
        urls = {url.removeprefix(site.base) for url in connection.scalars(select(Capture.url))}
    engine.dispose()
    return urls


def test_capture_only_crawl_writes_no_text_records(site: SiteServer, tmp_path: Path) -> None:
    urls = crawled(site, tmp_path, site.url("/feed.xml"), "-s", "STABLECOPY_EXTRACT_ENABLED=False")
    assert set(ARTICLES) <= urls
    engine = open_catalog(DataLayout.create(tmp_path).db_url)
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Extraction)) == 0
    engine.dispose()
    types = {
        r.type for path in DataLayout.create(tmp_path).warc_dir.iterdir() for r in raw_records(path)
    }
    assert types == {"warcinfo", "request", "response"}


def test_feed_seed_captures_the_articles_it_lists_and_nothing_else(
    site: SiteServer, tmp_path: Path
) -> None:
    urls = crawled(site, tmp_path, site.url("/atom.xml"))
    assert urls == {"/robots.txt", "/atom.xml", *ARTICLES}


def test_sitemap_index_seed_with_deny(site: SiteServer, tmp_path: Path) -> None:
    urls = crawled(site, tmp_path, site.url("/sitemap-index.xml"), "--deny", "/region/")
    expected = {p for p in ARTICLES if not p.startswith("/region/")}
    assert urls == {"/robots.txt", "/sitemap-index.xml", "/sitemap.xml", "/news-sitemap.xml"} | (
        expected
    )


def test_follow_stays_within_depth_and_allow(site: SiteServer, tmp_path: Path) -> None:
    urls = crawled(site, tmp_path, site.url("/"), "--follow", "--allow", r"/news/\d{4}/")
    assert urls == {
        "/robots.txt",
        "/",
        "/news/2023/old-link-to-iran-story",
        *[p for p in ARTICLES if p.startswith("/news/")],
    }


def test_depth_zero_follows_nothing(site: SiteServer, tmp_path: Path) -> None:
    urls = crawled(site, tmp_path, site.url("/news/"), "--follow", "--depth", "0")
    assert urls == {"/robots.txt", "/news/"}


def test_follow_two_hops_reaches_links_of_linked_pages(site: SiteServer, tmp_path: Path) -> None:
    urls = crawled(site, tmp_path, site.url("/about/"), "--follow", "--depth", "2")
    assert "/news/" in urls  # one hop: the navigation
    assert set(ARTICLES) <= urls  # two hops: the section pages' teasers
    assert not any(u.startswith("/private/") for u in urls)  # robots.txt still rules


def test_seeds_scrapy_would_take_for_one_another_are_each_fetched(
    site: SiteServer, tmp_path: Path
) -> None:
    """Query in another order, dot segments: a seed list is the user's explicit word."""
    seeds = ["/news/?page=2&sort=new", "/news/?sort=new&page=2", "/news/", "/news/./"]
    urls = crawled(site, tmp_path, *(site.url(path) for path in seeds))
    assert set(seeds) <= urls

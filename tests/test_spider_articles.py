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
    """The paths of the site's pages the crawl captured (not what they needed to render, nor its
    CDN's robots.txt)."""
    found = captured(site, tmp_path, *args)
    return {p for p, kind in found.items() if kind is None and p.startswith("/")}


def captured(site: SiteServer, tmp_path: Path, *args: str) -> dict[str, str | None]:
    """Every URL captured (the site's as paths), with the kind of requisite it was fetched as."""
    result = run_cli("crawl", *args, "--data-dir", str(tmp_path), *FAST)
    assert result.returncode == 0, result.stderr
    engine = open_catalog(DataLayout.create(tmp_path).db_url)
    with engine.connect() as connection:
        rows = connection.execute(select(Capture.url, Capture.requisite)).all()
    engine.dispose()
    return {url.removeprefix(site.base): kind for url, kind in rows}


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


def test_requisites_come_from_any_host_whatever_the_scope_says(
    site: SiteServer, tmp_path: Path
) -> None:
    """--deny and --allow choose pages; what a chosen page needs to render is fetched anyway,
    from the CDN too, never counting as a hop and never followed for links."""
    article = ARTICLES[0]
    found = captured(
        site, tmp_path, site.url(article), "--follow", "--depth", "0",
        "--deny", "static", "--deny", "127.0.0.2", "--allow", "^nothing$",
    )  # fmt: skip
    cdn = site.cdn.base
    assert found[article] is None
    assert found["/static/site.css"] == "stylesheet"
    assert found[f"{cdn}/assets/typography.css"] == "stylesheet"  # @imported by site.css
    assert found[f"{cdn}/fonts/ledger-display.woff2"] == "font"  # from typography.css
    assert found[f"{cdn}/img/masthead.png"] == "image"  # a background in site.css
    assert found["/embed/chart.html"] == "embed"
    assert found["/static/chart.png"] == "image"  # the embedded document's own
    assert {f"{cdn}/img/photo-640.png", f"{cdn}/img/photo-1280.png"} <= found.keys()  # srcset
    assert found[f"{cdn}/img/street.png"] == "image"  # lazy: data-src
    pages = {p for p, kind in found.items() if kind is None and not p.endswith("/robots.txt")}
    assert pages == {article}  # no link followed: depth 0


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

"""Sitemaps and feeds recognised from their bytes, and the URLs they list."""

from __future__ import annotations

import gzip

from stablecopy.crawl.listings import ListingKind, looks_like_xml, read_listing
from stablecopy.samplesite.pages import articles, build_site

BASE = "https://news.example"
SITE = build_site(BASE)
PATHS = [a.path for a in articles()]


def test_sitemap_lists_its_pages() -> None:
    listing = read_listing(SITE["/sitemap.xml"].body, BASE + "/sitemap.xml")
    assert listing is not None
    assert listing.kind is ListingKind.SITEMAP
    assert list(listing.urls) == [BASE + p for p in PATHS]


def test_news_sitemap_is_a_sitemap() -> None:
    listing = read_listing(SITE["/news-sitemap.xml"].body, BASE)
    assert listing is not None
    assert listing.kind is ListingKind.SITEMAP
    assert list(listing.urls) == [BASE + p for p in PATHS[:2]]


def test_sitemap_index_lists_sitemaps() -> None:
    listing = read_listing(SITE["/sitemap-index.xml"].body, BASE)
    assert listing is not None
    assert listing.kind is ListingKind.SITEMAP_INDEX
    assert list(listing.urls) == [BASE + "/sitemap.xml", BASE + "/news-sitemap.xml"]


def test_gzipped_sitemap_file_is_read() -> None:
    body = gzip.compress(SITE["/sitemap.xml"].body)
    assert looks_like_xml(body)
    listing = read_listing(body, BASE)
    assert listing is not None
    assert len(list(listing.urls)) == len(PATHS)


def test_rss_and_atom_feeds_list_their_articles() -> None:
    for path in ("/feed.xml", "/atom.xml"):
        listing = read_listing(SITE[path].body, BASE)
        assert listing is not None
        assert listing.kind is ListingKind.FEED
        assert list(listing.urls) == [BASE + p for p in PATHS]


def test_rss_1_rdf_feed_and_relative_links() -> None:
    rdf = (
        b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
        b' xmlns="http://purl.org/rss/1.0/"><item rdf:about="https://n.example/1">'
        b"<title>One</title></item><item><link>/2</link></item></rdf:RDF>"
    )
    listing = read_listing(rdf, "https://n.example/feed.rdf")
    assert listing is not None
    assert list(listing.urls) == ["https://n.example/1", "https://n.example/2"]


def test_html_and_garbage_are_not_listings() -> None:
    assert read_listing(b"<html><body>hi</body></html>", BASE) is None
    assert read_listing(b"\x00\x01 not xml at all", BASE) is None
    assert read_listing(b"\x1f\x8b broken gzip", BASE) is None
    assert read_listing(b"", BASE) is None


def test_entities_are_never_expanded_or_fetched() -> None:
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<url><loc>https://n.example/&secret;</loc></url></urlset>"
    )
    listing = read_listing(xxe, BASE)
    assert listing is not None
    assert all("root:" not in url for url in listing.urls)


def test_a_declared_encoding_the_bytes_do_not_bear_out_is_set_aside() -> None:
    urlset = "<urlset><url><loc>https://n.example/a</loc></url></urlset>"
    for declared in ("utf-16", "rot13", "no-such-encoding"):
        body = f'<?xml version="1.0" encoding="{declared}"?>{urlset}'.encode()
        listing = read_listing(body, BASE)
        assert listing is not None, declared
        assert list(listing.urls) == ["https://n.example/a"], declared
    real = f'<?xml version="1.0" encoding="utf-16"?>{urlset}'.encode("utf-16")  # with its BOM
    listing = read_listing(real, BASE)
    assert listing is not None
    assert list(listing.urls) == ["https://n.example/a"]

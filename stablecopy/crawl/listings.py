"""Sitemaps and feeds: recognising one from its bytes, and reading the URLs it lists.

Handles sitemap.xml (also gzipped), sitemap indexes, Google News sitemaps, RSS 2.0, RSS 1.0 (RDF)
and Atom. The XML parser never resolves entities or fetches anything, and bounds what it expands.
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urljoin

from lxml import etree

MAX_LISTING_BYTES = 64 * 1024 * 1024  # the sitemap protocol caps files at 50 MB uncompressed
_XML_MARKERS = (b"<?xml", b"<urlset", b"<sitemapindex", b"<rss", b"<feed", b"<rdf:rdf")


class ListingKind(StrEnum):
    SITEMAP = "sitemap"  # lists pages
    SITEMAP_INDEX = "sitemap-index"  # lists sitemaps
    FEED = "feed"  # RSS or Atom: lists articles


@dataclass(frozen=True)
class Listing:
    kind: ListingKind
    urls: list[str]


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        recover=True,
        remove_comments=True,
        remove_pis=True,
        huge_tree=False,
    )


def _gunzip(body: bytes) -> bytes:
    """Decompress a gzipped sitemap (sitemap.xml.gz), stopping at MAX_LISTING_BYTES."""
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    out = inflater.decompress(body, MAX_LISTING_BYTES)
    if inflater.unconsumed_tail:
        raise ValueError("sitemap larger than the sitemap protocol allows")
    return out


def _local(tag: object) -> str:
    """An element's name without namespace (`{ns}loc`) or undeclared prefix (`news:title`), in
    lowercase. Parsed by hand: a recovering parser can make names lxml's QName refuses (`:`)."""
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2].rpartition(":")[2].lower()


def _text_urls(root: etree._Element, container: str, base: str) -> list[str]:
    """<container><loc>URL</loc></container> children, as absolute URLs."""
    urls = []
    for element in root.iter():
        if _local(element.tag) != container:
            continue
        for child in element:
            if _local(child.tag) == "loc" and child.text and child.text.strip():
                urls.append(urljoin(base, child.text.strip()))
    return urls


def _rss_urls(root: etree._Element, base: str) -> list[str]:
    urls = []
    for item in root.iter():
        if _local(item.tag) != "item":
            continue
        link = guid = None
        for child in item:
            name = _local(child.tag)
            if name == "link" and child.text and child.text.strip():
                link = child.text.strip()
            elif name == "guid" and child.get("isPermaLink", "true").lower() == "true":
                guid = (child.text or "").strip() or None
        about = item.get("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about")
        chosen = link or guid or about
        if chosen:
            urls.append(urljoin(base, chosen))
    return urls


def _atom_urls(root: etree._Element, base: str) -> list[str]:
    urls = []
    for entry in root.iter():
        if _local(entry.tag) != "entry":
            continue
        for link in entry:
            if _local(link.tag) == "link" and link.get("rel", "alternate") == "alternate":
                href = link.get("href")
                if href:
                    urls.append(urljoin(base, href.strip()))
                    break
    return urls


def looks_like_xml(body: bytes) -> bool:
    head = body[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith(_XML_MARKERS) or body[:2] == b"\x1f\x8b"


def read_listing(body: bytes, base_url: str) -> Listing | None:
    """The sitemap or feed in `body`, or None when it is neither (or cannot be read)."""
    try:
        if body[:2] == b"\x1f\x8b":
            body = _gunzip(body)
        root = etree.fromstring(body[:MAX_LISTING_BYTES], _parser())
    except (etree.XMLSyntaxError, ValueError, gzip.BadGzipFile, zlib.error):
        return None
    if root is None:
        return None
    name = _local(root.tag)
    if name == "urlset":
        return Listing(ListingKind.SITEMAP, _text_urls(root, "url", base_url))
    if name == "sitemapindex":
        return Listing(ListingKind.SITEMAP_INDEX, _text_urls(root, "sitemap", base_url))
    if name in ("rss", "rdf"):
        return Listing(ListingKind.FEED, _rss_urls(root, base_url))
    if name == "feed":
        return Listing(ListingKind.FEED, _atom_urls(root, base_url))
    return None

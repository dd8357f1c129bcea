"""Sitemaps and feeds: recognising one from its bytes, and reading the URLs it lists.

Handles sitemap.xml (also gzipped), sitemap indexes, Google News sitemaps, RSS 2.0, RSS 1.0 (RDF)
and Atom. The XML parser never resolves entities or fetches anything, and bounds what it expands;
it reads as the crawl asks for URLs, freeing each entry once read, so memory stays flat however
long the listing.
"""

from __future__ import annotations

import gzip
import io
import re
import zlib
from collections.abc import Callable, Iterator
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
    """A sitemap, index or feed: its kind, and its URLs read as they are asked for (a sitemap of a
    million URLs never becomes a list, and the crawl fetches while it is read)."""

    kind: ListingKind
    urls: Iterator[str]


_ROOTS = {
    "urlset": ListingKind.SITEMAP,
    "sitemapindex": ListingKind.SITEMAP_INDEX,
    "rss": ListingKind.FEED,
    "rdf": ListingKind.FEED,
    "feed": ListingKind.FEED,
}
_DECLARED_ENCODING = re.compile(rb"""(?<=<\?xml)([^>]*?)\sencoding\s*=\s*["'][^"']*["']""")
_RDF_ABOUT = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about"


def _events(body: bytes) -> Iterator[tuple[str, etree._Element]]:
    return etree.iterparse(
        io.BytesIO(body),
        events=("start", "end"),
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


def _loc(element: etree._Element) -> str | None:
    """<url><loc>URL</loc></url>, <sitemap><loc>URL</loc></sitemap>."""
    for child in element:
        if _local(child.tag) == "loc" and child.text and child.text.strip():
            return str(child.text.strip())
    return None


def _rss_link(item: etree._Element) -> str | None:
    link = guid = None
    for child in item:
        name = _local(child.tag)
        if name == "link" and child.text and child.text.strip():
            link = child.text.strip()
        elif name == "guid" and child.get("isPermaLink", "true").lower() == "true":
            guid = (child.text or "").strip() or None
    return link or guid or item.get(_RDF_ABOUT)


def _atom_link(entry: etree._Element) -> str | None:
    for link in entry:
        if _local(link.tag) == "link" and link.get("rel", "alternate") == "alternate":
            href = link.get("href")
            if href:
                return str(href.strip())
    return None


def _entry(kind: ListingKind, root: str) -> tuple[str, Callable[[etree._Element], str | None]]:
    """The element that lists one URL in this kind of listing, and how its URL is read."""
    if kind is ListingKind.SITEMAP:
        return "url", _loc
    if kind is ListingKind.SITEMAP_INDEX:
        return "sitemap", _loc
    if root == "feed":
        return "entry", _atom_link
    return "item", _rss_link


def _urls(
    events: Iterator[tuple[str, etree._Element]], kind: ListingKind, root: str, base: str
) -> Iterator[str]:
    """The listed URLs, absolute; each entry is freed once read, with what came before it."""
    name, read = _entry(kind, root)
    try:
        for event, element in events:
            if event != "end" or _local(element.tag) != name:
                continue
            url = read(element)
            if url:
                yield urljoin(base, url)
            element.clear()
            parent = element.getparent()
            while parent is not None and element.getprevious() is not None:
                del parent[0]
    except etree.XMLSyntaxError:
        return  # what was read before the damage is listed


def looks_like_xml(body: bytes) -> bool:
    head = body[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith(_XML_MARKERS) or body[:2] == b"\x1f\x8b"


def _opened(body: bytes) -> tuple[Iterator[tuple[str, etree._Element]], etree._Element] | None:
    """The parse of `body` and its root element, or None if it has none."""
    events = _events(body)
    try:
        first = next((element for event, element in events if event == "start"), None)
    except etree.XMLSyntaxError:
        return None
    return None if first is None else (events, first)


def read_listing(body: bytes, base_url: str) -> Listing | None:
    """The sitemap or feed in `body`, or None when it is neither (or cannot be read). An XML
    declaration whose encoding the bytes do not bear out (`utf-16` on ASCII, a name that is no
    encoding) is read again without it, as UTF-8."""
    try:
        if body[:2] == b"\x1f\x8b":
            body = _gunzip(body)
    except (ValueError, gzip.BadGzipFile, zlib.error, EOFError):
        return None
    body = body[:MAX_LISTING_BYTES]
    opened = _opened(body)
    if opened is None and _DECLARED_ENCODING.search(body, 0, 256):
        opened = _opened(_DECLARED_ENCODING.sub(rb"\1", body, count=1))
    if opened is None:
        return None
    events, first = opened
    root = _local(first.tag)
    kind = _ROOTS.get(root)
    if kind is None:
        return None
    return Listing(kind, _urls(events, kind, root, base_url))

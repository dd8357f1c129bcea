"""NewLinks: the links of an HTML page the crawl has not met before, each URL found once per crawl.

A news page carries a hundred links, nearly all of them (navigation, related stories) already met
on earlier pages. Scrapy's own extractor and dupefilter would build, fingerprint and drop a Request
for each one; here a link is resolved and checked against what this crawl has already seen, and only
new URLs are made safe and returned.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import etree
from scrapy.http import HtmlResponse
from scrapy.linkextractors import IGNORED_EXTENSIONS
from scrapy.selector import Selector
from scrapy.utils.response import get_base_url
from scrapy.utils.url import url_has_any_extension
from w3lib.url import safe_url_string

# Linked PDFs are worth archiving from news pages; images, media and archives are not followed.
FOLLOWED_EXTENSIONS = {f".{ext}" for ext in IGNORED_EXTENSIONS if ext != "pdf"}
_HREFS = etree.XPath("//a/@href | //area/@href", smart_strings=False)
# Not links to fetch: in-page anchors and other schemes are never resolved.
_SKIPPED_PREFIXES = ("#", "javascript:", "mailto:", "tel:", "data:")
# HTML's whitespace, which browsers strip from both ends of an attribute value.
_HTML_SPACE = " \t\n\f\r"
# Characters URL parsers remove wherever they are (WHATWG URL standard; urllib.parse since 3.9).
_URL_TABS = re.compile("[\t\n\r]")


def joined(base: str, origin: str, href: str) -> str:
    """`href` resolved against `base` (whose scheme and host are `origin`, if any), without fragment.

    Most links on a page are paths from the site's root ("/world/story.html"): with no dot segment,
    no parameters, no empty query and no tab or newline (which URL parsing drops), urljoin would
    return them as they stand after the origin, so they skip its full parse.
    """
    if origin and href.startswith("/") and not href.startswith("//") and not _URL_TABS.search(href):
        path = href.split("#", 1)[0]
        if "/." not in path and ";" not in path and not path.endswith("?"):
            return origin + path
    return urljoin(base, href).split("#", 1)[0]


class NewLinks:
    """Remembers the links a crawl has followed (as resolved, without fragment)."""

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def __call__(
        self, response: HtmlResponse, wanted: Callable[[str], bool], root: Any = None
    ) -> Iterator[str]:
        """The links of the page (`root`: its parsed tree, if made) to follow that this crawl has
        not followed before: percent-encoded as
        they will be fetched, without fragments, not to images, media or archives, and `wanted`.
        A link not wanted here (another site's) is not remembered: another page may want it.
        Given one at a time, as the crawl takes them: a page of 100,000 links never stalls it."""
        base = get_base_url(response)
        scheme, netloc = urlsplit(base)[:2]
        origin = f"{scheme}://{netloc}" if scheme in ("http", "https") and netloc else ""
        on_page: set[str] = set()
        for raw in _HREFS(root if root is not None else Selector(response=response).root):
            href = str(raw).strip(_HTML_SPACE)
            if href in on_page or not href or href.lower().startswith(_SKIPPED_PREFIXES):
                continue
            on_page.add(href)
            url = joined(base, origin, href)
            if url in self._seen:
                continue
            safe = safe_url_string(url, response.encoding)
            if url_has_any_extension(safe, FOLLOWED_EXTENSIONS):
                self._seen.add(url)
            elif wanted(safe):
                self._seen.add(url)
                yield safe

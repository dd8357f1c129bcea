"""NewLinks: the links of an HTML page the crawl has not met before, each URL found once per crawl.

A news page carries a hundred links, nearly all of them (navigation, related stories) already met
on earlier pages. Scrapy's own extractor and dupefilter would build, fingerprint and drop a Request
for each one; here a link is resolved and checked against what this crawl has already seen, and only
new URLs are made safe and returned.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urljoin

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


class NewLinks:
    """Remembers the links a crawl has followed (as resolved, without fragment)."""

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def __call__(self, response: HtmlResponse, wanted: Callable[[str], bool]) -> list[str]:
        """The page's links to follow that this crawl has not followed before: percent-encoded as
        they will be fetched, without fragments, not to images, media or archives, and `wanted`.
        A link not wanted here (another site's) is not remembered: another page may want it."""
        base = get_base_url(response)
        found: list[str] = []
        on_page: set[str] = set()
        for raw in _HREFS(Selector(response=response).root):
            href = str(raw).strip(_HTML_SPACE)
            if href in on_page or not href or href.lower().startswith(_SKIPPED_PREFIXES):
                continue
            on_page.add(href)
            url = urljoin(base, href).split("#", 1)[0]
            if url in self._seen:
                continue
            safe = safe_url_string(url, response.encoding)
            if url_has_any_extension(safe, FOLLOWED_EXTENSIONS):
                self._seen.add(url)
            elif wanted(safe):
                self._seen.add(url)
                found.append(safe)
        return found

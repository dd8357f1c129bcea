"""The `articles` spider: captures seeds that are articles, sitemaps or feeds, and follows in-site links.

Each seed is fetched and recognised from what comes back: a sitemap (or index, or news sitemap) or an
RSS/Atom feed has its listed URLs captured; an HTML page becomes a Page for clean-text extraction
and, with `follow`, has its links on the same site followed up to `depth` hops. Archiving itself
happens in the downloader (stablecopy.archive.capture), for every response, whatever the spider does
with it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.http import HtmlResponse, Response
from scrapy.selector import Selector

from stablecopy.archive import meta
from stablecopy.crawl.addon import run_stored
from stablecopy.crawl.listings import ListingKind, looks_like_xml, read_listing
from stablecopy.crawl.runner import SEEDS_ANSWERED
from stablecopy.crawl.seeds import collect_seeds
from stablecopy.extract.charset import page_text
from stablecopy.items import Page
from stablecopy.spiders.links import NewLinks
from stablecopy.spiders.requisites import Requisites

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings
    from twisted.python.failure import Failure

logger = logging.getLogger(__name__)

META_HOPS = "stablecopy_hops"
META_HOSTS = "stablecopy_hosts"
META_NESTING = "stablecopy_index_nesting"  # sitemap indexes above a listing


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _split(value: Any) -> list[str]:
    """Spider arguments arrive as text: one value, or several separated by commas or newlines."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [part.strip() for part in re.split(r"[,\n]", str(value)) if part.strip()]


class ArticlesSpider(Spider):
    """Capture news articles from seed URLs, seed files, sitemaps and feeds.

    Spider arguments (`scrapy crawl articles -a url=... -a seeds=FILE -a follow=1 -a depth=2
    -a allow=REGEX -a deny=REGEX`) override the STABLECOPY_SEED_* / FOLLOW / DEPTH / ALLOW / DENY
    settings, which is what the stablecopy CLI sets.
    """

    name = "articles"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._arguments = {
            key: kwargs.pop(key)
            for key in ("url", "seeds", "follow", "depth", "allow", "deny")
            if key in kwargs
        }
        super().__init__(*args, **kwargs)
        self.seed_urls: list[str] = []
        self.follow = False
        self.extract = True
        self.depth = 1
        self.index_depth = 3
        self.max_links = self.max_listed = 0
        self.allow: list[re.Pattern[str]] = []
        self.deny: list[re.Pattern[str]] = []

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        if settings.getbool("STABLECOPY_RUN_STORED"):
            run_stored(settings)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.configure(crawler.settings)
        return spider

    def configure(self, settings: BaseSettings) -> None:
        given = self._arguments
        urls = _split(given["url"]) if "url" in given else settings.getlist("STABLECOPY_SEED_URLS")
        files = (
            _split(given["seeds"])
            if "seeds" in given
            else settings.getlist("STABLECOPY_SEED_FILES")
        )
        seeds, problems = collect_seeds(urls, files)
        for problem in problems:
            logger.warning("skipping seed: %s", problem)
        self.seed_urls = seeds
        self.extract = settings.getbool("STABLECOPY_EXTRACT_ENABLED")
        self.follow = (
            _truthy(given["follow"]) if "follow" in given else settings.getbool("STABLECOPY_FOLLOW")
        )
        self.depth = (
            int(given["depth"]) if "depth" in given else settings.getint("STABLECOPY_DEPTH")
        )
        self.index_depth = settings.getint("STABLECOPY_SITEMAP_INDEX_DEPTH")
        self.max_links = settings.getint("STABLECOPY_MAX_LINKS_PER_PAGE")
        self.max_listed = settings.getint("STABLECOPY_MAX_LISTED_URLS")
        allow = _split(given["allow"]) if "allow" in given else settings.getlist("STABLECOPY_ALLOW")
        deny = _split(given["deny"]) if "deny" in given else settings.getlist("STABLECOPY_DENY")
        self.allow = [re.compile(pattern) for pattern in allow]
        self.deny = [re.compile(pattern) for pattern in deny]
        self.new_links = NewLinks()
        self.requisites = Requisites(self.crawler, self.parse_requisite, self.requisite_failed)
        if not self.seed_urls and not settings.get("STABLECOPY_REDIS_URL"):
            logger.error("no valid seed URL: nothing to crawl")

    async def start(self) -> AsyncIterator[Any]:
        """Every seed is fetched as given: one that Scrapy's fingerprint would take for an earlier
        one (its query in another order, dot segments) is the user's explicit word all the same."""
        fingerprints: set[bytes] = set()
        for url in self.seed_urls:
            request = Request(
                url, callback=self.parse_seed, errback=self.fetch_failed, meta={META_HOPS: 0}
            )
            fingerprint = self.crawler.request_fingerprinter.fingerprint(request)
            if fingerprint in fingerprints:
                request = request.replace(dont_filter=True)
            fingerprints.add(fingerprint)
            yield request

    def in_scope(self, url: str) -> bool:
        """Whether a listed or linked URL passes --allow / --deny (seeds always do)."""
        if urlsplit(url).scheme.lower() not in ("http", "https"):
            return False
        if self.allow and not any(p.search(url) for p in self.allow):
            return False
        return not any(p.search(url) for p in self.deny)

    # --- callbacks -------------------------------------------------------------------------------

    def fetch_failed(self, failure: Failure) -> None:
        """A fetch that got no usable response. The archive layer has catalogued it and Scrapy's
        retry middleware has logged it; the crawl goes on."""
        logger.debug("fetch failed: %s", failure.getErrorMessage())

    def parse_seed(self, response: Response) -> Iterator[Any]:
        """A seed: a listing (sitemap, index, feed) if it reads as one, otherwise a page."""
        if self.crawler.stats and 200 <= response.status < 400:
            self.crawler.stats.inc_value(SEEDS_ANSWERED)  # robots.txt given as a seed counts
        if looks_like_xml(response.body):
            listing = read_listing(response.body, response.url)
            if listing is not None:
                yield from self._listed(listing.kind, listing.urls, response)
                return
        yield from self.parse_page(response)

    def _listed(self, kind: ListingKind, urls: Iterable[str], response: Response) -> Iterator[Any]:
        """Requests for the listed URLs in scope, made as the listing is read (a million-URL
        sitemap is fetched from while it is read, and stops being read when the crawl stops)."""
        # Listed pages are one hop from their listing, and always captured whatever --depth says;
        # the sitemaps an index lists are listings themselves, at the index's own hop, and one
        # level deeper in indexes, which nest at most STABLECOPY_SITEMAP_INDEX_DEPTH deep.
        hops = response.meta.get(META_HOPS, 0)
        nesting = response.meta.get(META_NESTING, 0)
        callback = self.parse_seed
        if kind is ListingKind.SITEMAP_INDEX:
            if nesting >= self.index_depth:
                logger.warning(
                    "sitemap index %s is nested %d deep: its sitemaps are not fetched "
                    "(STABLECOPY_SITEMAP_INDEX_DEPTH is %d)",
                    response.url,
                    nesting + 1,
                    self.index_depth,
                )
                return
            nesting += 1
        else:
            callback, hops = self.parse_page, hops + 1
        listed = 0
        for url in urls:
            if self._stopping():
                break
            if not self.in_scope(url):
                continue
            if self.max_listed and listed >= self.max_listed:
                logger.warning(
                    "%s %s lists more than %d URLs (STABLECOPY_MAX_LISTED_URLS): the rest are "
                    "not fetched",
                    kind,
                    response.url,
                    self.max_listed,
                )
                break
            listed += 1
            yield Request(
                url,
                callback=callback,
                errback=self.fetch_failed,
                meta={META_HOPS: hops, META_NESTING: nesting},
            )
        logger.info("%s %s lists %d URLs in scope", kind, response.url, listed)
        if self.crawler.stats:
            self.crawler.stats.inc_value(f"stablecopy/listed/{kind}", listed)

    def _stopping(self) -> bool:
        """Whether the crawl is closing (stopped, or a CLOSESPIDER limit reached): a listing or a
        page's links stop being read. Scrapy says the latter only on its engine's slot."""
        engine = self.crawler.engine
        if engine is None or not engine.running:
            return True
        slot = getattr(engine, "_slot", None)
        return slot is not None and slot.closing is not None

    def parse_page(self, response: Response) -> Iterator[Any]:
        """An archived page: fetch what it needs to render, follow its in-site links when asked,
        and hand HTML to extraction.

        Requisites and links go first: Scrapy handles one callback's output in order, and the page
        waits for its clean text, which must not hold back the crawl's discovery of new pages.
        """
        if not isinstance(response, HtmlResponse):
            return
        # One parse for requisites and links, not cached on the response: a page waiting for its
        # clean text would hold its tree (ten times its size) in memory all that time.
        root = Selector(response=response).root
        yield from self.requisites.of_document(response, root)
        yield from self._followed(response, root)
        page = self._page(response)
        if page is not None:
            yield page

    def parse_requisite(self, response: Response) -> Iterator[Request]:
        """An archived requisite: an embedded document or a stylesheet has requisites of its own.
        No links are followed from it and it gets no clean text."""
        yield from self.requisites.of_requisite(response)

    def requisite_failed(self, failure: Failure) -> None:
        """A requisite not fetched: recorded as skipped if refused before it went out."""
        self.requisites.failed(failure)

    def _page(self, response: HtmlResponse) -> Page | None:
        # Clean text only of whole pages (a truncated body would give a truncated article), and
        # only of new content: a revisit's text is its original's, and a resumed crawl's earlier
        # captures keep the text they have.
        record_id = response.meta.get(meta.RECORD_ID)
        whole = not response.meta.get(meta.TRUNCATED)
        new = not response.meta.get(meta.REVISIT) and not response.meta.get(meta.TEXT_DONE)
        if not (self.extract and record_id and whole and new and 200 <= response.status < 300):
            return None
        encoding = response.meta.get(meta.TEXT_ENCODING)  # found by crawl.decoding, if it ran
        if encoding:
            html = response.body.decode(encoding, "replace")
        else:
            content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
            html = page_text(response.body, content_type)
        return Page(
            url=response.url,
            record_id=record_id,
            html=html,
            decoding=response.meta.get(meta.DECODING),
        )

    def _followed(self, response: HtmlResponse, root: Any) -> Iterator[Request]:
        hops = response.meta.get(META_HOPS, 0)
        if not self.follow or hops >= self.depth:
            return
        # The site whose links are followed: inherited from the linking page; a seed, or a page a
        # sitemap or feed lists, starts its own site: its host and every host it redirected through.
        hosts = set(response.meta.get(META_HOSTS, ()))
        if not hosts:
            chain = [*response.meta.get("redirect_urls", []), response.url]
            hosts = {urlsplit(url).hostname or "" for url in chain} - {""}

        def wanted(url: str) -> bool:
            return urlsplit(url).hostname in hosts and self.in_scope(url)

        site = tuple(sorted(hosts))  # one tuple shared by the page's requests waiting in the queue
        for followed, url in enumerate(self.new_links(response, wanted, root)):
            if self._stopping():
                return
            if self.max_links and followed >= self.max_links:
                logger.warning(
                    "%s has more than %d new links (STABLECOPY_MAX_LINKS_PER_PAGE): the rest are "
                    "not followed from it",
                    response.url,
                    self.max_links,
                )
                return
            yield Request(
                url,
                callback=self.parse_page,
                errback=self.fetch_failed,
                meta={META_HOPS: hops + 1, META_HOSTS: site},
            )

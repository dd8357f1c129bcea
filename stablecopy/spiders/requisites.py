"""Requisites: the requests for what an archived document needs to render, and their limits.

A page (or an embedded document, or a stylesheet) is read for its requisites (see
stablecopy.requisites); each is requested from whatever host serves it, ahead of further pages,
never counted as a link hop and never given clean text. Scrapy's duplicate filter fetches each URL
once per crawl; robots.txt and per-host politeness apply as to any fetch. Ad and tracker hosts,
media streams, documents embedded deeper than STABLECOPY_EMBED_DEPTH and bodies larger than
STABLECOPY_REQUISITE_MAX_SIZE are skipped, and said to be. What each document needs is sent to
the catalogue (signal requisites_found), which links it to the document's capture.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy import signals as scrapy_signals
from scrapy.exceptions import IgnoreRequest, StopDownload
from scrapy.http import HtmlResponse, Response
from scrapy.selector import Selector
from scrapy.utils.response import get_base_url
from w3lib.encoding import http_content_type_encoding

from stablecopy import signals as sc_signals
from stablecopy.archive import meta
from stablecopy.events import SKIPPED_FETCH, FetchFailed, RequisitesFound
from stablecopy.requisites.blocklist import HostBlocklist
from stablecopy.requisites.markup import in_markup
from stablecopy.requisites.requisite import (
    EMBED,
    SKIPPED_BLOCKED,
    SKIPPED_EMBED_DEPTH,
    SKIPPED_MEDIA,
    STYLESHEET,
    Requisite,
)
from stablecopy.requisites.stylesheet import in_stylesheet

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http.headers import Headers
    from twisted.python.failure import Failure

logger = logging.getLogger(__name__)

META_KIND = meta.REQUISITE  # the kind of requisite a request fetches
META_EMBED = "stablecopy_embed_depth"  # how deep in iframes the requesting document is
META_NESTING = "stablecopy_import_nesting"  # how deep in @imports the requesting stylesheet is
MAX_IMPORT_NESTING = 8  # stylesheets importing stylesheets: real sites nest two or three
PRIORITY = 10  # ahead of pages: a copy is coherent when its requisites are fetched with it
_STREAM_TYPES = ("video/", "audio/", "application/vnd.apple.mpegurl", "application/x-mpegurl",
                 "application/dash+xml")  # fmt: skip
_STREAM_EXTENSIONS = (".mp4", ".m4v", ".webm", ".mov", ".mkv", ".avi", ".m3u8", ".mpd", ".mp3",
                      ".m4a", ".ogg", ".oga", ".ogv", ".wav", ".flac", ".aac", ".opus")  # fmt: skip


class Requisites:
    """Makes the requisite requests of archived documents (see the module's docstring)."""

    def __init__(
        self,
        crawler: Crawler,
        callback: Callable[[Response], Any],
        errback: Callable[[Failure], Any],
    ) -> None:
        """`callback` and `errback` are the spider's own methods (a request that waits on disk
        or in Redis names them), which hand what they get to of_requisite() and failed()."""
        settings = crawler.settings
        self.crawler = crawler
        self.enabled = settings.getbool("STABLECOPY_REQUISITES")
        self.embed_depth = settings.getint("STABLECOPY_EMBED_DEPTH")
        self.max_size = settings.getint("STABLECOPY_REQUISITE_MAX_SIZE")
        self.max_per_document = settings.getint("STABLECOPY_MAX_REQUISITES_PER_PAGE")
        self.blocklist = HostBlocklist.from_settings(settings)
        self.callback = callback
        self.errback = errback
        if self.enabled:
            crawler.signals.connect(self.headers_received, signal=scrapy_signals.headers_received)
            crawler.signals.connect(self.bytes_received, signal=scrapy_signals.bytes_received)

    # --- what a response needs -------------------------------------------------------------------

    def of_document(self, response: HtmlResponse, root: Any = None) -> Iterator[Request]:
        """The requisites of a page or an embedded document (`root`: its parsed tree, if made)."""
        if not self.enabled:
            return
        depth = response.meta.get(META_EMBED, 0)
        tree = root if root is not None else Selector(response=response).root
        found = in_markup(tree, get_base_url(response), response.encoding)
        yield from self._requested(response, found, {META_EMBED: depth, META_NESTING: 0})

    def of_requisite(self, response: Response) -> Iterator[Request]:
        """The requisites of a fetched requisite: an embedded document's, or a stylesheet's."""
        kind = response.meta.get(META_KIND)
        if not self.enabled or response.status >= 300:
            return
        if kind == EMBED and isinstance(response, HtmlResponse):
            yield from self.of_document(response)
            return
        content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1").lower()
        if "css" in content_type or (kind == STYLESHEET and "html" not in content_type):
            nesting = response.meta.get(META_NESTING, 0) + 1
            if nesting > MAX_IMPORT_NESTING:
                logger.warning("%s: stylesheets nested too deep, not followed", response.url)
                return
            charset = http_content_type_encoding(content_type)
            found = in_stylesheet(response.body, response.url, charset)
            meta_ = {META_EMBED: response.meta.get(META_EMBED, 0), META_NESTING: nesting}
            yield from self._requested(response, found, meta_)

    def _requested(
        self, response: Response, found: Iterable[Requisite], inherited: dict[str, int]
    ) -> Iterator[Request]:
        listed: list[Requisite] = []
        for requisite in found:
            if len(listed) >= self.max_per_document:
                logger.warning(
                    "%s needs more than %d requisites (STABLECOPY_MAX_REQUISITES_PER_PAGE): the "
                    "rest are not fetched",
                    response.url,
                    self.max_per_document,
                )
                break
            requisite = self._vetted(requisite, inherited[META_EMBED])
            listed.append(requisite)
            if requisite.skipped:
                continue
            depth = inherited[META_EMBED] + (1 if requisite.kind == EMBED else 0)
            yield Request(
                requisite.url,
                callback=self.callback,
                errback=self.errback,
                priority=PRIORITY,
                meta={META_KIND: requisite.kind, META_EMBED: depth,
                      META_NESTING: inherited[META_NESTING]},
            )  # fmt: skip
        record_id = response.meta.get(meta.RECORD_ID)
        if record_id and listed:
            event = RequisitesFound(record_id, response.url, tuple(listed))
            self.crawler.signals.send_catch_log(sc_signals.requisites_found, found=event)
        if self.crawler.stats and listed:
            self.crawler.stats.inc_value("stablecopy/requisites/found", len(listed))

    def _vetted(self, requisite: Requisite, depth: int) -> Requisite:
        """The requisite, marked skipped if it is not to be fetched."""
        if requisite.skipped:
            return requisite
        parts = urlsplit(requisite.url)
        why = None
        if self.blocklist.blocks(parts.hostname):
            why = SKIPPED_BLOCKED
        elif parts.path.lower().endswith(_STREAM_EXTENSIONS):
            why = SKIPPED_MEDIA
        elif requisite.kind == EMBED and depth >= self.embed_depth:
            why = SKIPPED_EMBED_DEPTH
        return Requisite(requisite.url, requisite.kind, why) if why else requisite

    # --- while fetching ----------------------------------------------------------------------------

    def headers_received(self, headers: Headers, body_length: int | str, request: Request) -> None:
        """Stop a requisite that is a stream or announces more than the size limit."""
        if META_KIND not in request.meta:
            return
        content_type = (headers.get(b"Content-Type") or b"").decode("latin-1").lower().strip()
        if content_type.startswith(_STREAM_TYPES):
            self._skip(request, f"{SKIPPED_MEDIA} ({content_type.split(';')[0]})")
        if isinstance(body_length, int) and 0 < self.max_size < body_length:
            self._skip(request, f"too large: {body_length} bytes (STABLECOPY_REQUISITE_MAX_SIZE "
                                f"is {self.max_size})")  # fmt: skip

    def bytes_received(self, data: bytes, request: Request) -> None:
        if META_KIND in request.meta and 0 < self.max_size < request.meta.get(meta.RECEIVED, 0):
            self._skip(request, f"too large: over {self.max_size} bytes "
                                "(STABLECOPY_REQUISITE_MAX_SIZE)")  # fmt: skip

    def _skip(self, request: Request, why: str) -> None:
        request.meta[meta.SKIPPED] = why
        raise StopDownload(fail=True)

    def failed(self, failure: Failure) -> None:
        """A requisite not fetched. The archive has recorded failures and stopped downloads;
        a request refused before it went out (robots.txt) is recorded here, as skipped."""
        request = getattr(failure, "request", None)
        if request is None or not failure.check(IgnoreRequest):
            logger.debug("requisite not fetched: %s", failure.getErrorMessage())
            return
        skipped = FetchFailed(
            url=request.url.split("#", 1)[0],
            method=request.method,
            failed_at=datetime.now(UTC),
            error_type=SKIPPED_FETCH,
            message=str(failure.value) or "ignored",
        )
        self.crawler.signals.send_catch_log(sc_signals.fetch_failed, failure=skipped)

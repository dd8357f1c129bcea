"""WarcCapture: the downloader middleware that archives every HTTP exchange, and the clean text of pages.

Sits next to the downloader (priority 950), so it sees each redirect hop, each retry and robots.txt,
with bodies still content-encoded as received. It writes WARC records, then announces what it wrote
on stablecopy signals; it never talks to the catalogue directly. Whether a fetch is a revisit is
RevisitPolicy's decision (revisits.py); responses read back from the archive are ReadBack's
(readback.py); the clean-text records are textrecords.py's.
"""

from __future__ import annotations

import errno
import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from scrapy import signals as scrapy_signals
from scrapy.exceptions import IgnoreRequest, StopDownload
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.httpobj import urlparse_cached

from stablecopy import signals as sc_signals
from stablecopy.archive import meta, records
from stablecopy.archive.readback import ReadBack
from stablecopy.archive.revisits import NOT_MODIFIED, Decision, RevisitPolicy
from stablecopy.archive.textrecords import write_text_records
from stablecopy.archive.warcinfo import CrawlInfo
from stablecopy.archive.writer import ClosedFile, WarcWriter
from stablecopy.events import (
    SKIPPED_FETCH,
    Captured,
    CrawlOpened,
    ExtractedText,
    FetchFailed,
    PriorCapture,
    PriorCaptureQuery,
    RecordLocation,
    WarcFileClosed,
)
from stablecopy.labels import label_hex
from stablecopy.layout import DataLayout

if TYPE_CHECKING:
    from pathlib import Path
    from typing import Self

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

    from stablecopy.archive.wire import WireExchange
    from stablecopy.archive.writer import Written

logger = logging.getLogger(__name__)

_ARCHIVED_SCHEMES = ("http", "https")
_FATAL_ERRNOS = {
    errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO, errno.EACCES, errno.EPERM,
}  # fmt: skip


def _now() -> datetime:
    return datetime.now(UTC)


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


class WarcCapture:
    """Downloader middleware writing request/response records; also writes conversion records."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.layout = DataLayout.from_settings(settings)
        self._relative: tuple[Path, str] | None = None  # the file being written, as catalogued
        self.max_response_size = settings.getint("STABLECOPY_MAX_RESPONSE_SIZE")
        self.download_maxsize = settings.getint("DOWNLOAD_MAXSIZE")
        self.redact = settings.getlist("STABLECOPY_REDACT_HEADERS")
        self.crawl_id: int = settings.getint("STABLECOPY_CRAWL_ID")
        self.revisits = RevisitPolicy(
            settings.get("STABLECOPY_REVISITS") or "off",
            settings.getbool("STABLECOPY_CONDITIONAL_REQUESTS"),
            self._prior,
        )
        self.resuming = settings.getbool("STABLECOPY_RESUME")
        self.readback = ReadBack(self.layout, crawler.signals, crawler.stats)
        self.info = CrawlInfo.from_settings(settings)
        self.writer = WarcWriter.from_settings(
            settings,
            self.layout.warc_dir,
            warcinfo_fields=lambda _filename: self.info.fields(self.crawl_id),
            on_close=self._file_closed,
        )
        self.failed = False
        self.closed = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        capture = cls(crawler)
        connect = crawler.signals.connect
        connect(capture.headers_received, signal=scrapy_signals.headers_received)
        connect(capture.bytes_received, signal=scrapy_signals.bytes_received)
        connect(capture.spider_closed, signal=scrapy_signals.spider_closed)
        connect(capture.crawl_opened, signal=sc_signals.crawl_opened)
        connect(capture.text_extracted, signal=sc_signals.text_extracted)
        connect(capture.catalog_committing, signal=sc_signals.catalog_committing)
        return capture

    # --- signals ---------------------------------------------------------------------------------

    def crawl_opened(self, event: CrawlOpened) -> None:
        self.crawl_id = event.crawl_id

    def headers_received(self, body_length: int | str, request: Request) -> None:
        """Stamp when the exchange began: now, less the time it took the headers to arrive."""
        latency = request.meta.get("download_latency", 0.0)
        request.meta[meta.BEGAN] = _now() - timedelta(seconds=latency)
        request.meta[meta.RECEIVED] = 0
        # body_length is the announced Content-Length, or Twisted's UNKNOWN_LENGTH marker (a str).
        if isinstance(body_length, int) and 0 < self.download_maxsize < body_length:
            # Scrapy would cancel this download outright; archive its headers, marked truncated.
            request.meta[meta.TRUNCATED] = "length"
            raise StopDownload(fail=False)

    def bytes_received(self, data: bytes, request: Request) -> None:
        received = request.meta.get(meta.RECEIVED, 0) + len(data)
        request.meta[meta.RECEIVED] = received
        if self.max_response_size and received > self.max_response_size:
            request.meta[meta.TRUNCATED] = "length"
            raise StopDownload(fail=False)

    def catalog_committing(self) -> None:
        try:
            self.writer.sync()
        except OSError as exc:
            self._write_failed("syncing the WARC file to disk", exc)

    def spider_closed(self) -> None:
        # Nothing is written after this: a crawl stopped at once (Ctrl-C twice) may still hear of
        # a response or a clean text while its reactor winds down, which would open a new file.
        self.closed = True
        try:
            self.writer.close()
        except OSError as exc:
            self._write_failed("closing the WARC file", exc)

    # --- downloader middleware -------------------------------------------------------------------

    def process_request(self, request: Request) -> Response | None:
        """Forget what a previous fetch left (redirects and retries copy meta and headers over).
        When resuming, answer from the archive what this crawl already captured. Otherwise let
        the revisit policy look up the last capture of this URL and ask conditionally."""
        for key in meta.PER_FETCH:
            request.meta.pop(key, None)
        self.revisits.forget(request)
        if request.meta.pop(meta.DECODE_LIMIT, False):
            request.meta.pop("download_maxsize", None)
        if urlparse_cached(request).scheme not in _ARCHIVED_SCHEMES:
            return None
        if self.resuming and request.method == "GET":
            served = self.readback.served(request, self.crawl_id)
            if served is not None:
                return served
        self.revisits.prepare(request)
        return None

    def process_response(self, request: Request, response: Response) -> Request | Response:
        if self.max_response_size and "download_maxsize" not in request.meta:
            # Scrapy decodes gzip/deflate bodies after this middleware: expanding them no further
            # than an archived body may be long keeps gzip bombs from filling memory.
            request.meta["download_maxsize"] = self.max_response_size
            request.meta[meta.DECODE_LIMIT] = True
        if "cached" in response.flags or urlparse_cached(request).scheme not in _ARCHIVED_SCHEMES:
            return response
        if self.failed or self.closed:  # the archive cannot be written, or is closed: what is
            # still in flight is not kept
            if self.crawler.stats:
                self.crawler.stats.inc_value("stablecopy/not_archived")
            return response
        decision = self.revisits.decide(request, response)
        try:
            captured = self._archive(request, response, decision)
        except OSError as exc:
            self._write_failed(f"archiving {response.url}", exc)
            return response
        request.meta[meta.RECORD_ID] = captured.record_id
        request.meta[meta.TRUNCATED] = captured.truncated
        if captured.revisit_profile:
            request.meta[meta.REVISIT] = captured.revisit_profile
        self.crawler.signals.send_catch_log(sc_signals.capture_archived, capture=captured)
        if decision.profile == NOT_MODIFIED and decision.original is not None:
            return self.readback.restored(request, response, decision.original)
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        if isinstance(exception, IgnoreRequest):
            return
        if urlparse_cached(request).scheme not in _ARCHIVED_SCHEMES:
            return
        stats = self.crawler.stats
        skipped = request.meta.get(meta.SKIPPED)
        if stats:
            stats.inc_value("stablecopy/skipped" if skipped else "stablecopy/fetch_failures")
        failure = FetchFailed(
            url=records.without_fragment(request.url),
            method=request.method,
            failed_at=_now(),
            error_type=SKIPPED_FETCH if skipped else type(exception).__name__,
            message=skipped or str(exception) or type(exception).__name__,
        )
        self.crawler.signals.send_catch_log(sc_signals.fetch_failed, failure=failure)

    def _prior(self, query: PriorCaptureQuery) -> PriorCapture | None:
        """The catalogue's answer to `query` (there is none when no catalogue is listening)."""
        answers = self.crawler.signals.send_catch_log(
            sc_signals.prior_capture_requested, query=query
        )
        for _receiver, answer in answers:
            if isinstance(answer, PriorCapture):
                return answer
        return None

    # --- writing ---------------------------------------------------------------------------------

    def _exchange(self, request: Request, response: Response) -> records.Exchange:
        truncated = request.meta.get(meta.TRUNCATED)
        body = response.body
        if truncated == "length" and self.max_response_size:
            body = body[: self.max_response_size]
        elif "dataloss" in response.flags:
            truncated = "disconnect"
        began = request.meta.get(meta.BEGAN)
        if began is None:
            began = _now() - timedelta(seconds=request.meta.get("download_latency", 0.0))
        kept: WireExchange | None = request.meta.get(meta.WIRE)
        if kept is not None and kept.head is None:
            kept = None
        ip_address = str(response.ip_address) if response.ip_address else None
        return records.Exchange(
            url=request.url,
            method=request.method,
            request_headers=[(k, v) for k, values in request.headers.items() for v in values],
            request_body=request.body,
            protocol=response.protocol or "HTTP/1.1",
            status=response.status,
            response_headers=[(k, v) for k, values in response.headers.items() for v in values],
            body=body,
            began_at=began,
            ip_address=ip_address or (kept.ip_address if kept else None),
            truncated=truncated,
            request_wire=kept.request_head if kept else None,
            response_wire=kept.head if kept else None,
            peer_certificates=kept.peer_certificates if kept else None,
            resource_type=request.meta.get(meta.REQUISITE),
        )

    def _archive(self, request: Request, response: Response, decision: Decision) -> Captured:
        """Write the request record and a response record, or, when the policy decided so, a
        revisit record standing for the original's payload."""
        original, profile = decision.original, decision.profile
        exchange = self._exchange(request, response)
        response_id, request_id = records.new_record_id(), records.new_record_id()
        stored = 0 if profile else len(exchange.body)
        warcinfo_id = self.writer.reserve(stored + 4096)
        built_request = records.request_record(
            exchange, request_id, response_id, warcinfo_id, self.redact
        )
        if original is not None and profile is not None:
            built = records.revisit_record(
                exchange, response_id, request_id, warcinfo_id, profile,
                records.Original(
                    original.record_id, original.url, original.fetched_at, original.payload_digest
                ),
            )  # fmt: skip
        else:
            built = records.response_record(exchange, response_id, request_id, warcinfo_id)
        placed = self.writer.write([built_request, built])
        self._count_written(placed)
        content_type = response.headers.get(b"Content-Type")
        location_header = response.headers.get(b"Location")
        stats = self.crawler.stats
        if stats:
            stats.inc_value("stablecopy/captures")
            if profile:
                stats.inc_value("stablecopy/revisits")
            if exchange.truncated:
                stats.inc_value("stablecopy/truncated")
        payload_digest = built.payload_digest or ""
        return Captured(
            url=records.without_fragment(exchange.url),
            method=exchange.method,
            fetched_at=exchange.began_at,
            status=exchange.status,
            content_type=content_type.decode("latin-1") if content_type else None,
            payload_sha256=label_hex(payload_digest),
            payload_digest=payload_digest,
            block_digest=built.block_digest,
            payload_length=original.payload_length if original else len(exchange.body),
            truncated=exchange.truncated,
            ip_address=exchange.ip_address,
            record_id=response_id,
            request_record_id=request_id,
            location=self._location(placed[1]),
            request_location=self._location(placed[0]),
            redirect_to=(
                response.urljoin(location_header.decode("latin-1")) if location_header else None
            ),
            record_type="revisit" if profile else "response",
            revisit_profile=profile,
            refers_to=original.record_id if original else None,
            etag=_header(response, b"ETag") or (original.etag if original else None),
            last_modified=_header(response, b"Last-Modified")
            or (original.last_modified if original else None),
            requisite=request.meta.get(meta.REQUISITE),
        )

    def text_extracted(self, text: ExtractedText) -> None:
        """Archive an extraction: the text as a conversion record, how it was made as metadata."""
        if self.failed or self.closed:
            return
        try:
            archived, placed = write_text_records(self.writer, text, self._location)
        except OSError as exc:
            self._write_failed(f"archiving the clean text of {text.url}", exc)
            return
        self._count_written(placed)
        self.crawler.signals.send_catch_log(sc_signals.text_archived, text=archived)

    def _location(self, written: Written) -> RecordLocation:
        if self._relative is None or self._relative[0] is not written.path:
            self._relative = (written.path, self.layout.relative(written.path))
        return RecordLocation(self._relative[1], written.offset, written.length)

    def _count_written(self, placed: list[Written]) -> None:
        stats = self.crawler.stats
        if stats:
            stats.inc_value("stablecopy/warc_records", len(placed))
            stats.inc_value("stablecopy/warc_bytes", sum(w.length for w in placed))

    def _file_closed(self, closed: ClosedFile) -> None:
        stats = self.crawler.stats
        if stats:
            stats.inc_value("stablecopy/warc_files")
        logger.info("closed WARC file %s (%d bytes)", closed.path, closed.size)
        event = WarcFileClosed(
            warc_file=self.layout.relative(closed.path),
            size=closed.size,
            sha256=closed.sha256,
            records=closed.records,
            opened_at=closed.opened_at,
            closed_at=closed.closed_at,
        )
        self.crawler.signals.send_catch_log(sc_signals.warc_file_closed, file=event)

    def _write_failed(self, what: str, exc: OSError) -> None:
        """A failed write is loud once: logged, counted, and fatal when the disk itself is the
        problem. After that, what is still in flight is not written (and said so in the stats)."""
        stats = self.crawler.stats
        if stats:
            stats.inc_value("stablecopy/warc_write_errors")
        if exc.errno not in _FATAL_ERRNOS:
            logger.error("WARC write failed while %s: %s", what, exc)
            return
        if self.failed:
            logger.debug("not archived after the archive failed: %s (%s)", what, exc)
            return
        self.failed = True
        reason = exc.strerror or str(exc)
        if stats:
            stats.set_value("stablecopy/write_error", reason)
        logger.error("cannot write the archive while %s (%s); stopping the crawl", what, exc)
        engine = self.crawler.engine
        if engine is not None and engine.spider is not None:
            closing = deferred_from_coro(engine.close_spider_async(reason="warc_write_failed"))
            closing.addErrback(lambda failure: logger.error("could not stop: %s", failure))

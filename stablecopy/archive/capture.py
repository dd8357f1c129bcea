"""WarcCapture: the downloader middleware that archives every HTTP exchange, and the clean text of pages.

Sits next to the downloader (priority 950), so it sees each redirect hop, each retry and robots.txt,
with bodies still content-encoded as received. It writes WARC records, then announces what it wrote
on stablecopy signals; it never talks to the catalogue directly.
"""

from __future__ import annotations

import errno
import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from scrapy import signals as scrapy_signals
from scrapy.exceptions import IgnoreRequest, StopDownload
from scrapy.http import Headers
from scrapy.responsetypes import responsetypes
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.httpobj import urlparse_cached

from stablecopy import signals as sc_signals
from stablecopy.archive import records
from stablecopy.archive.deflate import GzipCodec
from stablecopy.archive.digests import sha256_hex
from stablecopy.archive.reader import RecordReadError, read_record
from stablecopy.archive.warcinfo import CrawlInfo, extraction_fields
from stablecopy.archive.writer import ClosedFile, WarcWriter
from stablecopy.events import (
    ArchivedResponse,
    ArchivedResponseQuery,
    ArchivedText,
    Captured,
    CrawlOpened,
    ExtractedText,
    FetchFailed,
    PriorCapture,
    PriorCaptureQuery,
    RecordLocation,
    WarcFileClosed,
)
from stablecopy.extract.result import ExtractStatus
from stablecopy.labels import label_hex
from stablecopy.layout import DataLayout, UnsafePathError

if TYPE_CHECKING:
    from pathlib import Path
    from typing import Self

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

    from stablecopy.archive.writer import Written

logger = logging.getLogger(__name__)

META_BEGAN = "stablecopy_began_at"
META_RECEIVED = "stablecopy_received"
META_TRUNCATED = "stablecopy_truncated"
META_RECORD_ID = "stablecopy_record_id"
META_PRIOR = "stablecopy_prior"  # the PriorCapture this fetch is compared with
META_CONDITIONAL = "stablecopy_conditional"  # the conditional request headers this middleware added
META_REVISIT = "stablecopy_revisit"  # the revisit profile, when the fetch was archived as a revisit
META_DECODE_LIMIT = "stablecopy_decode_limit"  # this middleware set download_maxsize (decoding)
META_TEXT_DONE = "stablecopy_text_done"  # served from the archive, its clean text already made
REVISIT_FLAG = "revisit"  # response flag: a 304 answered with the archived original's content
ARCHIVED_FLAG = "archived"  # response flag: a resumed crawl's earlier capture, read back
_PER_FETCH = (
    META_BEGAN, META_RECEIVED, META_TRUNCATED, META_RECORD_ID, META_PRIOR, META_REVISIT,
    META_TEXT_DONE,
)  # fmt: skip
REVISIT_SCOPES = ("url", "any", "off")

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
        self.revisits = (settings.get("STABLECOPY_REVISITS") or "off").strip().lower()
        if self.revisits not in REVISIT_SCOPES:
            raise ValueError(
                f"STABLECOPY_REVISITS must be one of {', '.join(REVISIT_SCOPES)}, "
                f"not {self.revisits!r}"
            )
        self.conditional = self.revisits != "off" and settings.getbool(
            "STABLECOPY_CONDITIONAL_REQUESTS"
        )
        self.resuming = settings.getbool("STABLECOPY_RESUME")
        self.info = CrawlInfo(
            operator=settings.get("STABLECOPY_OPERATOR") or "",
            contact=settings.get("STABLECOPY_CONTACT_URL") or "",
            description=settings.get("STABLECOPY_DESCRIPTION") or "",
            obeys_robots=settings.getbool("ROBOTSTXT_OBEY"),
            user_agent=settings.get("USER_AGENT") or "",
            redacted_headers=tuple(self.redact),
            max_response_size=self.max_response_size,
        )
        self.writer = WarcWriter(
            directory=self.layout.warc_dir,
            prefix=settings.get("STABLECOPY_WARC_PREFIX"),
            max_size=settings.getint("STABLECOPY_WARC_MAX_SIZE"),
            gzip=GzipCodec.chosen(
                settings.get("STABLECOPY_WARC_GZIP_ENGINE"),
                settings.getint("STABLECOPY_WARC_GZIP_LEVEL"),
            ),
            warcinfo_fields=lambda _filename: self.info.fields(self.crawl_id),
            on_close=self._file_closed,
        )
        self.failed = False

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
        request.meta[META_BEGAN] = _now() - timedelta(seconds=latency)
        request.meta[META_RECEIVED] = 0
        # body_length is the announced Content-Length, or Twisted's UNKNOWN_LENGTH marker (a str).
        if isinstance(body_length, int) and 0 < self.download_maxsize < body_length:
            # Scrapy would cancel this download outright; archive its headers, marked truncated.
            request.meta[META_TRUNCATED] = "length"
            raise StopDownload(fail=False)

    def bytes_received(self, data: bytes, request: Request) -> None:
        received = request.meta.get(META_RECEIVED, 0) + len(data)
        request.meta[META_RECEIVED] = received
        if self.max_response_size and received > self.max_response_size:
            request.meta[META_TRUNCATED] = "length"
            raise StopDownload(fail=False)

    def catalog_committing(self) -> None:
        try:
            self.writer.sync()
        except OSError as exc:
            self._write_failed("syncing the WARC file to disk", exc)

    def spider_closed(self) -> None:
        try:
            self.writer.close()
        except OSError as exc:
            self._write_failed("closing the WARC file", exc)

    # --- downloader middleware -------------------------------------------------------------------

    def process_request(self, request: Request) -> Response | None:
        """Forget what a previous fetch left (redirects and retries copy meta and headers over).
        When resuming, answer from the archive what this crawl already captured. Otherwise look
        up the last capture of this URL and, when it allows, ask conditionally."""
        for key in _PER_FETCH:
            request.meta.pop(key, None)
        for name in request.meta.pop(META_CONDITIONAL, ()):
            request.headers.pop(name, None)
        if request.meta.pop(META_DECODE_LIMIT, False):
            request.meta.pop("download_maxsize", None)
        if urlparse_cached(request).scheme not in _ARCHIVED_SCHEMES:
            return None
        if self.resuming and request.method == "GET":
            served = self._served_from_archive(request)
            if served is not None:
                return served
        if self.revisits == "off" or request.method != "GET":
            return None
        prior = self._prior(PriorCaptureQuery(url=records.without_fragment(request.url)))
        if prior is None:
            return None
        request.meta[META_PRIOR] = prior
        if not self.conditional or prior.status != 200:
            return None
        added = []
        for name, value in (
            ("If-None-Match", prior.etag),
            ("If-Modified-Since", prior.last_modified),
        ):
            if value and name not in request.headers:
                request.headers[name] = value
                added.append(name)
        if added:
            request.meta[META_CONDITIONAL] = tuple(added)
        return None

    def process_response(self, request: Request, response: Response) -> Request | Response:
        if self.max_response_size and "download_maxsize" not in request.meta:
            # Scrapy decodes gzip/deflate bodies after this middleware: expanding them no further
            # than an archived body may be long keeps gzip bombs from filling memory.
            request.meta["download_maxsize"] = self.max_response_size
            request.meta[META_DECODE_LIMIT] = True
        if "cached" in response.flags or urlparse_cached(request).scheme not in _ARCHIVED_SCHEMES:
            return response
        if self.failed:  # the archive cannot be written: what is still in flight is not kept
            if self.crawler.stats:
                self.crawler.stats.inc_value("stablecopy/not_archived")
            return response
        prior: PriorCapture | None = request.meta.get(META_PRIOR)
        not_modified = response.status == 304 and prior is not None
        try:
            if not_modified and prior is not None and request.meta.get(META_CONDITIONAL):
                captured = self._archive(request, response, prior, "server-not-modified")
            else:
                original = self._same_payload(request, response, prior)
                profile = "identical-payload-digest" if original else None
                captured = self._archive(request, response, original, profile)
        except OSError as exc:
            self._write_failed(f"archiving {response.url}", exc)
            return response
        request.meta[META_RECORD_ID] = captured.record_id
        request.meta[META_TRUNCATED] = captured.truncated
        if captured.revisit_profile:
            request.meta[META_REVISIT] = captured.revisit_profile
        self.crawler.signals.send_catch_log(sc_signals.capture_archived, capture=captured)
        if captured.revisit_profile == "server-not-modified" and prior is not None:
            return self._restored(request, response, prior)
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        if isinstance(exception, IgnoreRequest):
            return
        if urlparse_cached(request).scheme not in _ARCHIVED_SCHEMES:
            return
        stats = self.crawler.stats
        if stats:
            stats.inc_value("stablecopy/fetch_failures")
        failure = FetchFailed(
            url=records.without_fragment(request.url),
            method=request.method,
            failed_at=_now(),
            error_type=type(exception).__name__,
            message=str(exception) or type(exception).__name__,
        )
        self.crawler.signals.send_catch_log(sc_signals.fetch_failed, failure=failure)

    # --- revisits --------------------------------------------------------------------------------

    def _prior(self, query: PriorCaptureQuery) -> PriorCapture | None:
        """The catalogue's answer to `query` (there is none when no catalogue is listening)."""
        answers = self.crawler.signals.send_catch_log(
            sc_signals.prior_capture_requested, query=query
        )
        for _receiver, answer in answers:
            if isinstance(answer, PriorCapture):
                return answer
        return None

    def _same_payload(
        self, request: Request, response: Response, prior: PriorCapture | None
    ) -> PriorCapture | None:
        """The earlier capture whose payload this response repeats byte for byte, if any.

        Only whole, non-empty GET bodies qualify: a truncated body is not known to be identical,
        and an empty one has nothing to leave out.
        """
        if self.revisits == "off" or request.method != "GET" or not response.body:
            return None
        if request.meta.get(META_TRUNCATED) or "dataloss" in response.flags:
            return None
        if prior is None and self.revisits == "url":
            return None
        digest = sha256_hex(response.body)
        if prior is not None and prior.payload_sha256 == digest:
            return prior
        if self.revisits == "any":
            url = records.without_fragment(request.url)
            return self._prior(PriorCaptureQuery(url=url, payload_sha256=digest))
        return None

    def _restored(self, request: Request, response: Response, prior: PriorCapture) -> Response:
        """A 304 answered with the original's archived status, headers and body, so the spider
        sees the page (and its links) as if it had been sent again; flagged `revisit`."""
        restored = self._from_archive(
            request,
            prior.location,
            flags=[*response.flags, REVISIT_FLAG],
            certificate=response.certificate,
            ip_address=response.ip_address,
            protocol=response.protocol,
        )
        return restored or response

    def _from_archive(
        self,
        request: Request,
        head: RecordLocation,
        payload: RecordLocation | None = None,
        flags: list[str] | None = None,
        **extra: Any,
    ) -> Response | None:
        """A response rebuilt from archived records: status and headers from `head`, the body
        (still content-encoded, as stored) from `payload` or `head`. None if they cannot be read."""
        try:
            headed = read_record(self.layout.resolve(head.warc_file), head.offset)
            body = headed.payload
            if payload is not None:
                body = read_record(self.layout.resolve(payload.warc_file), payload.offset).payload
        except (RecordReadError, UnsafePathError) as exc:
            logger.warning("cannot read %s back from the archive: %s", request.url, exc)
            return None
        headers = Headers(list(headed.http_headers))
        cls = responsetypes.from_args(headers=headers, url=request.url, body=body)
        return cls(
            url=request.url,
            status=headed.http_status or 200,
            headers=headers,
            body=body,
            request=request,
            flags=flags or [],
            **extra,
        )

    def _served_from_archive(self, request: Request) -> Response | None:
        """When resuming: what this crawl already captured of the URL, read back from its WARC
        records and flagged `cached` (never archived again); None if it has nothing."""
        query = ArchivedResponseQuery(records.without_fragment(request.url), self.crawl_id)
        answers = self.crawler.signals.send_catch_log(
            sc_signals.archived_response_requested, query=query
        )
        answer = next((a for _, a in answers if isinstance(a, ArchivedResponse)), None)
        if answer is None:
            return None
        head, payload = answer.location, answer.payload_location
        if answer.revisit_profile == "server-not-modified" and payload is not None:
            head, payload = payload, None  # a 304 stands for its original, headers and all
        response = self._from_archive(request, head, payload, flags=["cached", ARCHIVED_FLAG])
        if response is None:
            return None
        request.meta[META_RECORD_ID] = answer.record_id
        request.meta[META_TRUNCATED] = answer.truncated
        if answer.revisit_profile:
            request.meta[META_REVISIT] = answer.revisit_profile
        if answer.has_text:
            request.meta[META_TEXT_DONE] = True
        if self.crawler.stats:
            self.crawler.stats.inc_value("stablecopy/resumed_from_archive")
        return response

    # --- writing ---------------------------------------------------------------------------------

    def _exchange(self, request: Request, response: Response) -> records.Exchange:
        truncated = request.meta.get(META_TRUNCATED)
        body = response.body
        if truncated == "length" and self.max_response_size:
            body = body[: self.max_response_size]
        elif "dataloss" in response.flags:
            truncated = "disconnect"
        began = request.meta.get(META_BEGAN)
        if began is None:
            began = _now() - timedelta(seconds=request.meta.get("download_latency", 0.0))
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
            ip_address=str(response.ip_address) if response.ip_address else None,
            truncated=truncated,
        )

    def _archive(
        self,
        request: Request,
        response: Response,
        original: PriorCapture | None = None,
        profile: str | None = None,
    ) -> Captured:
        """Write the request record and a response record, or, given an original and a profile,
        a revisit record standing for the original's payload."""
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
        )

    def text_extracted(self, text: ExtractedText) -> None:
        """Archive an extraction: the text as a conversion record, how it was made as metadata."""
        if self.failed:
            return
        result = text.result
        now = _now()
        try:
            warcinfo_id = self.writer.reserve(len(result.text_bytes) + 4096)
            group = []
            conversion = None
            if result.status is ExtractStatus.OK:
                conversion = records.conversion_record(
                    text.url, result.text, text.record_id, records.new_record_id(), now, warcinfo_id
                )
                group.append(conversion)
            fields = extraction_fields(
                result,
                conversion.payload_digest if conversion else None,
                conversion.record_id if conversion else None,
            )
            metadata = records.metadata_record(
                text.url, fields, text.record_id, records.new_record_id(), now, warcinfo_id
            )
            group.append(metadata)
            placed = self.writer.write(group)
        except OSError as exc:
            self._write_failed(f"archiving the clean text of {text.url}", exc)
            return
        self._count_written(placed)
        archived = ArchivedText(
            record_id=text.record_id,
            url=records.without_fragment(text.url),
            result=result,
            text_sha256=label_hex(conversion.payload_digest)
            if conversion and conversion.payload_digest
            else None,
            conversion_record_id=conversion.record_id if conversion else None,
            conversion=self._location(placed[0]) if conversion else None,
            metadata_record_id=metadata.record_id,
            metadata=self._location(placed[-1]),
        )
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

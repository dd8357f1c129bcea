"""CatalogRecorder: the Scrapy extension that writes what the archive reports into the catalogue.

It creates (or joins) the crawl row, turns stablecopy events into rows, and commits in small
batches: a row is only ever written for a record the archive has already flushed to its file.
Knows nothing of warcio.
"""

from __future__ import annotations

import logging
import os
import platform
import socket
from collections import OrderedDict
from datetime import UTC, datetime
from importlib.metadata import version
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from scrapy import signals as scrapy_signals
from scrapy.utils.defer import deferred_from_coro
from sqlalchemy import event, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from twisted.internet.task import LoopingCall

from stablecopy import __version__
from stablecopy import signals as sc_signals
from stablecopy.catalog import files, queries
from stablecopy.catalog.history import run_summary, store_summary
from stablecopy.catalog.keys import url_key
from stablecopy.catalog.known import KnownKeys
from stablecopy.catalog.models import (
    Capture,
    Crawl,
    CrawlStatus,
    FetchFailure,
    RequisiteLink,
    WarcFile,
)
from stablecopy.catalog.rows import (
    capture_by_record_id,
    capture_row,
    extraction_row,
    pending_short_id,
    recount,
    redoable,
    settle_short_ids,
    warc_file_row,
)
from stablecopy.catalog.session import CatalogError, open_catalog, session_factory
from stablecopy.events import (
    ArchivedResponse,
    ArchivedResponseQuery,
    ArchivedText,
    Captured,
    CrawlOpened,
    FetchFailed,
    PriorCapture,
    PriorCaptureQuery,
    RecordLocation,
    RequisitesFound,
    WarcFileClosed,
    WarcFileStored,
)
from stablecopy.layout import DataLayout

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings
    from scrapy.spiders import Spider

logger = logging.getLogger(__name__)

COMMIT_EVERY = 200  # rows
COMMIT_INTERVAL = 1.0  # seconds
RECENT_CAPTURES = 1_000  # captures kept at hand to link their texts without a query: more than
# Scrapy holds waiting for extraction at once (its scraper slot, ~5 MB of responses, 1 MB here)
_SNAPSHOT_KEYS = (
    "ROBOTSTXT_OBEY", "USER_AGENT", "CONCURRENT_REQUESTS", "CONCURRENT_REQUESTS_PER_DOMAIN",
    "AUTOTHROTTLE_ENABLED", "AUTOTHROTTLE_START_DELAY", "AUTOTHROTTLE_MAX_DELAY",
    "AUTOTHROTTLE_TARGET_CONCURRENCY", "DOWNLOAD_DELAY", "DOWNLOAD_TIMEOUT", "DOWNLOAD_MAXSIZE",
    "RETRY_TIMES", "COOKIES_ENABLED", "DEPTH_LIMIT",
)  # fmt: skip


def settings_snapshot(settings: BaseSettings) -> dict[str, Any]:
    """The settings that shaped a crawl, JSON-safe, without database passwords."""
    snapshot: dict[str, Any] = {}
    for key, value in settings.copy_to_dict().items():
        if key.startswith("STABLECOPY_") or key in _SNAPSHOT_KEYS:
            snapshot[key] = (
                value
                if isinstance(value, str | int | float | bool | type(None))
                else (list(value) if isinstance(value, list | tuple) else str(value))
            )
    if snapshot.get("STABLECOPY_DB_URL"):
        snapshot["STABLECOPY_DB_URL"] = make_url(snapshot["STABLECOPY_DB_URL"]).render_as_string(
            hide_password=True
        )
    if snapshot.get("STABLECOPY_REDIS_URL"):
        snapshot["STABLECOPY_REDIS_URL"] = _without_password(snapshot["STABLECOPY_REDIS_URL"])
    return snapshot


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = f"{parts.username or ''}:***@"
    host = parts.hostname or ""
    netloc = f"{user}{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def crawl_status(reason: str) -> CrawlStatus:
    """What a Scrapy close reason means for the crawl row."""
    if reason == "finished" or reason.startswith("closespider_"):
        return CrawlStatus.FINISHED
    if reason == "shutdown":
        return CrawlStatus.INTERRUPTED
    return CrawlStatus.FAILED


def software_versions() -> dict[str, str]:
    versions = {"stablecopy": __version__, "python": platform.python_version()}
    for dist in ("scrapy", "twisted", "warcio", "trafilatura", "lxml", "sqlalchemy", "alembic"):
        versions[dist] = version(dist)
    return versions


class CatalogRecorder:
    """Records crawls, captures, failed fetches, extractions and closed WARC files."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.layout = DataLayout.from_settings(settings)
        self.engine = open_catalog(self.layout.db_url, writer=True)
        self.session = session_factory(self.engine)()
        event.listen(self.session, "before_flush", lambda session, *_: settle_short_ids(session))
        self.crawl_id: int = settings.getint("STABLECOPY_CRAWL_ID")
        self.crawl: Crawl | None = None
        self._pending = 0
        self._recent: OrderedDict[str, Capture] = OrderedDict()
        self._pending_short_ids: set[str] = set()
        # Captures not yet committed, by URL (GETs) and by payload (whole responses): the catalogue
        # is asked about them without flushing, so rows go out in batches, not one by one.
        self._pending_urls: dict[str, Capture] = {}
        self._pending_payloads: dict[str, Capture] = {}
        # Set when the crawl began on a catalogue holding no capture and shares it with no other
        # worker: the URLs and payloads it has catalogued itself, all a new fetch can repeat.
        self._own: KnownKeys | None = None
        self._ticker = LoopingCall(self.commit)
        self.failed = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        recorder = cls(crawler)
        connect = crawler.signals.connect
        connect(recorder.spider_opened, signal=scrapy_signals.spider_opened)
        connect(recorder.spider_closed, signal=scrapy_signals.spider_closed)
        connect(recorder.engine_stopped, signal=scrapy_signals.engine_stopped)
        connect(recorder.prior_capture, signal=sc_signals.prior_capture_requested)
        connect(recorder.archived_response, signal=sc_signals.archived_response_requested)
        connect(recorder.capture_archived, signal=sc_signals.capture_archived)
        connect(recorder.fetch_failed, signal=sc_signals.fetch_failed)
        connect(recorder.text_archived, signal=sc_signals.text_archived)
        connect(recorder.requisites_found, signal=sc_signals.requisites_found)
        connect(recorder.warc_file_closed, signal=sc_signals.warc_file_closed)
        connect(recorder.warc_file_stored, signal=sc_signals.warc_file_stored)
        connect(recorder.unstored_files, signal=sc_signals.unstored_files_requested)
        return recorder

    # --- lifecycle -------------------------------------------------------------------------------

    def spider_opened(self, spider: Spider) -> None:
        try:
            self.crawl = self._open_crawl(spider)
        except (SQLAlchemyError, CatalogError) as exc:
            self._fail("cannot record the crawl in the catalogue", exc)
            return
        self.crawl_id = self.crawl.id
        if not self.crawler.settings.get("STABLECOPY_REDIS_URL"):
            try:
                self._own = KnownKeys() if queries.no_captures(self.session) else None
            except SQLAlchemyError as exc:
                self._fail("cannot read the catalogue", exc)
                return
        if self.crawler.stats:
            self.crawler.stats.set_value("stablecopy/crawl_id", self.crawl_id)
        self._ticker.start(COMMIT_INTERVAL, now=False)
        self.crawler.signals.send_catch_log(
            sc_signals.crawl_opened, event=CrawlOpened(self.crawl_id)
        )

    def _open_crawl(self, spider: Spider) -> Crawl:
        if self.crawl_id:
            crawl = self.session.get(Crawl, self.crawl_id)
            if crawl is None:
                raise CatalogError(f"there is no crawl {self.crawl_id} to join")
            crawl.status = CrawlStatus.RUNNING
            crawl.finished_at = None
            if not crawl.software:  # a row the scheduler made for this run: say what runs it
                crawl.settings = settings_snapshot(self.crawler.settings)
                crawl.software = software_versions()
                crawl.worker = f"{socket.gethostname()}:{os.getpid()}"
        else:
            crawl = Crawl(
                started_at=datetime.now(UTC),
                status=CrawlStatus.RUNNING,
                seeds=list(getattr(spider, "seed_urls", [])),
                settings=settings_snapshot(self.crawler.settings),
                software=software_versions(),
                worker=f"{socket.gethostname()}:{os.getpid()}",
                captures=0,
                failures=0,
                write_errors=0,
                warc_bytes=0,
                extracted=0,
            )
            self.session.add(crawl)
        self.session.commit()
        return crawl

    def spider_closed(self, reason: str) -> None:
        if self.crawl is None:
            return
        stats = self.crawler.stats
        value = stats.get_value if stats else (lambda key, default=0: default)
        crawl = self.crawl
        # A worker leaving a shared crawl that others go on with does not end it.
        if reason == "finished" or not value("stablecopy/shared/others_working", 0):
            crawl.finished_at = datetime.now(UTC)
            crawl.finish_reason = reason
            crawl.status = crawl_status(reason)
        # Added in SQL: several workers of one shared crawl add theirs at the same moment.
        errors, written = (
            value("stablecopy/warc_write_errors", 0),
            value("stablecopy/warc_bytes", 0),
        )
        crawl.write_errors = Crawl.write_errors + errors
        crawl.warc_bytes = Crawl.warc_bytes + written
        self.commit()
        if self.failed:
            return
        try:
            recount(self.session, crawl)  # from the rows: right however many runs made them
            summary = run_summary(self.session, crawl.id)
            store_summary(crawl, summary)
        except SQLAlchemyError as exc:
            self.session.rollback()
            logger.error("cannot count what changed in crawl %d: %s", crawl.id, exc)
            return
        if stats:
            for key, count in summary.as_dict().items():
                stats.set_value(f"stablecopy/pages/{key}", count)
        self.commit()
        if not self.failed:
            self.crawler.signals.send_catch_log(sc_signals.log_committed)

    def engine_stopped(self) -> None:
        if self._ticker.running:
            self._ticker.stop()
        self.commit()
        self.session.close()
        self.engine.dispose()

    # --- events ----------------------------------------------------------------------------------

    def prior_capture(self, query: PriorCaptureQuery) -> PriorCapture | None:
        """The capture a new fetch is compared with: the latest of its URL (or, given a digest,
        the latest whole response with that payload), resolved to the record holding the payload.

        Captures of this crawl not yet committed count: they are looked up in memory, and the
        catalogue is asked without flushing them (they are written in batches).
        """
        if self.crawl is None or self.failed:
            return None
        pending = (
            self._pending_urls.get(query.url)
            if query.payload_sha256 is None
            else self._pending_payloads.get(query.payload_sha256)
        )
        latest: Capture | queries.CaptureRow | None = pending
        original: Capture | queries.CaptureRow | None = None
        if (
            pending is None
            and self._own is not None
            and (query.payload_sha256 or query.url) not in self._own
        ):
            return None  # nothing in the catalogue to compare with: it was empty, and is ours
        try:
            with self.session.no_autoflush:
                if pending is not None:
                    original = pending.original if pending.record_type == "revisit" else pending
                else:
                    latest = queries.latest_capture(self.session, query.url, query.payload_sha256)
                    if latest is not None and latest.record_type == "revisit":
                        original = queries.original_capture(self.session, latest)
                    else:
                        original = latest
        except SQLAlchemyError as exc:
            logger.warning("cannot look up the last capture of %s: %s", query.url, exc)
            return None
        if latest is None or original is None:
            return None
        if original.record_type != "response" or original.truncated or not original.payload_length:
            return None
        return PriorCapture(
            record_id=original.record_id,
            url=original.url,
            fetched_at=original.fetched_at,
            # A 304 stands for the original's status, which a conditional request needs.
            status=original.status if latest.status == 304 else latest.status,
            payload_sha256=original.payload_sha256,
            payload_digest=original.payload_digest,
            payload_length=original.payload_length,
            location=RecordLocation(original.warc_file, original.warc_offset, original.warc_length),
            etag=latest.etag,
            last_modified=latest.last_modified,
        )

    def archived_response(self, query: ArchivedResponseQuery) -> ArchivedResponse | None:
        """What crawl `query.crawl_id` already captured of `query.url` (its last GET that got a
        response below 500), for a resumed crawl to answer from the archive."""
        if self.crawl is None or self.failed:
            return None
        try:
            capture = self.session.scalar(
                select(Capture)
                .where(
                    Capture.url_key == url_key(query.url),
                    Capture.url == query.url,
                    Capture.crawl_id == query.crawl_id,
                    Capture.method == "GET",
                )
                .order_by(Capture.fetched_at.desc())
                .limit(1)
            )
            if capture is None or capture.status >= 500:
                return None
            holder = capture.payload_capture
            has_text = not redoable(holder.extraction)
        except SQLAlchemyError as exc:
            logger.warning("cannot look up %s in crawl %d: %s", query.url, query.crawl_id, exc)
            return None
        return ArchivedResponse(
            record_id=capture.record_id,
            location=RecordLocation(capture.warc_file, capture.warc_offset, capture.warc_length),
            payload_location=(
                RecordLocation(holder.warc_file, holder.warc_offset, holder.warc_length)
                if holder is not capture
                else None
            ),
            revisit_profile=capture.revisit_profile,
            truncated=capture.truncated,
            has_text=has_text,
        )

    def capture_archived(self, capture: Captured) -> None:
        if self.crawl is None:
            return
        original = None
        if capture.refers_to:
            original = self._recent.get(capture.refers_to) or capture_by_record_id(
                self.session, capture.refers_to
            )
        short_id = pending_short_id(capture.record_id, self._pending_short_ids)
        self._pending_short_ids.add(short_id)
        row = capture_row(capture, self.crawl_id, original, short_id)
        self.session.add(row)
        if row.method == "GET":
            self._pending_urls[row.url] = row
        if row.record_type == "response":
            self._pending_payloads[row.payload_sha256] = row
        self._recent[capture.record_id] = row
        if self._own is not None:
            self._own.add(row.url)
            self._own.add(row.payload_sha256)
        if len(self._recent) > RECENT_CAPTURES:
            self._recent.popitem(last=False)
        self._added()
        if capture.requisite and capture.redirect_to and 300 <= capture.status < 400:
            # A requisite that redirects needs where it leads (fetched next, as Scrapy follows).
            self._link(row, capture.redirect_to.split("#", 1)[0], capture.requisite)

    def fetch_failed(self, failure: FetchFailed) -> None:
        if self.crawl is None:
            return
        self.session.add(
            FetchFailure(
                crawl_id=self.crawl_id,
                url=failure.url,
                method=failure.method,
                failed_at=failure.failed_at,
                error_type=failure.error_type,
                message=failure.message,
            )
        )
        self._added()

    def text_archived(self, text: ArchivedText) -> None:
        if self.crawl is None:
            return
        recent = self._recent.get(text.record_id)  # captured in this run: no text yet
        capture = recent or capture_by_record_id(self.session, text.record_id)
        if capture is None:
            logger.error("no catalogued capture %s for the text of %s", text.record_id, text.url)
            return
        earlier = None if recent else capture.extraction
        if not redoable(earlier):
            return
        self.session.add(extraction_row(text, capture, earlier=earlier))
        self._added()

    def requisites_found(self, found: RequisitesFound) -> None:
        """Link a document's capture to what it needs. A document read back from the archive (a
        resumed crawl) may have had them linked already: only the missing links are added."""
        if self.crawl is None or self.failed:
            return
        recent = self._recent.get(found.record_id)
        parent = recent or capture_by_record_id(self.session, found.record_id)
        if parent is None:
            logger.error("no catalogued capture %s for the requisites of %s", found.record_id,
                         found.url)  # fmt: skip
            return
        known: set[str] = set()
        if recent is None:
            known = set(
                self.session.scalars(
                    select(RequisiteLink.url).where(RequisiteLink.parent_id == parent.id)
                )
            )
        for requisite in found.requisites:
            if requisite.url in known:
                continue
            self._link(parent, requisite.url, requisite.kind, requisite.skipped)

    def _link(self, parent: Capture, url: str, kind: str, skipped: str | None = None) -> None:
        link = RequisiteLink(
            crawl_id=self.crawl_id, url=url, url_key=url_key(url), kind=kind, skipped=skipped
        )
        if parent.id is None:
            link.parent = parent  # written with it, in the same flush
        else:
            link.parent_id = parent.id
        self.session.add(link)
        self._added()

    def warc_file_stored(self, file: WarcFileStored) -> None:
        if self.failed:
            return
        self.session.execute(
            update(WarcFile)
            .where(WarcFile.path == file.warc_file)
            .values(store_uri=file.store_uri, stored_at=file.stored_at)
        )
        self._added()

    def unstored_files(self) -> list[WarcFileClosed]:
        """Closed files the catalogue knows that have no stored copy yet."""
        if self.failed:
            return []
        rows = files.unstored_files(self.session)
        return [
            WarcFileClosed(r.path, r.size, r.sha256, r.records, r.opened_at, r.closed_at)
            for r in rows
        ]

    def warc_file_closed(self, file: WarcFileClosed) -> None:
        self.session.add(warc_file_row(file, self.crawl_id))
        self.commit()

    # --- committing ------------------------------------------------------------------------------

    def _added(self) -> None:
        self._pending += 1
        if self._pending >= COMMIT_EVERY:
            self.commit()

    def commit(self) -> None:
        """Commit what is pending, once the records it points at are durable on disk."""
        if self.failed:
            return
        if self._pending:
            self.crawler.signals.send_catch_log(sc_signals.catalog_committing)
        try:
            self.session.commit()
        except SQLAlchemyError as exc:
            self.session.rollback()
            self._fail("cannot write to the catalogue", exc)
            return
        self._pending = 0
        self._pending_short_ids.clear()
        self._pending_urls.clear()
        self._pending_payloads.clear()

    def _fail(self, what: str, exc: SQLAlchemyError | CatalogError) -> None:
        """The catalogue is unusable: say so once, count it, and stop the crawl cleanly."""
        self.failed = True
        reason = getattr(exc, "orig", None) or exc
        if self.crawler.stats:
            self.crawler.stats.inc_value("stablecopy/catalog_errors")
            self.crawler.stats.set_value("stablecopy/catalog_error", f"{what}: {reason}")
        logger.error("%s: %s; stopping the crawl", what, reason)
        engine = self.crawler.engine
        if engine is not None and engine.spider is not None:
            closing = deferred_from_coro(engine.close_spider_async(reason="catalog_failed"))
            closing.addErrback(lambda failure: logger.error("could not stop: %s", failure))

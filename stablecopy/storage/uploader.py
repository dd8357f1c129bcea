"""WarcUploader: each finished WARC file goes to STABLECOPY_STORE, checked, and catalogued there.

Uploads run in the reactor's thread pool as files close (rollover or crawl end); the crawl closes
only once they are done. A failed upload is a warning: the local file stays, and the next crawl
with the store (or `stablecopy upload`) sends it, as it sends files a repair closed.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from scrapy import signals as scrapy_signals
from scrapy.exceptions import NotConfigured
from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.threads import deferToThread

from stablecopy import signals as sc_signals
from stablecopy.events import WarcFileClosed, WarcFileStored
from stablecopy.layout import DataLayout, UnsafePathError
from stablecopy.storage.s3 import S3Store, StoreError, client

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Spider
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class WarcUploader:
    """A Scrapy extension, on when STABLECOPY_STORE is set."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        if not settings.get("STABLECOPY_STORE"):
            raise NotConfigured
        self.crawler = crawler
        self.layout = DataLayout.from_settings(settings)
        self.store = S3Store(settings.get("STABLECOPY_STORE"), client(settings))
        self.keep_local = settings.getbool("STABLECOPY_STORE_KEEP_LOCAL")
        self._uploads: list[Deferred[Any]] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        uploader = cls(crawler)
        crawler.signals.connect(uploader.spider_opened, signal=scrapy_signals.spider_opened)
        crawler.signals.connect(uploader.warc_file_closed, signal=sc_signals.warc_file_closed)
        return uploader

    def spider_opened(self, spider: Spider) -> None:
        # Connected now, after the archive's own receiver, which closes the last file.
        self.crawler.signals.connect(self.spider_closed, signal=scrapy_signals.spider_closed)
        self.catch_up()

    def catch_up(self) -> None:
        """Upload the files of this data directory that the catalogue has no stored copy of:
        closed by `stablecopy repair` after a crash, or left by an upload that failed."""
        answers = self.crawler.signals.send_catch_log(sc_signals.unstored_files_requested)
        for _receiver, files in answers:
            for file in files if isinstance(files, list) else []:
                try:
                    present = self.layout.resolve(file.warc_file).exists()
                except UnsafePathError:
                    continue
                if present:
                    logger.info("uploading %s, not stored before", file.warc_file)
                    self.warc_file_closed(file)

    def warc_file_closed(self, file: WarcFileClosed) -> None:
        upload = deferToThread(self.store.upload, self.layout.resolve(file.warc_file), file.sha256)
        upload.addCallbacks(self._stored, self._failed, callbackArgs=(file,), errbackArgs=(file,))
        self._uploads.append(upload)

    def _stored(self, uri: str, file: WarcFileClosed) -> None:
        logger.info("stored %s as %s (SHA-256 checked)", file.warc_file, uri)
        if self.crawler.stats:
            self.crawler.stats.inc_value("stablecopy/warc_files_stored")
        self.crawler.signals.send_catch_log(
            sc_signals.warc_file_stored,
            file=WarcFileStored(file.warc_file, uri, datetime.now(UTC)),
        )
        if not self.keep_local:
            self.layout.resolve(file.warc_file).unlink()

    def _failed(self, failure: object, file: WarcFileClosed) -> None:
        reason = getattr(failure, "value", failure)
        if isinstance(reason, StoreError):
            logger.warning("%s; it stays in the data directory for `stablecopy upload`", reason)
        else:
            logger.warning("cannot upload %s: %s", file.warc_file, reason)
        if self.crawler.stats:
            self.crawler.stats.inc_value("stablecopy/warc_store_errors")

    def spider_closed(self, spider: Spider) -> Deferred[Any]:
        return DeferredList(self._uploads)

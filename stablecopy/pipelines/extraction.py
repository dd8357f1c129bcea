"""ExtractionPipeline: clean text for each archived HTML page, made in worker processes.

The crawl's reactor thread never runs trafilatura: pages go to a process pool and the pipeline awaits
the result. Each result, text or stated absence of it, is announced on `text_extracted`; the archive
writes it as WARC records and the catalogue records it.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from scrapy import signals as scrapy_signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred

from stablecopy import signals as sc_signals
from stablecopy.crawl.processes import exit_with
from stablecopy.events import ExtractedText
from stablecopy.extract.job import extract
from stablecopy.extract.options import ExtractOptions, failed
from stablecopy.extract.result import ExtractResult, ExtractStatus
from stablecopy.items import Page

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


def _worker_started(crawl_pid: int) -> None:
    """Workers leave Ctrl-C to the crawl, which finishes their pending pages before it stops, and
    end when the crawl process is gone, even if it was killed outright."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_with(crawl_pid)


def _deferred(future: Future[ExtractResult]) -> Deferred[ExtractResult]:
    """A Deferred fired on the reactor thread when a pool future completes."""
    from twisted.internet import reactor  # the reactor Scrapy installed

    deferred: Deferred[ExtractResult] = Deferred()

    def fire(done: Future[ExtractResult]) -> None:
        exc = done.exception()
        if exc is not None:
            deferred.errback(exc)
        else:
            deferred.callback(done.result())

    future.add_done_callback(lambda done: reactor.callFromThread(fire, done))
    return deferred


class ExtractionPipeline:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        if not settings.getbool("STABLECOPY_EXTRACT_ENABLED"):
            raise NotConfigured("clean-text extraction is switched off")
        self.crawler = crawler
        self.workers = settings.getint("STABLECOPY_EXTRACT_WORKERS")
        self.options = ExtractOptions(
            favor_precision=settings.getbool("STABLECOPY_EXTRACT_FAVOR_PRECISION"),
            include_tables=settings.getbool("STABLECOPY_EXTRACT_INCLUDE_TABLES"),
            fast=settings.getbool("STABLECOPY_EXTRACT_FAST"),
            consent_selector_files=tuple(settings.getlist("STABLECOPY_CONSENT_SELECTOR_FILES")),
            consent_phrase_files=tuple(settings.getlist("STABLECOPY_CONSENT_PHRASE_FILES")),
        )
        self._pool: ProcessPoolExecutor | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        pipeline = cls(crawler)
        crawler.signals.connect(pipeline.spider_closed, signal=scrapy_signals.spider_closed)
        return pipeline

    def spider_closed(self) -> None:
        """A crawl stopped at once (Ctrl-C twice) closes without close_spider: its pool and the
        pages it holds are dropped, and its workers, left alone, would hold up the exit."""
        if self._pool is None:
            return
        for process in list(self._pool._processes.values()):  # no public way to end them
            process.kill()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = None

    def open_spider(self) -> None:
        if self.workers > 0:
            self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["stablecopy.extract.text"])
        return ProcessPoolExecutor(
            self.workers,
            mp_context=context,
            initializer=_worker_started,
            initargs=(os.getpid(),),
        )

    def close_spider(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, Page) or item.html is None:
            return item
        result = await self._extract(item.html, item.url)
        if item.decoding and result.error is None:
            result = replace(result, error=item.decoding)  # the text is of what decoded
        stats = self.crawler.stats
        if stats:
            stats.inc_value(f"stablecopy/extraction/{result.status}")
            if result.status is ExtractStatus.OK:
                stats.inc_value("stablecopy/extracted")
        self.crawler.signals.send_catch_log(
            sc_signals.text_extracted,
            text=ExtractedText(record_id=item.record_id, url=item.url, result=result),
        )
        item.html = None
        item.extraction_status = str(result.status)
        item.title = result.title
        item.author = result.author
        item.published = result.published
        item.language = result.language
        return item

    async def _extract(self, html: str, url: str) -> ExtractResult:
        if self._pool is None:
            return extract(html, url, self.options)
        try:
            future = self._pool.submit(extract, html, url, self.options)
            return await maybe_deferred_to_future(_deferred(future))
        except BrokenProcessPool as exc:
            # A worker died (out of memory, a crash in a C library): record it, start a new pool.
            logger.error("extraction worker died on %s; restarting the pool", url)
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            return failed(f"worker process died: {exc}", self.options)

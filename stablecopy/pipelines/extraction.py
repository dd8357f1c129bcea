"""ExtractionPipeline: clean text for each archived HTML page, made in worker processes.

The crawl's reactor thread never runs trafilatura: pages go to worker processes
(stablecopy.pipelines.workers) and the pipeline awaits the result; a page over
STABLECOPY_EXTRACT_MAX_SIZE is not sent at all. Each result, text or stated absence of it, is announced on `text_extracted`; the archive
writes it as WARC records and the catalogue records it.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from scrapy import signals as scrapy_signals
from scrapy.exceptions import NotConfigured

from stablecopy import signals as sc_signals
from stablecopy.events import ExtractedText
from stablecopy.extract.options import ExtractOptions, stamped
from stablecopy.extract.result import ExtractResult, ExtractStatus
from stablecopy.items import Page
from stablecopy.pipelines.workers import ExtractionWorkers

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class ExtractionPipeline:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        if not settings.getbool("STABLECOPY_EXTRACT_ENABLED"):
            raise NotConfigured("clean-text extraction is switched off")
        self.crawler = crawler
        self.options = ExtractOptions.from_settings(settings)
        self.workers = ExtractionWorkers(
            settings.getint("STABLECOPY_EXTRACT_WORKERS"),
            settings.getfloat("STABLECOPY_EXTRACT_TIMEOUT"),
            self.options,
        )
        self.max_size = settings.getint("STABLECOPY_EXTRACT_MAX_SIZE")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        pipeline = cls(crawler)
        crawler.signals.connect(pipeline.spider_closed, signal=scrapy_signals.spider_closed)
        return pipeline

    def open_spider(self) -> None:
        self.workers.start()

    def close_spider(self) -> None:
        self.workers.close(wait=True)

    def spider_closed(self) -> None:
        """A crawl stopped at once (Ctrl-C twice) closes without close_spider: the workers and
        the pages they hold are dropped (left alone, they would hold up the exit)."""
        self.workers.close(wait=False)

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
        if self.max_size and len(html) > self.max_size:
            return stamped(
                ExtractStatus.TOO_LARGE,
                self.options,
                error=f"{len(html)} characters, over STABLECOPY_EXTRACT_MAX_SIZE ({self.max_size})",
            )
        return await self.workers.extract(html, url)

"""ProgressLine: the live line a crawl shows while it runs, read from crawl stats only.

On a terminal it redraws one line (rich); otherwise (logs, CI, cron) it prints a plain line every
few intervals. Off unless STABLECOPY_PROGRESS is true; the CLI turns it on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.console import Console
from rich.live import Live
from rich.text import Text
from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet.task import LoopingCall

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler

PLAIN_EVERY = 10  # on a non-terminal, print every N-th update


@dataclass(frozen=True)
class Snapshot:
    pages: int
    pages_per_second: float
    megabytes: float
    errors: int
    queued: int

    def __str__(self) -> str:
        return (
            f"{self.pages} pages captured · {self.pages_per_second:.1f} pages/s · "
            f"{self.megabytes:.1f} MB written · {self.errors} errors · {self.queued} queued"
        )


class ProgressLine:
    def __init__(self, crawler: Crawler, interval: float) -> None:
        self.crawler = crawler
        self.interval = interval
        self.console = Console(stderr=True, highlight=False)
        self._live: Live | None = None
        self._ticks = 0
        self._started = time.monotonic()
        self._loop = LoopingCall(self.update)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not settings.getbool("STABLECOPY_PROGRESS"):
            raise NotConfigured
        line = cls(crawler, settings.getfloat("STABLECOPY_PROGRESS_INTERVAL"))
        crawler.signals.connect(line.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(line.spider_closed, signal=signals.spider_closed)
        return line

    def snapshot(self) -> Snapshot:
        stats = self.crawler.stats
        value = (lambda key: stats.get_value(key, 0)) if stats else (lambda key: 0)
        engine = self.crawler.engine
        queued = 0
        if engine is not None:
            scheduler = engine.scheduler
            queued = (
                len(scheduler) if scheduler is not None and hasattr(scheduler, "__len__") else 0
            )
            queued += len(engine.downloader.active)
        pages = value("stablecopy/captures")
        elapsed = max(time.monotonic() - self._started, 1e-6)
        errors = sum(
            value(key)
            for key in (
                "stablecopy/fetch_failures",
                "stablecopy/warc_write_errors",
                "stablecopy/catalog_errors",
            )
        )
        return Snapshot(
            pages, pages / elapsed, value("stablecopy/warc_bytes") / 1e6, errors, queued
        )

    def spider_opened(self) -> None:
        self._started = time.monotonic()
        if self.console.is_terminal:
            self._live = Live(Text(""), console=self.console, transient=True, auto_refresh=False)
            self._live.start()
        self._loop.start(self.interval, now=False)

    def update(self) -> None:
        snap = self.snapshot()
        self._ticks += 1
        if self._live is not None:
            self._live.update(Text(str(snap)), refresh=True)
        elif self._ticks % PLAIN_EVERY == 0:
            self.console.print(str(snap), highlight=False)

    def spider_closed(self) -> None:
        if self._loop.running:
            self._loop.stop()
        if self._live is not None:
            self._live.stop()
            self._live = None

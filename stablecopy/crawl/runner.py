"""Running one crawl in this process: settings from stablecopy's module plus overrides, then Scrapy.

The CLI's flags arrive here as settings at command-line priority; there is no other configuration
path. The Twisted reactor cannot restart, so one process runs one crawl.
"""

from __future__ import annotations

import logging
import signal
import tempfile
from dataclasses import dataclass
from typing import Any

from scrapy import signals as scrapy_signals
from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.settings import Settings
from scrapy.utils.ossignal import install_shutdown_handlers

from stablecopy.layout import DataLayout

logger = logging.getLogger(__name__)

SPIDER = "articles"
SEEDS_ANSWERED = "stablecopy/seeds/answered"  # stat: seeds whose response came back 2xx or 3xx
_FAILED_REASONS = ("warc_write_failed", "catalog_failed")


class DataDirError(Exception):
    """The data directory cannot be created or written."""


def project_settings(overrides: dict[str, Any] | None = None) -> Settings:
    """stablecopy.settings, with `overrides` applied at command-line priority."""
    settings = Settings()
    settings.setmodule("stablecopy.settings", priority="project")
    for key, value in (overrides or {}).items():
        settings.set(key, value, priority="cmdline")
    return settings


def prepare_data_dir(layout: DataLayout) -> None:
    """Create the data directory's folders and prove they take writes; DataDirError if not."""
    try:
        for folder in (layout.root, layout.warc_dir, layout.log_dir):
            folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=layout.warc_dir) as probe:
            probe.write(b"stablecopy write test")
            probe.flush()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise DataDirError(f"cannot write to the data directory {layout.root}: {reason}") from exc


@dataclass(frozen=True)
class CrawlOutcome:
    crawl_id: int | None
    reason: str
    stats: dict[str, Any]

    def stat(self, key: str) -> int:
        return int(self.stats.get(key, 0) or 0)

    @property
    def write_errors(self) -> int:
        return self.stat("stablecopy/warc_write_errors") + self.stat("stablecopy/catalog_errors")

    @property
    def failed(self) -> bool:
        """The archive or catalogue could not be written: the run must not report success."""
        return self.write_errors > 0 or self.reason in _FAILED_REASONS

    @property
    def interrupted(self) -> bool:
        return self.reason == "shutdown"

    @property
    def archived_no_page(self) -> bool:
        """The crawl ran to its end and neither a page nor a seed came back whole (refused
        connections, no such host, every seed disallowed by robots.txt, only errors): nothing
        done, no success. (A seed counts even where it is no page: robots.txt given as a seed.)"""
        if "stablecopy/pages/new" not in self.stats or self.interrupted:
            return False
        whole = sum(self.stat(f"stablecopy/pages/{k}") for k in ("new", "changed", "unchanged"))
        return whole == 0 and not self.stat(SEEDS_ANSWERED)


def _stop_thread_pool() -> None:
    """Stop the reactor's thread pool even if shutdown was cut short (a closed console, say):
    its threads would otherwise keep the process from exiting."""
    from twisted.internet import reactor

    pool = getattr(reactor, "threadpool", None)
    if pool is not None and pool.started:
        pool.stop()


def _in_flight(crawler: Crawler) -> tuple[int, int]:
    """Requests being downloaded, and responses the spider and pipelines are still handling."""
    engine = crawler.engine
    if engine is None:
        return 0, 0
    downloads = len(engine.downloader.active)
    slot = engine.scraper.slot
    return downloads, (len(slot.active) + len(slot.queue) if slot else 0)


class _CrawlProcess(CrawlerProcess):
    """Scrapy's process, with the two Ctrl-Cs an archivist expects.

    The first (or SIGTERM) closes the crawl gracefully, as Scrapy does, and says what it waits for.
    The second stops now; Scrapy would stop the reactor mid-close, leaving the WARC file `.open`,
    the crawl row `running` and no reason. Here the crawl's close signals are sent first: the WARC
    file is closed at its last whole record and renamed (records are written whole on the reactor
    thread, which runs this), the crawl is recorded as interrupted, and only then does the reactor
    stop. What was in flight is abandoned; `crawl --resume` fetches it and makes missing texts.
    """

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self._closed: set[Crawler] = set()

    def watch(self, crawler: Crawler) -> None:
        def closed() -> None:
            self._closed.add(crawler)

        crawler.signals.connect(closed, signal=scrapy_signals.spider_closed, weak=False)

    def _signal_shutdown(self, signum: int, frame: Any) -> None:
        from twisted.internet import reactor

        super()._signal_shutdown(signum, frame)
        reactor.callFromThread(self._acknowledge)

    def _acknowledge(self) -> None:
        for crawler in self.crawlers:
            downloads, pages = _in_flight(crawler)
            logger.warning(
                "stopping: finishing %d request(s) in flight and %d page(s) being handled; "
                "Ctrl-C again to stop now",
                downloads,
                pages,
            )

    def _signal_kill(self, signum: int, frame: Any) -> None:
        from twisted.internet import reactor

        install_shutdown_handlers(signal.SIG_IGN)
        reactor.callFromThread(self._stop_now)

    def _stop_now(self) -> None:
        for crawler in self.crawlers:
            downloads, pages = _in_flight(crawler)
            logger.warning(
                "stopping now: %d request(s) in flight and %d page(s) being handled are "
                "abandoned; the WARC file is closed at its last whole record",
                downloads,
                pages,
            )
            if crawler not in self._closed and crawler.spider is not None:
                crawler.signals.send_catch_log(
                    scrapy_signals.spider_closed, spider=crawler.spider, reason="shutdown"
                )
            crawler.signals.send_catch_log(scrapy_signals.engine_stopped)
        self._stop_reactor()


def run_crawl(settings: Settings) -> CrawlOutcome:
    """Run the articles spider to the end (or until stopped) and report how it went."""
    settings.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")  # the CLI set up logging
    process = _CrawlProcess(settings)
    crawler = process.create_crawler(SPIDER)
    process.watch(crawler)
    process.crawl(crawler)
    try:
        process.start()
    finally:
        _stop_thread_pool()
    stats = dict(crawler.stats.get_stats()) if crawler.stats else {}
    crawl_id = stats.get("stablecopy/crawl_id")
    return CrawlOutcome(
        crawl_id=int(crawl_id) if crawl_id else None,
        reason=str(stats.get("finish_reason", "unknown")),
        stats=stats,
    )

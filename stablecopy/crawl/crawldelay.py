"""CrawlDelayRobots: Scrapy's robots.txt middleware, also honouring each host's `Crawl-delay`.

Scrapy parses Crawl-delay but never applies it. Here a host that asks for one gets it as the
delay of its download slot (no randomisation below it, and AutoThrottle never lowers it), capped
at STABLECOPY_MAX_CRAWL_DELAY seconds so that a hostile robots.txt cannot stall a crawl for days.

It also mends how Scrapy 2.19 hands out a host's rules: the requests that wait together for a
robots.txt share one Deferred, whose result only the first receives (the others get None, and are
let through whatever robots.txt says). Every request is judged by the rules stored for its host.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.robotstxt import RobotParser

logger = logging.getLogger(__name__)


class CrawlDelayRobots(RobotsTxtMiddleware):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.max_delay = crawler.settings.getfloat("STABLECOPY_MAX_CRAWL_DELAY")
        self._applied: dict[str, float] = {}
        self._asked: dict[int, float | None] = {}  # per parsed robots.txt: its Crawl-delay

    async def robot_parser(self, request: Request) -> RobotParser | None:
        given = await super().robot_parser(request)
        stored = self._parsers.get(urlparse_cached(request).netloc)
        return given if stored is None or isinstance(stored, Deferred) else stored

    def process_request_2(self, rp: RobotParser | None, request: Request) -> None:
        super().process_request_2(rp, request)
        if rp is None:
            return
        if id(rp) not in self._asked:  # parsed once per host: read its Crawl-delay once
            agent = self._robotstxt_useragent or request.headers.get(
                b"User-Agent", self._default_useragent
            )
            self._asked[id(rp)] = rp.crawl_delay(agent or "")
        delay = self._asked[id(rp)]
        if not delay or delay <= 0:
            return
        delay = min(float(delay), self.max_delay)
        engine = self.crawler.engine
        if engine is None:
            return
        downloader = engine.downloader
        key = downloader.get_slot_key(request)
        slot = downloader.slots.get(key)
        request.meta["autothrottle_dont_adjust_delay"] = True
        if slot is None:
            return
        if slot.delay < delay or slot.jitter:
            slot.delay = max(slot.delay, delay)
            slot.jitter = 0.0  # never sooner than asked
        if self._applied.get(key) != delay:
            self._applied[key] = delay
            logger.info("%s asks for a Crawl-delay of %g s: honoured", key, delay)

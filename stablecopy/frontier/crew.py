"""Crew: the workers of one shared crawl, and when that crawl is over.

Every worker keeps a heartbeat in Redis with its state (busy or idle). A worker with nothing to do
stays open while the queue has requests or another live worker is busy (it may still find links);
the crawl is over when the queue is empty and every live worker is idle, and every worker then
closes. A worker whose heartbeat stops (killed, machine lost) is declared gone after
STABLECOPY_WORKER_TIMEOUT seconds, and the requests it had taken but not archived durably go back
into the queue: nothing it was given is lost, though a page it archived in its last moments may be
captured twice (at-least-once, never never).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from typing import TYPE_CHECKING, Any

from redis import Redis
from redis.exceptions import RedisError
from scrapy import signals as scrapy_signals
from scrapy.exceptions import DontCloseSpider, NotConfigured
from twisted.internet.task import LoopingCall

from stablecopy import signals as sc_signals
from stablecopy.frontier.keys import FrontierKeys

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request, Spider
    from scrapy.crawler import Crawler

    from stablecopy.frontier.scheduler import SharedScheduler

logger = logging.getLogger(__name__)

BUSY, IDLE, GONE = "busy", "idle", "gone"
# How long Redis keeps a finished crawl's keys (its duplicate filter answers late joiners).
FINISHED_TTL = 24 * 3600
STAT_OTHERS = "stablecopy/shared/others_working"


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Crew:
    """A Scrapy extension, on when STABLECOPY_REDIS_URL is set (the add-on adds it)."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        if not settings.get("STABLECOPY_REDIS_URL"):
            raise NotConfigured
        self.crawler = crawler
        self.keys = FrontierKeys.from_settings(settings)
        self.redis = Redis.from_url(settings.get("STABLECOPY_REDIS_URL"))
        self.name = worker_name()
        self.timeout = settings.getfloat("STABLECOPY_WORKER_TIMEOUT")
        self.state = ""
        self.scheduler: SharedScheduler | None = None
        self._taken: dict[int, str] = {}  # id(request) → its field in the in-flight hash
        self._archived: list[str] = []  # fields whose records await the next commit
        self._heartbeat = LoopingCall(self._beat)
        self._heartbeat_every = settings.getfloat("STABLECOPY_WORKER_HEARTBEAT")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        crew = cls(crawler)
        connect = crawler.signals.connect
        connect(crew.spider_opened, signal=scrapy_signals.spider_opened)
        connect(crew.spider_idle, signal=scrapy_signals.spider_idle)
        connect(crew.spider_closed, signal=scrapy_signals.spider_closed)
        connect(crew.request_left_downloader, signal=scrapy_signals.request_left_downloader)
        return crew

    # --- this worker -----------------------------------------------------------------------------

    def _announce(self, state: str) -> None:
        self.state = state
        record = json.dumps({"state": state, "seen": time.time()})
        self.redis.hset(self.keys.workers, self.name, record)

    def _beat(self) -> None:
        try:
            self._announce(self.state or BUSY)
        except RedisError as exc:
            logger.warning("cannot reach Redis for the heartbeat: %s", exc)

    def working(self) -> None:
        """Called before every pop from the queue: from now on this worker counts as busy."""
        if self.state != BUSY:
            self._announce(BUSY)

    @property
    def inflight_key(self) -> str:
        """This worker's in-flight hash: the requests it took, until their records are durable."""
        return self.keys.inflight(self.name)

    def took(self, request: Request, held: str) -> None:
        """`request` was taken and noted in the in-flight hash under `held` (by the scheduler's
        one Redis script, so that no kill can fall between the two)."""
        self._taken[id(request)] = held

    def request_left_downloader(self, request: Request, spider: Spider) -> None:
        fingerprint = self._taken.pop(id(request), None)
        if fingerprint is not None:
            self._archived.append(fingerprint)

    def catalog_committing(self) -> None:
        """The records of every request that left the downloader are durable now (the archive
        fsyncs before this receiver runs): they need not be taken again."""
        if self._archived:
            self.redis.hdel(self.keys.inflight(self.name), *self._archived)
            self._archived.clear()

    # --- lifecycle -------------------------------------------------------------------------------

    def spider_opened(self, spider: Spider) -> None:
        # Connected now, after the archive's own receiver, so the archive's fsync runs first.
        self.crawler.signals.connect(self.catalog_committing, signal=sc_signals.catalog_committing)
        if self.redis.exists(self.keys.done):
            logger.info("crawl %d is already over; nothing to do", self.keys.crawl_id)
        self._announce(BUSY)
        self._heartbeat.start(self._heartbeat_every, now=False)

    def spider_idle(self, spider: Spider) -> None:
        """Nothing in flight here: close if the crawl is over, otherwise wait for more work."""
        try:
            self._announce(IDLE)
            over = self._crawl_over()
        except RedisError as exc:
            logger.warning("cannot reach Redis to see whether the crawl is over: %s", exc)
            over = False
        if not over:
            raise DontCloseSpider

    def _crawl_over(self) -> bool:
        if self.redis.exists(self.keys.done):
            return True
        self._take_back_from_the_gone()
        # The queue first, then the workers: a worker announces itself busy before it pops, so
        # an empty queue read here with every worker idle means nobody holds work.
        if self.scheduler is not None and self.scheduler.pending():
            return False
        if self._others(BUSY):
            return False
        self.redis.set(self.keys.done, self.name)
        logger.info("crawl %d is over: queue drained, every worker idle", self.keys.crawl_id)
        return True

    def _workers(self) -> dict[str, dict[str, Any]]:
        raw: dict[bytes, bytes] = self.redis.hgetall(self.keys.workers)  # type: ignore[assignment]
        return {name.decode(): json.loads(value) for name, value in raw.items()}

    def _others(self, state: str) -> list[str]:
        now = time.time()
        return [
            name
            for name, info in self._workers().items()
            if name != self.name and info["state"] == state and now - info["seen"] < self.timeout
        ]

    def _take_back_from_the_gone(self) -> None:
        """Put back in the queue what dead workers had taken (their heartbeat stopped)."""
        if self.scheduler is None:
            return
        now = time.time()
        for name, info in self._workers().items():
            if name == self.name or info["state"] == GONE or now - info["seen"] < self.timeout:
                continue
            claimed = f"{self.keys.inflight(name)}:claimed-by:{self.name}"
            try:
                self.redis.rename(self.keys.inflight(name), claimed)  # atomic: one taker only
            except RedisError:
                claimed = ""  # nothing in flight, or another worker took it first
            if claimed:
                requests = self.redis.hvals(claimed)
                for encoded in requests:
                    self.scheduler.push_encoded(encoded)
                self.redis.delete(claimed)
                logger.warning(
                    "worker %s stopped answering; %d request(s) it held are back in the queue",
                    name,
                    len(requests),
                )
            self.redis.hset(self.keys.workers, name, json.dumps({"state": GONE, "seen": now}))

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self._heartbeat.running:
            self._heartbeat.stop()
        try:
            self._leave(reason)
        except RedisError as exc:
            logger.warning("cannot tell Redis this worker left: %s", exc)

    def _leave(self, reason: str) -> None:
        inflight = self.keys.inflight(self.name)
        if self._archived:  # the catalogue's last commit follows
            self.redis.hdel(inflight, *self._archived)
        # Whatever is left was taken but never fetched (a stop in mid-crawl): back it goes.
        if self.scheduler is not None:
            for encoded in self.redis.hvals(inflight):
                self.scheduler.push_encoded(encoded)
        self.redis.delete(inflight)
        self._announce(GONE)
        others = self._others(BUSY) + self._others(IDLE)
        if self.crawler.stats:
            self.crawler.stats.set_value(STAT_OTHERS, len(others))
        if self.redis.exists(self.keys.done):
            for key in self.keys.all_keys():
                self.redis.expire(key, FINISHED_TTL)
        elif not others:
            logger.info(
                "last worker of crawl %d left (%s) before it was over; its queue stays in Redis "
                "for `stablecopy worker --crawl %d`",
                self.keys.crawl_id,
                reason,
                self.keys.crawl_id,
            )

"""SharedScheduler: scrapy-redis's scheduler, remembering what this worker took until it is archived."""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING, Any

from scrapy.utils.misc import load_object
from scrapy_redis.scheduler import Scheduler

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request, Spider
    from scrapy.crawler import Crawler

    from stablecopy.frontier.crew import Crew

logger = logging.getLogger(__name__)


# Take the first request of the queue and note it in this worker's in-flight hash, in one step:
# a worker killed between a pop and its note would lose the request for good.
_TAKE = """
local top = redis.call('ZRANGE', KEYS[1], 0, 0)
if #top == 0 then return false end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, 0)
redis.call('HSET', KEYS[2], redis.sha1hex(top[1]), top[1])
return top[1]
"""


def held_key(encoded: bytes) -> str:
    """The field of a taken request in an in-flight hash (the script's sha1hex of its bytes)."""
    return hashlib.sha1(encoded, usedforsecurity=False).hexdigest()


class SharedScheduler(Scheduler):
    """Pulls from the crawl's Redis queue, filters through its Redis duplicate filter.

    Every request taken is noted in this worker's in-flight hash in the same Redis script that
    takes it (see Crew), so that if the worker dies before its records are durable, another worker
    puts the request back in the queue.
    """

    crew: Crew | None = None
    df: Any  # scrapy-redis's RFPDupeFilter, once opened

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        from stablecopy.frontier.crew import Crew

        scheduler = cls.from_settings(crawler.settings)
        scheduler.stats = crawler.stats
        extensions = crawler.extensions.middlewares if crawler.extensions else []
        for extension in extensions:
            if isinstance(extension, Crew):
                scheduler.crew, extension.scheduler = extension, scheduler
        return scheduler

    def open(self, spider: Spider) -> None:
        self.spider = spider
        self.queue = load_object(self.queue_cls)(
            server=self.server, spider=spider, key=self.queue_key, serializer=self.serializer
        )
        if not self.df:
            self.df = load_object(self.dupefilter_cls).from_spider(spider)
        if len(self.queue):
            logger.info("joining the shared crawl: %d requests queued", len(self.queue))

    def enqueue_request(self, request: Request) -> bool:
        seen: bool = not request.dont_filter and self.df.request_seen(request)
        if seen:
            self.df.log(request, self.spider)
            return False
        if self.stats:
            self.stats.inc_value("scheduler/enqueued/redis")
        self.queue.push(request)
        return True

    def next_request(self) -> Request | None:
        if self.crew is None:
            popped: Request | None = self.queue.pop(self.idle_before_close)
            return popped
        self.crew.working()  # before the pop: nobody may see an empty queue and us idle
        encoded = self.server.eval(_TAKE, 2, self.queue.key, self.crew.inflight_key)
        if not encoded:
            return None
        request: Request = self.queue._decode_request(encoded)
        if self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        self.crew.took(request, held_key(encoded))
        return request

    def push_encoded(self, encoded: Any) -> None:
        """Put back a request as another worker had taken it (front of the queue)."""
        self.server.execute_command("ZADD", self.queue.key, -1_000_000, encoded)

    def pending(self) -> int:
        return len(self.queue)

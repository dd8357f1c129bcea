"""SharedScheduler: scrapy-redis's scheduler, remembering what this worker took until it is archived."""

from __future__ import annotations

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


class SharedScheduler(Scheduler):
    """Pulls from the crawl's Redis queue, filters through its Redis duplicate filter.

    Every request taken is also written to this worker's in-flight hash (see Crew), so that if the
    worker dies before its records are durable, another worker puts the request back in the queue.
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
        if self.crew is not None:
            self.crew.working()  # before the pop: nobody may see an empty queue and us idle
        request: Request | None = self.queue.pop(self.idle_before_close)
        if request is None:
            return None
        if self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        if self.crew is not None:
            self.crew.took(request, self.encode(request))
        return request

    def encode(self, request: Request) -> bytes:
        encoded: bytes = self.queue._encode_request(request)
        return encoded

    def push_encoded(self, encoded: Any) -> None:
        """Put back a request as another worker had taken it (front of the queue)."""
        self.server.execute_command("ZADD", self.queue.key, -1_000_000, encoded)

    def pending(self) -> int:
        return len(self.queue)

"""The Redis keys of one shared crawl: its queue, duplicate filter, workers and their in-flight requests."""

from __future__ import annotations

from dataclasses import dataclass

from scrapy.settings import BaseSettings


class FrontierError(RuntimeError):
    """The shared frontier cannot be used (no crawl id, Redis unreachable)."""


@dataclass(frozen=True)
class FrontierKeys:
    """Every key of crawl `crawl_id` starts with `{prefix}:crawl:{crawl_id}-{token}:`.

    The token is drawn when the shared crawl is created and kept with its settings in the
    catalogue, so two catalogues whose crawls have the same ids never meet in one Redis.
    """

    prefix: str
    crawl_id: int
    token: str

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> FrontierKeys:
        crawl_id = settings.getint("STABLECOPY_CRAWL_ID")
        if not crawl_id:
            raise FrontierError("a shared crawl needs its crawl id (STABLECOPY_CRAWL_ID)")
        prefix = settings.get("STABLECOPY_REDIS_PREFIX") or "stablecopy"
        return cls(prefix, crawl_id, settings.get("STABLECOPY_FRONTIER_TOKEN") or "")

    @property
    def base(self) -> str:
        return f"{self.prefix}:crawl:{self.crawl_id}-{self.token}"

    @property
    def queue(self) -> str:
        return f"{self.base}:requests"

    @property
    def dupefilter(self) -> str:
        return f"{self.base}:dupefilter"

    @property
    def workers(self) -> str:
        """Hash: worker name → JSON {state, seen}; state is busy, idle or gone."""
        return f"{self.base}:workers"

    @property
    def done(self) -> str:
        """Set once the queue is drained and every worker idle: the crawl is over."""
        return f"{self.base}:done"

    def inflight(self, worker: str) -> str:
        """Hash: request fingerprint → encoded request, for requests `worker` took and has not
        yet archived durably; put back in the queue if the worker dies."""
        return f"{self.base}:inflight:{worker}"

    def all_keys(self) -> list[str]:
        return [self.queue, self.dupefilter, self.workers, self.done]

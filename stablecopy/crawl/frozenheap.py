"""FrozenHeap: what a crawl holds before it starts is kept out of Python's garbage collection while
it runs.

Python's cyclic collector looks at every object it tracks, and when a crawl starts most of them are
there for good: modules, settings, Scrapy's components, the catalogue's mappers. At engine start
they are moved out of its reach (gc.freeze, after one full collection so no garbage is kept); at
engine stop they are moved back (gc.unfreeze). Collections during the crawl then look only at what
the crawl makes. Measured on a 2,000-page capture-only crawl, twice each way: collections while it
ran took 0.9 s (of 7-10 s of CPU) before, 0.3-0.5 s after, for the same peak memory; most of what
is left is freeing pages' parsed trees, which would take as long without a collector.
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

from scrapy import signals

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler


class FrozenHeap:
    """Freezes the heap at engine start, unfreezes it at engine stop."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        heap = cls()
        crawler.signals.connect(heap.engine_started, signal=signals.engine_started)
        crawler.signals.connect(heap.engine_stopped, signal=signals.engine_stopped)
        return heap

    def engine_started(self) -> None:
        gc.collect()
        gc.freeze()

    def engine_stopped(self) -> None:
        gc.unfreeze()

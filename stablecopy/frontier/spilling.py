"""SpillingQueue: Scrapy's in-memory request queue, holding a bounded number of requests in memory
and the rest, serialised, in a file of the data directory.

A news site's index pages and sitemaps list thousands of pages at once, and a crawl of 20,000
pages has ~10,000 requests waiting at its peak (1.3 KB each as Request objects). Past
STABLECOPY_FRONTIER_IN_MEMORY requests, the older half goes to disk; the order stays last in,
first out, as Scrapy's own memory queue. The file lasts as long as the crawl and is locked while
it does; `stablecopy repair` removes one a killed crawl left (`crawl --resume` does not need it:
it finds the waiting pages again from the archive).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import pickle
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from queuelib.queue import LifoDiskQueue
from scrapy.utils.request import request_from_dict

from stablecopy.layout import DataLayout

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request, Spider
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

SPILL_PREFIX = "frontier-"
_LOCK_NAME = "held"


def _locked(folder: Path) -> BinaryIO | None:
    """`folder`'s lock file, opened and locked; None if another process holds it."""
    handle = (folder / _LOCK_NAME).open("ab")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def remove_abandoned(folder: Path) -> list[Path]:
    """Remove the spill folders under `folder` no live crawl holds; the ones removed."""
    removed = []
    for spill_dir in sorted(folder.glob(f"{SPILL_PREFIX}*")) if folder.is_dir() else []:
        try:
            handle = _locked(spill_dir)
        except OSError:
            continue
        if handle is None:
            continue  # a running crawl's
        shutil.rmtree(spill_dir, ignore_errors=True)
        handle.close()
        removed.append(spill_dir)
    with contextlib.suppress(OSError):
        folder.rmdir()
    return removed


class SpillingQueue:
    """Last in, first out; at most `limit` requests in memory (those that cannot be serialised,
    with a callback that is no spider method, stay in memory whatever their number)."""

    def __init__(self, spider: Spider | None, limit: int, folder: Path) -> None:
        self._spider = spider
        self._limit = max(limit, 2)
        self._folder = folder
        self._held: list[Request] = []
        self._spilled: LifoDiskQueue | None = None
        self._spill_dir: Path | None = None
        self._lock: BinaryIO | None = None
        self._written = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler, key: str = "") -> Self:
        settings = crawler.settings
        folder = DataLayout.from_settings(settings).tmp_dir
        return cls(crawler.spider, settings.getint("STABLECOPY_FRONTIER_IN_MEMORY"), folder)

    def push(self, request: Request) -> None:
        self._held.append(request)
        if len(self._held) > self._limit:
            self._spill()

    def pop(self) -> Request | None:
        if self._held:
            return self._held.pop()
        return self._decoded(self._spilled.pop() if self._spilled is not None else None)

    def peek(self) -> Request | None:
        if self._held:
            return self._held[-1]
        return self._decoded(self._spilled.peek() if self._spilled is not None else None)

    def _decoded(self, data: bytes | None) -> Request | None:
        return None if data is None else request_from_dict(pickle.loads(data), spider=self._spider)

    def __len__(self) -> int:
        return len(self._held) + (len(self._spilled) if self._spilled is not None else 0)

    def close(self) -> None:
        if self._spilled is not None:
            self._spilled.close()
            logger.info("%d requests waited on disk", self._written)
        if self._spill_dir is not None:
            shutil.rmtree(self._spill_dir, ignore_errors=True)
            with contextlib.suppress(OSError):  # left when another crawl's spill is in it
                self._folder.rmdir()
        if self._lock is not None:
            self._lock.close()

    def _spill(self) -> None:
        """Write the older half of what is held to disk (popped after everything held now)."""
        cut = len(self._held) // 2
        older, self._held = self._held[:cut], self._held[cut:]
        kept: list[Request] = []
        done = 0
        try:
            spilled = self._spill_queue()
            for request in older:
                try:
                    data = pickle.dumps(self._as_dict(request), protocol=5)
                except (ValueError, TypeError, AttributeError, pickle.PicklingError):
                    kept.append(request)
                else:
                    spilled.push(data)
                    self._written += 1
                done += 1
        except OSError as exc:  # a full disk: the rest wait in memory, as in Scrapy's own queue
            logger.warning("cannot write waiting requests under %s (%s); keeping them in memory",
                           self._folder, exc)  # fmt: skip
            kept += older[done:]
            self._limit = 1 << 62  # and no more tries
        self._held[:0] = kept
        if len(self._held) > self._limit:  # nearly all of them unserialisable
            self._limit = len(self._held) * 2

    def _as_dict(self, request: Request) -> dict[str, Any]:
        """`request.to_dict(spider=...)`, with the spider's callbacks named directly: Scrapy finds
        their names by listing every member of the spider, for each request (a third of the cost
        of queueing a page's links)."""
        given = (request.callback, request.errback)
        names = [self._method_name(func) for func in given]
        unnamed = any(f is not None and n is None for f, n in zip(given, names, strict=True))
        if self._spider is None or unnamed:
            return request.to_dict(spider=self._spider)
        found = request.to_dict()
        found["callback"], found["errback"] = names
        return found

    def _method_name(self, func: Any) -> str | None:
        """The name of the spider method `func` is, or None."""
        if func is None or getattr(func, "__self__", None) is not self._spider:
            return None
        name: str = func.__func__.__name__
        return name if getattr(self._spider, name, None) == func else None

    def _spill_queue(self) -> LifoDiskQueue:
        if self._spilled is None:
            self._folder.mkdir(parents=True, exist_ok=True)
            # Locked before it gets the name `stablecopy repair` looks for.
            made = Path(tempfile.mkdtemp(prefix="new-", dir=self._folder))
            self._lock = _locked(made)
            self._spill_dir = made.rename(made.with_name(SPILL_PREFIX + made.name[4:]))
            self._spilled = LifoDiskQueue(self._spill_dir / "requests")
            logger.info("more than %d requests waiting: the rest go to %s",
                        self._limit, self._spill_dir)  # fmt: skip
        return self._spilled

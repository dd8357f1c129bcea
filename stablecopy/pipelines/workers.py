"""ExtractionWorkers: the processes that make clean text, replaced when one is lost, with each page
bounded in time.

At most one page per worker is in the pool at a time (the rest wait here), so a worker that dies
(out of memory, a crash in a C library, a kill) takes down only the pages then running; they are
tried again in a fresh pool, up to ATTEMPTS times, and a page that kills its worker every time is
recorded `error`. A page runs under an alarm of STABLECOPY_EXTRACT_TIMEOUT seconds in its worker
(extract_within); one stuck where the alarm cannot reach (inside C) is ended from here GRACE
seconds later, by ending the pool's workers.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import defer
from twisted.internet.defer import Deferred, DeferredSemaphore

from stablecopy.crawl.processes import exit_with
from stablecopy.extract.job import extract, extract_within
from stablecopy.extract.options import ExtractOptions, failed, stamped
from stablecopy.extract.result import ExtractResult, ExtractStatus

logger = logging.getLogger(__name__)

ATTEMPTS = 3  # tries of a page whose worker dies under it
GRACE = 10.0  # seconds past a page's alarm before its worker is ended from outside


def _worker_started(crawl_pid: int) -> None:
    """Workers leave Ctrl-C to the crawl, which finishes their pending pages before it stops, and
    end when the crawl process is gone, even if it was killed outright."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_with(crawl_pid)


def _deferred(future: Future[ExtractResult]) -> Deferred[ExtractResult]:
    """A Deferred fired on the reactor thread when a pool future completes (unless it has timed
    out meanwhile)."""
    from twisted.internet import reactor  # the reactor Scrapy installed

    deferred: Deferred[ExtractResult] = Deferred()

    def fire(done: Future[ExtractResult]) -> None:
        if deferred.called:
            return
        exc = done.exception()
        if exc is not None:
            deferred.errback(exc)
        else:
            deferred.callback(done.result())

    future.add_done_callback(lambda done: reactor.callFromThread(fire, done))
    return deferred


def _end_workers(pool: ProcessPoolExecutor) -> None:
    for process in list(pool._processes.values()):  # no public way to end a pool's workers
        process.kill()


class ExtractionWorkers:
    def __init__(self, count: int, timeout: float, options: ExtractOptions) -> None:
        self.count = count
        self.timeout = timeout
        self.options = options
        self._pool: ProcessPoolExecutor | None = None
        self._slots = DeferredSemaphore(max(count, 1))

    def start(self) -> None:
        if self.count > 0:
            self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["stablecopy.extract.text"])
        return ProcessPoolExecutor(
            self.count, mp_context=context, initializer=_worker_started, initargs=(os.getpid(),)
        )

    def close(self, wait: bool = True) -> None:
        """Stop the workers: after their pages (`wait`), or at once, dropping what they hold."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if not wait:
            _end_workers(pool)
        pool.shutdown(wait=wait, cancel_futures=not wait)

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        if self._pool is broken:  # the first page to hear of it replaces it
            broken.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()

    async def extract(self, html: str, url: str) -> ExtractResult:
        if self.count <= 0:
            return extract(html, url, self.options)  # on the crawl's thread: no time limit
        await maybe_deferred_to_future(self._slots.acquire())
        try:
            return await self._attempts(html, url)
        finally:
            self._slots.release()

    async def _attempts(self, html: str, url: str) -> ExtractResult:
        reason = "no worker"
        for attempt in range(1, ATTEMPTS + 1):
            pool = self._pool
            if pool is None:
                return failed("the crawl stopped before its clean text was made", self.options)
            try:
                return await self._run(pool, html, url)
            except BrokenProcessPool as exc:
                reason = str(exc) or "a worker process died"
                self._replace(pool)
                logger.warning(
                    "an extraction worker died while extracting %s (attempt %d of %d)",
                    url,
                    attempt,
                    ATTEMPTS,
                )
            except defer.TimeoutError:
                logger.error("extraction of %s outlasted its alarm; ending its worker", url)
                _end_workers(pool)
                self._replace(pool)
                return stamped(
                    ExtractStatus.TIMEOUT,
                    self.options,
                    error=f"its worker was ended after {self.timeout + GRACE:g} s",
                )
        return failed(f"its worker died on each of {ATTEMPTS} attempts ({reason})", self.options)

    async def _run(self, pool: ProcessPoolExecutor, html: str, url: str) -> ExtractResult:
        from twisted.internet import reactor

        future = pool.submit(extract_within, html, url, self.options, self.timeout)
        deferred = _deferred(future)
        if self.timeout > 0:
            deferred.addTimeout(self.timeout + GRACE, reactor)
        try:
            return await maybe_deferred_to_future(deferred)
        except (BrokenProcessPool, defer.TimeoutError):
            raise
        except Exception as exc:  # noqa: BLE001 (what the job raised in its worker, sent back)
            return failed(f"{type(exc).__name__}: {exc}", self.options)

"""The extraction job a crawl hands its worker processes: trafilatura is loaded where it runs.

The crawl process only names this function when it submits a page; workers (which preload
stablecopy.extract.text) run it. A crawl whose workers extract never loads trafilatura itself,
and one with extraction switched off never does either (0.2 s and some 5 MB at every start).
"""

from __future__ import annotations

import signal
from types import FrameType

from stablecopy.extract.options import ExtractOptions, stamped
from stablecopy.extract.result import ExtractResult, ExtractStatus


class _Expired(BaseException):
    """Raised by the alarm: a BaseException, so no `except Exception` on the way swallows it."""


def extract(html: str, url: str, options: ExtractOptions) -> ExtractResult:
    """`extract_text(html, url, options)`, in whichever process calls it."""
    from stablecopy.extract.text import extract_text

    return extract_text(html, url, options)


def _expire(signum: int, frame: FrameType | None) -> None:
    raise _Expired


def extract_within(html: str, url: str, options: ExtractOptions, seconds: float) -> ExtractResult:
    """`extract()`, given up after `seconds` (an alarm; for a worker process's main thread).

    Pure-Python work stops at the alarm; a single call into C that outlasts it is stopped by the
    crawl, which ends the worker (ExtractionPipeline)."""
    if seconds <= 0:
        return extract(html, url, options)
    previous = signal.signal(signal.SIGALRM, _expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return extract(html, url, options)
    except _Expired:
        return stamped(
            ExtractStatus.TIMEOUT,
            options,
            error=f"no clean text within {seconds:g} s (STABLECOPY_EXTRACT_TIMEOUT)",
        )
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)

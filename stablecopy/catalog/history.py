"""Change over time: a URL's captures compared one after another, and what a crawl changed.

A capture is compared with the capture of the same URL before it. Its change is `new` (none
before), `unchanged` (a revisit, or the same payload and status), `text unchanged` (the bytes
changed but the clean text did not: rotating ads, timestamps, tokens), `gone` (an error status
where there was a page) or `changed`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased, selectinload

from stablecopy.catalog.keys import catalogued_url, url_key
from stablecopy.catalog.models import Capture, Crawl, FetchFailure, RequisiteLink

NEW = "new"
UNCHANGED = "unchanged"
TEXT_UNCHANGED = "text unchanged"
CHANGED = "changed"
GONE = "gone"
FAILED = "failed"
# Pages whose captures (two at most: this crawl's and the one before) run_summary loads at once:
# all of a big crawl's would fill the memory, and the query's IN list stays short.
SUMMARY_CHUNK = 250
PAGE_COUNTS = ("new", "changed", "unchanged", "failed", "text_only")


def text_sha256(capture: Capture) -> str | None:
    """The SHA-256 of a capture's clean text (a revisit's is its original's), if it has one."""
    extraction = capture.payload_capture.extraction
    return extraction.text_sha256 if extraction is not None else None


def _status(capture: Capture) -> int:
    """The status a capture stands for: a 304 revisit stands for its original's."""
    if capture.revisit_profile == "server-not-modified":
        return capture.payload_capture.status
    return capture.status


def change(previous: Capture | None, current: Capture) -> str:
    """How `current` differs from the capture of its URL before it (a revisit carries the
    payload digest of its original, so it compares like the original would)."""
    if previous is None:
        return NEW
    if _status(current) >= 400 > _status(previous):
        return GONE
    if _status(current) != _status(previous):
        return CHANGED
    if current.payload_sha256 == previous.payload_sha256:
        return UNCHANGED
    before, after = text_sha256(previous), text_sha256(current)
    if before is not None and before == after:
        return TEXT_UNCHANGED
    return CHANGED


@dataclass(frozen=True)
class HistoryEntry:
    """One line of a URL's history: a capture and its change, or a fetch that failed."""

    at: datetime
    change: str
    crawl_id: int
    capture: Capture | None = None
    failure: FetchFailure | None = None

    @property
    def text_sha256(self) -> str | None:
        return text_sha256(self.capture) if self.capture is not None else None


def url_history(session: Session, url: str) -> list[HistoryEntry]:
    """Every capture and failed fetch of `url`, oldest first, each capture with its change."""
    url = catalogued_url(url)
    captures = session.scalars(
        select(Capture)
        .where(Capture.url_key == url_key(url), Capture.url == url)
        .options(
            selectinload(Capture.extraction),
            selectinload(Capture.original).selectinload(Capture.extraction),
        )
        .order_by(Capture.fetched_at, Capture.id)
    ).all()
    entries: list[HistoryEntry] = []
    previous: Capture | None = None
    for capture in captures:
        entries.append(
            HistoryEntry(capture.fetched_at, change(previous, capture), capture.crawl_id, capture)
        )
        previous = capture
    failures = session.scalars(
        select(FetchFailure).where(FetchFailure.url == url).order_by(FetchFailure.failed_at)
    ).all()
    entries += [HistoryEntry(f.failed_at, FAILED, f.crawl_id, failure=f) for f in failures]
    return sorted(entries, key=lambda entry: entry.at)


@dataclass(frozen=True)
class RunSummary:
    """What one crawl found, page by page, against each page's capture before it.

    `text_only` counts the unchanged pages whose bytes did change (their text did not).
    Redirect hops and robots.txt are not pages; a page whose last fetch failed or answered 4xx/5xx
    counts as failed.
    """

    crawl_id: int
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    failed: int = 0
    text_only: int = 0

    def __str__(self) -> str:
        aside = f" ({self.text_only} only outside their clean text)" if self.text_only else ""
        return (
            f"{self.new} new, {self.changed} changed, {self.unchanged} unchanged{aside}, "
            f"{self.failed} failed"
        )

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in PAGE_COUNTS}


def _is_page(capture: Capture) -> bool:
    redirect = 300 <= capture.status < 400 and capture.status != 304
    return not (redirect or capture.requisite) and urlsplit(capture.url).path != "/robots.txt"


def _load(session: Session, ids: Sequence[int]) -> dict[int, Capture]:
    query = (
        select(Capture)
        .where(Capture.id.in_(ids))
        .options(
            selectinload(Capture.extraction),
            selectinload(Capture.original).selectinload(Capture.extraction),
        )
    )
    return {capture.id: capture for capture in session.scalars(query)}


def run_summary(session: Session, crawl_id: int) -> RunSummary:
    """Count the crawl's pages as new, changed, unchanged or failed (see RunSummary)."""
    earlier = aliased(Capture)
    previous_id = (
        select(earlier.id)
        .where(
            earlier.url_key == Capture.url_key,
            earlier.url == Capture.url,
            earlier.crawl_id != Capture.crawl_id,
            earlier.fetched_at < Capture.fetched_at,
        )
        .order_by(earlier.fetched_at.desc())
        .limit(1)
        .correlate(Capture)
        .scalar_subquery()
    )
    last: dict[str, tuple[int, int | None]] = {}  # url -> (its last capture in this crawl, before)
    rows = session.execute(
        select(Capture.id, Capture.url, previous_id)
        .where(Capture.crawl_id == crawl_id)
        .order_by(Capture.fetched_at, Capture.id)
    )
    for capture_id, url, before in rows:
        last[url] = (capture_id, before)
    counts = {NEW: 0, CHANGED: 0, UNCHANGED: 0, TEXT_UNCHANGED: 0, FAILED: 0}
    pairs = list(last.values())
    for start in range(0, len(pairs), SUMMARY_CHUNK):
        chunk = pairs[start : start + SUMMARY_CHUNK]
        captures = _load(session, [i for pair in chunk for i in pair if i is not None])
        for capture_id, before in chunk:
            capture = captures[capture_id]
            if not _is_page(capture):
                continue
            if capture.status >= 400:
                counts[FAILED] += 1
            else:
                counts[change(captures.get(before) if before else None, capture)] += 1
    failed_urls = set(
        session.scalars(select(FetchFailure.url).where(FetchFailure.crawl_id == crawl_id))
    )
    if failed_urls:  # a requisite that failed is the page's loss, not a failed page
        failed_urls -= set(
            session.scalars(select(RequisiteLink.url).where(RequisiteLink.crawl_id == crawl_id))
        )
    counts[FAILED] += sum(
        1 for url in failed_urls - last.keys() if urlsplit(url).path != "/robots.txt"
    )
    return RunSummary(
        crawl_id=crawl_id,
        new=counts[NEW],
        changed=counts[CHANGED],
        unchanged=counts[UNCHANGED] + counts[TEXT_UNCHANGED],
        failed=counts[FAILED],
        text_only=counts[TEXT_UNCHANGED],
    )


def store_summary(crawl: Crawl, summary: RunSummary) -> None:
    crawl.pages_new = summary.new
    crawl.pages_changed = summary.changed
    crawl.pages_unchanged = summary.unchanged
    crawl.pages_failed = summary.failed

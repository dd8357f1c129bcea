"""A document's requisite set: what it needed to render and, for each, what its crawl archived.

The catalogue links a capture to the URLs it needed (RequisiteLink); a requisite's own capture is
its crawl's last capture of that URL. Stylesheets and embedded documents need requisites of their
own, and a redirect needs where it leads, so the set is walked level by level (one query per level and kind of
lookup, however many requisites). States: archived, failed (an error status, or no response),
skipped (not fetched on purpose: an ad host, a stream, too large, robots.txt) and missing (never
fetched: the crawl stopped first).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from stablecopy.catalog.keys import url_key
from stablecopy.catalog.models import Capture, FetchFailure, RequisiteLink
from stablecopy.events import SKIPPED_FETCH
from stablecopy.requisites.requisite import SKIPPED_BLOCKED

ARCHIVED = "archived"
FAILED = "failed"
SKIPPED = "skipped"
MISSING = "missing"
STATES = (ARCHIVED, FAILED, SKIPPED, MISSING)
MAX_LEVELS = 12  # stylesheets importing stylesheets in iframes...: far deeper than any site
_BATCH = 500  # URLs per IN (...) list


@dataclass(frozen=True)
class RequisiteState:
    url: str
    kind: str
    state: str
    needed_by: str  # the URL of the document (page, iframe, stylesheet) that needed it
    capture: Capture | None = None  # its capture (a redirect's target is a requisite of it)
    detail: str = ""  # its HTTP status, or why it failed or was skipped


@dataclass
class RequisiteSet:
    """What a document needed, in the order it was found, level by level."""

    states: list[RequisiteState] = field(default_factory=list)

    def count(self, state: str) -> int:
        return sum(1 for s in self.states if s.state == state)

    @property
    def complete(self) -> bool:
        """Every requisite archived, except ad and tracker hosts left out on purpose."""
        return all(
            s.state == ARCHIVED or (s.state == SKIPPED and s.detail == SKIPPED_BLOCKED)
            for s in self.states
        )

    def summary(self) -> dict[str, int | bool]:
        counts: dict[str, int | bool] = {"total": len(self.states)}
        counts.update({state: self.count(state) for state in STATES})
        counts["complete"] = self.complete
        return counts


def requisite_set(session: Session, document: Capture) -> RequisiteSet:
    """The requisites `document` needed, directly or through its stylesheets and iframes."""
    result = RequisiteSet()
    crawl_id = document.crawl_id
    frontier: dict[int, Capture] = {document.id: document}
    walked = {document.id}
    seen: set[str] = set()
    for _level in range(MAX_LEVELS):
        if not frontier:
            break
        links = _links(session, list(frontier))
        fetched = [link.url for link in links if link.skipped is None and link.url not in seen]
        holders = _latest(session, crawl_id, fetched)
        failures = _failures(session, crawl_id, [u for u in fetched if u not in holders])
        following: dict[int, Capture] = {}
        for link in links:
            if link.url in seen:
                continue
            seen.add(link.url)
            state = _state(link, frontier[link.parent_id].url, holders, failures)
            result.states.append(state)
            held = state.capture
            if held is not None and held.id not in walked:
                walked.add(held.id)
                following[held.id] = held
        frontier = following
    return result


def needed_by(session: Session, capture: Capture) -> list[Capture]:
    """The documents of its crawl that needed `capture` (a stylesheet shared by every page)."""
    query = (
        select(Capture)
        .join(RequisiteLink, RequisiteLink.parent_id == Capture.id)
        .where(
            RequisiteLink.url_key == capture.url_key,
            RequisiteLink.url == capture.url,
            RequisiteLink.crawl_id == capture.crawl_id,
        )
        .order_by(Capture.id)
    )
    return list(session.scalars(query))


def _links(session: Session, parents: list[int]) -> list[RequisiteLink]:
    found: list[RequisiteLink] = []
    for start in range(0, len(parents), _BATCH):
        chunk = parents[start : start + _BATCH]
        query = select(RequisiteLink).where(RequisiteLink.parent_id.in_(chunk))
        found.extend(session.scalars(query.order_by(RequisiteLink.id)))
    return found


def _latest(session: Session, crawl_id: int, urls: Iterable[str]) -> dict[str, Capture]:
    """The crawl's last capture of each URL (by the indexed SURT key)."""
    wanted = sorted(set(urls))
    latest: dict[str, Capture] = {}
    for start in range(0, len(wanted), _BATCH):
        chunk = wanted[start : start + _BATCH]
        query = select(Capture).where(
            Capture.url_key.in_({url_key(url) for url in chunk}),
            Capture.crawl_id == crawl_id,
            Capture.url.in_(chunk),
        )
        for capture in session.scalars(query):
            known = latest.get(capture.url)
            if known is None or (capture.fetched_at, capture.id) > (known.fetched_at, known.id):
                latest[capture.url] = capture
    return latest


def _failures(session: Session, crawl_id: int, urls: list[str]) -> dict[str, FetchFailure]:
    found: dict[str, FetchFailure] = {}
    for start in range(0, len(urls), _BATCH):
        chunk = urls[start : start + _BATCH]
        query = select(FetchFailure).where(
            FetchFailure.url.in_(chunk), FetchFailure.crawl_id == crawl_id
        )
        for failure in session.scalars(query.order_by(FetchFailure.id)):
            found[failure.url] = failure  # the last attempt's
    return found


def _state(
    link: RequisiteLink,
    parent_url: str,
    holders: dict[str, Capture],
    failures: dict[str, FetchFailure],
) -> RequisiteState:
    def state(name: str, capture: Capture | None = None, detail: str = "") -> RequisiteState:
        return RequisiteState(link.url, link.kind, name, parent_url, capture, detail)

    if link.skipped:
        return state(SKIPPED, detail=link.skipped)
    capture = holders.get(link.url)
    if capture is not None:
        if capture.status >= 400:
            return state(FAILED, capture, f"HTTP {capture.status}")
        detail = f"HTTP {capture.status}"
        if capture.redirect_to and 300 <= capture.status < 400:
            detail += f" to {capture.redirect_to}"
        if capture.truncated:
            detail += f", truncated ({capture.truncated})"
        return state(ARCHIVED, capture, detail)
    failure = failures.get(link.url)
    if failure is None:
        return state(MISSING, detail="not fetched (the crawl ended first)")
    if failure.error_type == SKIPPED_FETCH:
        return state(SKIPPED, detail=failure.message)
    return state(FAILED, detail=f"{failure.error_type}: {failure.message}")

"""Replay's index questions, answered by the catalogue's own indexes: the captures of a SURT-key
range (those nearest a moment first, when one is given) and what a citation id names.

Every question is a range of the (url_key, fetched_at) index or a unique-key lookup, so its cost
depends on what it returns, never on the size of the catalogue.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session, joinedload

from stablecopy.catalog.models import Capture, Extraction
from stablecopy.catalog.queries import ROWS_PER_FETCH
from stablecopy.provenance import shortid


@dataclass(frozen=True)
class Cited:
    """Where a citation id leads: its capture's time and URL, and where the clean text of the
    capture holding its payload (its own, or a revisit's original's) is archived, if it has one."""

    fetched_at: datetime
    url: str
    text_file: str | None = None
    text_offset: int = 0
    text_sha256: str = ""


def _in_range(low: str, high: str) -> ColumnElement[bool]:
    # An exact URL's range is [key, key + "!"): no key holds a character below "!" (SURT keys have
    # no spaces or controls), so it is the key itself, and the index orders its captures by time.
    if high == f"{low}!":
        return Capture.url_key == low
    return (Capture.url_key >= low) & (Capture.url_key < high)


def _captures(where: ColumnElement[bool]) -> Select[Capture]:
    return select(Capture).options(joinedload(Capture.original)).where(where)


def captures_in_range(
    session: Session, low: str, high: str, limit: int, closest: datetime | None = None
) -> Generator[Capture, None, None]:
    """The captures whose SURT keys are in [low, high), in key and time order, streamed: the first
    `limit` and those tied with the last of them (same key, same second: a CDXJ file sorts such
    lines among themselves, so its first `limit` lines are among these); or, given `closest` (a
    second, as Wayback timestamps name it), the `limit` nearest it on each side (which hold the
    `limit` nearest; every capture within that second is at distance 0)."""
    inside = _in_range(low, high)
    if closest is None:
        key = Capture.url_key
        if session.get_bind().dialect.name == "postgresql":
            key = key.collate("C")  # type: ignore[assignment]
        query = _captures(inside).order_by(key, Capture.fetched_at)
        streamed = session.scalars(query.execution_options(yield_per=ROWS_PER_FETCH))
        last: tuple[str, datetime] | None = None
        try:
            for count, capture in enumerate(streamed):
                tie = (capture.url_key, capture.fetched_at.replace(microsecond=0))
                if count >= limit and tie != last:
                    return
                last = tie
                yield capture
        finally:
            streamed.close()  # a server-side cursor on PostgreSQL: closed even when stopped early
        return
    second_after = closest.replace(microsecond=0) + timedelta(seconds=1)
    before = (
        _captures(inside & (Capture.fetched_at < second_after))
        .order_by(Capture.fetched_at.desc())
        .limit(limit)
    )
    after = (
        _captures(inside & (Capture.fetched_at >= second_after))
        .order_by(Capture.fetched_at)
        .limit(limit)
    )
    found = [*session.scalars(before), *session.scalars(after)]
    yield from sorted(found, key=lambda capture: (capture.url_key, capture.fetched_at))


def cited(session: Session, reference: str) -> Cited | None:
    """What the citation id `reference` (any case, dash or none) names, or None."""
    short = shortid.normalise(reference)
    if short is None:
        return None
    row = session.execute(
        select(Capture.fetched_at, Capture.url, Capture.id, Capture.refers_to_id).where(
            Capture.short_id == short
        )
    ).first()
    if row is None:
        return None
    moment, url, own, original = row
    text = session.execute(
        select(Extraction.conversion_file, Extraction.conversion_offset, Extraction.text_sha256)
        .where(Extraction.capture_id == (original or own))
        .where(Extraction.conversion_file.is_not(None))
    ).first()
    if text is None:
        return Cited(moment, url)
    return Cited(moment, url, str(text[0]), int(text[1] or 0), str(text[2] or ""))

"""Catalogue rows made from what the archive reports: a capture, its clean text, a closed WARC file.

One place turns archive events into rows, whether they come live from a crawl (the recorder) or
are read back from WARC files after a crash (repair), so both catalogue a record the same way.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from stablecopy.catalog.keys import url_key
from stablecopy.catalog.models import (
    Capture,
    Crawl,
    Extraction,
    FetchFailure,
    SearchText,
    WarcFile,
)
from stablecopy.events import ArchivedText, Captured, WarcFileClosed
from stablecopy.provenance import shortid


def _candidates(record_id: str) -> Iterator[str]:
    attempt = 0
    while True:
        yield shortid.derive(record_id, attempt)
        attempt += 1


def short_id_for(session: Session, record_id: str, pending: Iterable[str] = ()) -> str:
    """The citation id of a new capture: derived from its record id, the next attempt if taken
    (in the catalogue, or by a row not yet written, listed in `pending`)."""
    taken_here = set(pending)
    for candidate in _candidates(record_id):
        if candidate not in taken_here:
            with session.no_autoflush:
                taken = session.scalar(select(Capture.id).where(Capture.short_id == candidate))
            if taken is None:
                return candidate
    raise AssertionError("unreachable: the candidates never end")


def pending_short_id(record_id: str, pending: Container[str]) -> str:
    """The citation id of a new capture among rows not yet written (`pending`): the catalogue is
    asked once they are about to be, by settle_short_ids."""
    return next(candidate for candidate in _candidates(record_id) if candidate not in pending)


def settle_short_ids(session: Session) -> None:
    """Before rows are written: a new capture whose citation id is already in the catalogue
    takes its next one. One query for all the new captures, however many (a session event)."""
    new = {row.short_id: row for row in session.new if isinstance(row, Capture) and row.short_id}
    if not new:
        return
    with session.no_autoflush:
        query = select(Capture.short_id).where(Capture.short_id.in_(new))
        taken = {short_id for short_id in session.scalars(query) if short_id}
    for short_id in taken:
        row = new.pop(short_id)
        row.short_id = short_id_for(session, row.record_id, new)
        new[row.short_id] = row


def capture_by_record_id(session: Session, record_id: str) -> Capture | None:
    return session.scalar(select(Capture).where(Capture.record_id == record_id))


def capture_row(
    capture: Captured, crawl_id: int, original: Capture | None, short_id: str
) -> Capture:
    """The row of a capture; a revisit's payload length is its original's."""
    length = capture.payload_length
    if capture.record_type == "revisit" and original is not None:
        length = original.payload_length
    return Capture(
        crawl_id=crawl_id,
        url=capture.url,
        url_key=url_key(capture.url),
        method=capture.method,
        status=capture.status,
        content_type=capture.content_type,
        fetched_at=capture.fetched_at,
        record_type=capture.record_type,
        revisit_profile=capture.revisit_profile,
        original=original,
        etag=capture.etag,
        last_modified=capture.last_modified,
        payload_sha256=capture.payload_sha256,
        payload_digest=capture.payload_digest,
        block_digest=capture.block_digest,
        payload_length=length,
        truncated=capture.truncated,
        ip_address=capture.ip_address,
        redirect_to=capture.redirect_to,
        warc_file=capture.location.warc_file,
        warc_offset=capture.location.offset,
        warc_length=capture.location.length,
        record_id=capture.record_id,
        request_record_id=capture.request_record_id,
        request_offset=capture.request_location.offset,
        request_length=capture.request_location.length,
        short_id=short_id,
        requisite=capture.requisite,
    )


def extraction_row(
    text: ArchivedText,
    capture: Capture,
    extracted_at: datetime | None = None,
    earlier: Extraction | None = None,
) -> Extraction:
    """The row for `text`: new, or `earlier` (the capture's failed one) refilled, when a resumed
    crawl or a repair makes the text of a page whose extraction failed (one row per capture)."""
    values = _extraction_values(text, extracted_at)
    result = text.result
    if str(result.status) == "ok":
        searched = {
            "url": capture.url,
            "site": result.site_name,
            "title": result.title,
            "author": result.author,
            "language": result.language,
            "body": result.text,
        }
        if capture.id is not None and capture.search is not None:
            for name, value in searched.items():  # made again: the row follows
                setattr(capture.search, name, value)
        else:
            capture.search = SearchText(**searched)
    if earlier is None:
        return Extraction(capture=capture, **values)
    for name, value in values.items():
        setattr(earlier, name, value)
    return earlier


def redoable(extraction: Extraction | None) -> bool:
    """Whether a capture's clean text is still to be made: never tried, or its worker failed.
    (A page over the size limit or past the time limit would fail the same way again.)"""
    return extraction is None or extraction.status == "error"


def _extraction_values(text: ArchivedText, extracted_at: datetime | None) -> dict[str, Any]:
    result = text.result
    conversion = text.conversion
    return {
        "extracted_at": extracted_at or datetime.now(UTC),
        "status": str(result.status),
        "error": result.error,
        "title": result.title,
        "author": result.author,
        "published": result.published,
        "language": result.language,
        "site_name": result.site_name,
        "text_sha256": text.text_sha256,
        "text_length": len(result.text),
        "removed_consent_elements": result.removed_consent_elements,
        "extractor": result.extractor,
        "extractor_version": result.extractor_version,
        "options": dict(result.options),
        "conversion_record_id": text.conversion_record_id,
        "conversion_file": conversion.warc_file if conversion else None,
        "conversion_offset": conversion.offset if conversion else None,
        "conversion_length": conversion.length if conversion else None,
        "metadata_record_id": text.metadata_record_id,
        "metadata_file": text.metadata.warc_file,
        "metadata_offset": text.metadata.offset,
        "metadata_length": text.metadata.length,
    }


def warc_file_row(file: WarcFileClosed, crawl_id: int | None) -> WarcFile:
    return WarcFile(
        crawl_id=crawl_id or None,
        path=file.warc_file,
        size=file.size,
        sha256=file.sha256,
        records=file.records,
        opened_at=file.opened_at,
        closed_at=file.closed_at,
    )


def recount(session: Session, crawl: Crawl) -> None:
    """Set a crawl's capture, failure and clean-text counters from its rows (after a crash, the
    counters a killed process kept in memory are gone; the rows are not)."""
    crawl_id = crawl.id
    crawl.captures = (
        session.scalar(
            select(func.count()).select_from(Capture).where(Capture.crawl_id == crawl_id)
        )
        or 0
    )
    crawl.failures = (
        session.scalar(
            select(func.count()).select_from(FetchFailure).where(FetchFailure.crawl_id == crawl_id)
        )
        or 0
    )
    crawl.extracted = (
        session.scalar(
            select(func.count())
            .select_from(Extraction)
            .join(Capture, Capture.id == Extraction.capture_id)
            .where(Capture.crawl_id == crawl_id, Extraction.status == "ok")
        )
        or 0
    )

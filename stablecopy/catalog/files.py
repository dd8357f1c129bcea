"""Queries about WARC files: which the catalogue knows, which hold a selection's records, which
records of a file are catalogued, which are in the store."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import func, literal, select, union
from sqlalchemy.orm import Session

from stablecopy.catalog.models import Capture, Extraction, WarcFile
from stablecopy.catalog.queries import CaptureFilter


def catalogued_files(session: Session) -> set[str]:
    """Every WARC path the catalogue mentions (relative to the data directory)."""
    rows: Iterable[tuple[str | None]] = session.execute(
        union(
            select(Capture.warc_file),
            select(Extraction.conversion_file).where(Extraction.conversion_file.is_not(None)),
            select(Extraction.metadata_file).where(Extraction.metadata_file.is_not(None)),
            select(WarcFile.path),
        )
    )
    return {path for (path,) in rows if path is not None}  # "" too: verify reports it


def closed_file(session: Session, path: str) -> WarcFile | None:
    """The row of the closed file at `path` (relative to the data directory), if it has one."""
    return session.scalar(select(WarcFile).where(WarcFile.path == path))


def closed_files(session: Session) -> Sequence[WarcFile]:
    return session.scalars(select(WarcFile).order_by(WarcFile.path)).all()


def unstored_files(session: Session) -> Sequence[WarcFile]:
    """Closed files with no copy in the store yet, oldest first."""
    query = select(WarcFile).where(WarcFile.store_uri.is_(None)).order_by(WarcFile.id)
    return session.scalars(query).all()


def stored_files(session: Session) -> Sequence[WarcFile]:
    """Closed files with a copy in the store."""
    return session.scalars(select(WarcFile).where(WarcFile.store_uri.is_not(None))).all()


def catalogued_paths(session: Session) -> set[str]:
    """The closed files that have a row of their own."""
    return set(session.scalars(select(WarcFile.path)))


def files_of(session: Session, selection: CaptureFilter) -> list[str]:
    """Every WARC file holding a record of the selected captures (responses, revisits, their
    clean text), sorted."""
    where = selection.clause()
    rows: Iterable[tuple[str | None]] = session.execute(
        union(
            select(Capture.warc_file).where(where),
            select(Extraction.conversion_file)
            .join(Capture, Capture.id == Extraction.capture_id)
            .where(where, Extraction.conversion_file.is_not(None)),
            select(Extraction.metadata_file)
            .join(Capture, Capture.id == Extraction.capture_id)
            .where(where, Extraction.metadata_file.is_not(None)),
        )
    )
    return sorted(path for (path,) in rows if path)


def capture_record_ids_in(session: Session, warc_file: str) -> set[str]:
    """The record ids of the captures catalogued in `warc_file`."""
    query = select(Capture.record_id).where(Capture.warc_file == warc_file)
    return set(session.scalars(query))


def text_record_ids_in(session: Session, warc_file: str) -> set[str]:
    """The metadata record ids of the clean texts catalogued in `warc_file`."""
    query = select(Extraction.metadata_record_id).where(Extraction.metadata_file == warc_file)
    return set(session.scalars(query))


def records_catalogued_in(session: Session, warc_file: str, at_most: int) -> int:
    """How many records the catalogue places in `warc_file` (responses and revisits, requests,
    clean texts), counted along indexes and no further than `at_most` + 1 of each kind: whether a
    file holds more than a selection takes is answered in time proportional to the selection."""
    captures = select(literal(1)).where(Capture.warc_file == warc_file)
    requests = captures.where(Capture.request_offset.is_not(None))
    conversions = select(literal(1)).where(Extraction.conversion_file == warc_file)
    metadata = select(literal(1)).where(Extraction.metadata_file == warc_file)
    return sum(
        int(session.scalar(select(func.count()).select_from(q.limit(at_most + 1).subquery())) or 0)
        for q in (captures, requests, conversions, metadata)
    )

"""Read-side queries over the catalogue, as the CLI and researchers' scripts need them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, joinedload

from stablecopy.catalog.models import Capture


def _captures(url: str | None, crawl_id: int | None) -> Select[Capture]:
    query = select(Capture).options(joinedload(Capture.extraction))
    if url is not None:
        query = query.where(Capture.url == url)
    if crawl_id is not None:
        query = query.where(Capture.crawl_id == crawl_id)
    return query


def list_captures(
    session: Session,
    url: str | None = None,
    crawl_id: int | None = None,
    limit: int | None = None,
) -> Sequence[Capture]:
    """Captures (with their extraction), oldest first, optionally of one URL or one crawl."""
    query = _captures(url, crawl_id).order_by(Capture.id)
    if limit is not None:
        query = query.limit(limit)
    return session.scalars(query).unique().all()


def get_capture(session: Session, capture_id: int) -> Capture | None:
    return session.scalars(_captures(None, None).where(Capture.id == capture_id)).unique().first()

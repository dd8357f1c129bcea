"""Crawl rows read back: the crawl as stored, the crawls still active, and the settings it carries to a process that
continues it (resume), joins it (a shared crawl's worker) or runs it (a scheduled run on Scrapyd)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from stablecopy.catalog.models import ACTIVE_STATUSES, Capture, Crawl, FetchFailure
from stablecopy.catalog.session import CatalogError, open_catalog, session_scope

# Settings a process takes from where it runs, never from the crawl row it takes up.
LOCAL_SETTINGS = frozenset({
    "STABLECOPY_DATA_DIR", "STABLECOPY_DB_URL", "STABLECOPY_CRAWL_ID", "STABLECOPY_RESUME",
    "STABLECOPY_PROGRESS", "STABLECOPY_SEED_FILES", "STABLECOPY_RUN_STORED",
    "STABLECOPY_REPAIR_AT_START",
})  # fmt: skip


def load_crawl(db_url: str, crawl_id: int) -> Crawl:
    """Crawl `crawl_id` as the catalogue at `db_url` has it (detached); CatalogError if none."""
    engine = open_catalog(db_url)
    try:
        with session_scope(engine) as session:
            crawl = session.get(Crawl, crawl_id)
            if crawl is None:
                raise CatalogError(f"there is no crawl {crawl_id}")
            return crawl
    finally:
        engine.dispose()


def active_crawls(session: Session) -> Sequence[Crawl]:
    """The crawls whose process may still be at work (starting or running)."""
    return session.scalars(select(Crawl).where(Crawl.status.in_(ACTIVE_STATUSES))).all()


def crawl_exists(session: Session, crawl_id: int) -> bool:
    return session.get(Crawl, crawl_id) is not None


def latest_crawl_id(session: Session) -> int | None:
    return session.scalar(select(func.max(Crawl.id)))


def carried_settings(crawl: Crawl) -> dict[str, Any]:
    """The settings `crawl` ran (or was set to run) with, seeds among them, without those of the
    place it ran in."""
    kept = {k: v for k, v in crawl.settings.items() if k not in LOCAL_SETTINGS}
    return {**kept, "STABLECOPY_SEED_URLS": list(crawl.seeds), "STABLECOPY_SEED_FILES": []}


def recent_crawls(session: Session, limit: int = 100) -> list[Crawl]:
    """The newest runs first."""
    return list(session.scalars(select(Crawl).order_by(Crawl.id.desc()).limit(limit)))


def capture_counts(session: Session, crawl_ids: list[int]) -> dict[int, int]:
    """Captures catalogued so far per run (a running crawl's counters are set when it ends)."""
    counts: dict[int, int] = {}
    if crawl_ids:
        for crawl_id, count in session.execute(
            select(Capture.crawl_id, func.count())
            .where(Capture.crawl_id.in_(crawl_ids))
            .group_by(Capture.crawl_id)
        ):
            counts[crawl_id] = count
    return counts


def crawl_failures(session: Session, crawl_id: int, limit: int = 500) -> list[FetchFailure]:
    return list(
        session.scalars(
            select(FetchFailure)
            .where(FetchFailure.crawl_id == crawl_id)
            .order_by(FetchFailure.failed_at)
            .limit(limit)
        )
    )


def capture_total(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Capture)) or 0)

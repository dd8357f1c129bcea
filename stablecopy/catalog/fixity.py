"""Fixity in the catalogue: runs and PREMIS-style events, and the fixity history of a capture."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from stablecopy import __version__
from stablecopy.catalog.models import FixityEvent, FixityRun

AGENT = f"stablecopy/{__version__}"
ALGORITHM = "SHA-256"
EVENT_BATCH = 1000


def start_run(session: Session, kind: str, scope: dict[str, Any]) -> FixityRun:
    run = FixityRun(
        started_at=datetime.now(UTC),
        kind=kind,
        scope=scope,
        agent=AGENT,
        files_checked=0,
        records_checked=0,
        bytes_read=0,
        findings=0,
    )
    session.add(run)
    session.flush()
    return run


def add_events(session: Session, run: FixityRun, events: Iterable[dict[str, Any]]) -> None:
    """Store events (dicts of FixityEvent columns) in batches, stamped with the run and algorithm.
    Inserted as plain rows (a run stores one per capture: the ORM's bookkeeping would double the
    time of a verification)."""
    table = cast(Table, FixityEvent.__table__)
    batch: list[dict[str, Any]] = []
    for event in events:
        batch.append({"run_id": run.id, "algorithm": ALGORITHM, **event})
        if len(batch) >= EVENT_BATCH:
            session.connection().execute(insert(table), batch)
            batch = []
    if batch:
        session.connection().execute(insert(table), batch)


@dataclass(frozen=True)
class History:
    """How often a capture has been checked, when last, and whether it ever failed."""

    runs: int
    last_checked: datetime | None
    failures: int
    last_failure: tuple[datetime, str, str] | None

    def __str__(self) -> str:
        if not self.runs or self.last_checked is None:
            return "never verified"
        times = "once" if self.runs == 1 else f"{self.runs} times"
        last = self.last_checked.strftime("%Y-%m-%dT%H:%M:%SZ")
        if not self.failures or self.last_failure is None:
            return f"verified {times}, last {last}, all intact"
        when, finding, detail = self.last_failure
        return (
            f"verified {times}, last {last}, {self.failures} failed check(s); last failure "
            f"{when:%Y-%m-%dT%H:%M:%SZ}: {finding}: {detail}"
        )


def capture_history(session: Session, capture_id: int) -> History:
    of_capture = FixityEvent.capture_id == capture_id
    runs, last = session.execute(
        select(
            func.count(func.distinct(FixityEvent.run_id)), func.max(FixityEvent.checked_at)
        ).where(of_capture)
    ).one()
    failures = session.scalar(
        select(func.count())
        .select_from(FixityEvent)
        .where(of_capture, FixityEvent.outcome == "fail")
    )
    latest = session.execute(
        select(FixityEvent.checked_at, FixityEvent.finding, FixityEvent.detail)
        .where(of_capture, FixityEvent.outcome == "fail")
        .order_by(FixityEvent.checked_at.desc(), FixityEvent.id.desc())
        .limit(1)
    ).first()
    last_failure = (latest[0], latest[1] or "", latest[2] or "") if latest else None
    return History(runs or 0, last, failures or 0, last_failure)

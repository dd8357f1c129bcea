"""Schedules in the catalogue: what they capture, when they are due, and the lease on a running one.

A run is started only by whoever wins the lease: one UPDATE that sets `claimed_by`/`claimed_until`
where no live claim exists (and, for due runs, where the schedule is due). The database decides
between competing schedulers, whichever machine they run on. The runner renews its lease while
the crawl runs; a lease left by a killed runner expires, and its crawl is marked interrupted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.orm import Session

from stablecopy.catalog.models import ACTIVE_STATUSES, Crawl, Schedule

NAME_LENGTH = 100


class ScheduleError(ValueError):
    """A schedule that cannot be added, found or changed as asked."""


@dataclass
class ScheduleSpec:
    """What a schedule captures and how often: everything `schedule add` takes."""

    seeds: list[str]
    follow: bool = False
    depth: int = 1
    allow: list[str] = field(default_factory=list)
    deny: list[str] = field(default_factory=list)
    settings: dict[str, str] = field(default_factory=dict)
    every_seconds: int | None = None
    cron: str | None = None
    timezone: str = "UTC"
    notify_url: str | None = None
    notify_cmd: str | None = None


def add_schedule(session: Session, name: str, spec: ScheduleSpec, now: datetime) -> Schedule:
    """A new, enabled schedule whose first run is due at once."""
    name = name.strip()
    if not name or len(name) > NAME_LENGTH:
        raise ScheduleError(f"a schedule name needs 1 to {NAME_LENGTH} characters")
    if get_schedule(session, name) is not None:
        raise ScheduleError(f"there is already a schedule named {name!r}")
    schedule = Schedule(name=name, created_at=now, next_due_at=now, enabled=True)
    apply_spec(schedule, spec)
    session.add(schedule)
    session.flush()
    return schedule


def apply_spec(schedule: Schedule, spec: ScheduleSpec) -> None:
    schedule.seeds = list(spec.seeds)
    schedule.follow = spec.follow
    schedule.depth = spec.depth
    schedule.allow = list(spec.allow)
    schedule.deny = list(spec.deny)
    schedule.settings = dict(spec.settings)
    schedule.every_seconds = spec.every_seconds
    schedule.cron = spec.cron
    schedule.timezone = spec.timezone
    schedule.notify_url = spec.notify_url
    schedule.notify_cmd = spec.notify_cmd


def spec_of(schedule: Schedule) -> ScheduleSpec:
    return ScheduleSpec(
        seeds=list(schedule.seeds),
        follow=schedule.follow,
        depth=schedule.depth,
        allow=list(schedule.allow),
        deny=list(schedule.deny),
        settings=dict(schedule.settings),
        every_seconds=schedule.every_seconds,
        cron=schedule.cron,
        timezone=schedule.timezone,
        notify_url=schedule.notify_url,
        notify_cmd=schedule.notify_cmd,
    )


def get_schedule(session: Session, name: str) -> Schedule | None:
    return session.scalar(select(Schedule).where(Schedule.name == name.strip()))


def require_schedule(session: Session, name: str) -> Schedule:
    schedule = get_schedule(session, name)
    if schedule is None:
        raise ScheduleError(f"there is no schedule named {name!r}")
    return schedule


def list_schedules(session: Session) -> Sequence[Schedule]:
    return session.scalars(select(Schedule).order_by(Schedule.name)).all()


def recent_runs(session: Session, schedule_id: int, limit: int = 10) -> Sequence[Crawl]:
    """The schedule's latest runs, newest first."""
    return session.scalars(
        select(Crawl)
        .where(Crawl.schedule_id == schedule_id)
        .order_by(Crawl.started_at.desc(), Crawl.id.desc())
        .limit(limit)
    ).all()


def last_run(session: Session, schedule_id: int) -> Crawl | None:
    runs = recent_runs(session, schedule_id, limit=1)
    return runs[0] if runs else None


def remove_schedule(session: Session, schedule: Schedule, now: datetime) -> int:
    """Delete a schedule that is not running; its runs stay, as plain crawls. Returns their count."""
    if schedule.claimed_until is not None and schedule.claimed_until > now:
        raise ScheduleError(
            f"schedule {schedule.name!r} is running ({schedule.claimed_by}); pause it, or wait"
        )
    runs = session.execute(
        update(Crawl).where(Crawl.schedule_id == schedule.id).values(schedule_id=None)
    )
    session.delete(schedule)
    return _rowcount(runs)


def due_schedules(session: Session, now: datetime) -> Sequence[Schedule]:
    """Enabled schedules due at `now` that nobody holds a live lease on, the most overdue first."""
    return session.scalars(
        select(Schedule)
        .where(Schedule.enabled.is_(True), Schedule.next_due_at <= now, _unclaimed(now))
        .order_by(Schedule.next_due_at, Schedule.id)
    ).all()


def _unclaimed(now: datetime) -> Any:
    return or_(Schedule.claimed_until.is_(None), Schedule.claimed_until <= now)


def _rowcount(result: Any) -> int:
    return int(result.rowcount) if isinstance(result, CursorResult) else 0


def claim(
    session: Session,
    schedule_id: int,
    worker: str,
    now: datetime,
    lease: timedelta,
    due_only: bool = True,
) -> bool:
    """Try to take the lease on a schedule; True if this worker now holds it (committed).

    With `due_only`, only an enabled schedule that is due can be claimed (the scheduler); without,
    any schedule not already running (`schedule run NAME`, on demand).
    """
    statement = (
        update(Schedule)
        .where(Schedule.id == schedule_id, _unclaimed(now))
        .values(claimed_by=worker, claimed_until=now + lease)
    )
    if due_only:
        statement = statement.where(Schedule.enabled.is_(True), Schedule.next_due_at <= now)
    won = _rowcount(session.execute(statement)) == 1
    session.commit()
    return won


def renew(session: Session, schedule_id: int, worker: str, until: datetime) -> bool:
    """Extend this worker's lease; False if it no longer holds it (it expired and was taken)."""
    result = session.execute(
        update(Schedule)
        .where(Schedule.id == schedule_id, Schedule.claimed_by == worker)
        .values(claimed_until=until)
    )
    session.commit()
    return _rowcount(result) == 1


def set_running(session: Session, schedule_id: int, worker: str, crawl_id: int) -> None:
    session.execute(
        update(Schedule)
        .where(Schedule.id == schedule_id, Schedule.claimed_by == worker)
        .values(running_crawl_id=crawl_id)
    )
    session.commit()


def release(session: Session, schedule_id: int, worker: str, next_due_at: datetime | None) -> None:
    """Give the lease back; `next_due_at` (when given) is when the schedule runs next."""
    values: dict[str, Any] = {"claimed_by": None, "claimed_until": None, "running_crawl_id": None}
    if next_due_at is not None:
        values["next_due_at"] = next_due_at
    session.execute(
        update(Schedule)
        .where(Schedule.id == schedule_id, Schedule.claimed_by == worker)
        .values(**values)
    )
    session.commit()


def abandoned_run(session: Session, schedule: Schedule) -> Crawl | None:
    """The crawl a previous holder of this (now claimed) schedule left running, if any."""
    if schedule.running_crawl_id is None:
        return None
    crawl = session.get(Crawl, schedule.running_crawl_id)
    if crawl is None or crawl.status not in ACTIVE_STATUSES:
        return None
    return crawl

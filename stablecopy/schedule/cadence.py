"""Cadence: when a schedule's runs fall due, every fixed interval or on a cron expression in a time zone.

Pure functions of the times they are given (no clock is read here), so the scheduler's behaviour
over months can be tested in microseconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_INTERVAL = re.compile(r"(\d+)\s*([smhdw])", re.IGNORECASE)
MINIMUM = timedelta(minutes=1)


class CadenceError(ValueError):
    """An interval, cron expression or time zone that cannot be used."""


def parse_interval(text: str) -> timedelta:
    """`6h`, `90m`, `1h30m`, `1d`, `2w` (s, m, h, d, w), at least one minute."""
    compact = text.strip().replace(" ", "")
    parts = _INTERVAL.findall(compact)
    if not parts or "".join(n + u for n, u in parts).lower() != compact.lower():
        raise CadenceError(f"not an interval: {text!r} (write it like 6h, 90m, 1h30m, 1d or 2w)")
    interval = timedelta(seconds=sum(int(n) * _UNITS[u.lower()] for n, u in parts))
    if interval < MINIMUM:
        raise CadenceError(f"interval {text!r} is shorter than one minute")
    return interval


def format_interval(interval: timedelta) -> str:
    """The shortest spelling of an interval: 6h, 1h30m, 1d."""
    seconds = int(interval.total_seconds())
    parts = []
    for unit in ("w", "d", "h", "m", "s"):
        count, seconds = divmod(seconds, _UNITS[unit])
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CadenceError(
            f"unknown time zone: {name!r} (use an IANA name like Europe/Paris)"
        ) from exc


@dataclass(frozen=True)
class Cadence:
    """Either `every` (an interval) or `cron` (five fields, read in `timezone`)."""

    every: timedelta | None = None
    cron: str | None = None
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if (self.every is None) == (self.cron is None):
            raise CadenceError("give either an interval (--every) or a cron expression (--cron)")
        zone(self.timezone)
        if self.cron is not None and not croniter.is_valid(self.cron):
            raise CadenceError(f"not a cron expression: {self.cron!r}")
        if self.every is not None and self.every < MINIMUM:
            raise CadenceError("an interval must be at least one minute")

    def describe(self) -> str:
        if self.every is not None:
            return f"every {format_interval(self.every)}"
        return f"cron {self.cron} ({self.timezone})"

    def next_after(self, moment: datetime, anchor: datetime | None = None) -> datetime:
        """The first due time strictly after `moment`, in UTC.

        An interval keeps its rhythm from `anchor` (the due time just served), skipping every
        slot missed while nothing ran: downtime coalesces into one run, not a burst of them.
        """
        if moment.tzinfo is None:
            raise ValueError("moment must be timezone-aware")
        if self.every is not None:
            if anchor is None or anchor > moment:
                return (moment + self.every).astimezone(UTC)
            missed = (moment - anchor) // self.every
            return (anchor + (missed + 1) * self.every).astimezone(UTC)
        assert self.cron is not None
        local = moment.astimezone(zone(self.timezone))
        following: datetime = croniter(self.cron, local).get_next(datetime)
        return following.astimezone(UTC)

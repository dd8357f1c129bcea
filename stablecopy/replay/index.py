"""The replay index: CDXJ files and a citation-id table that follow the catalogue as it grows.

`index.cdxj` holds every capture when the index was built; `delta.cdxj` the ones catalogued since,
rewritten whole (it stays small) and swapped in atomically. pywb reads every .cdxj file of the
folder and notices when the folder changes, so new captures replay within a refresh, no restart.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from stablecopy.catalog.queries import (
    CaptureFilter,
    capture_count_and_highest_id,
    captures_by_key,
    short_ids_after,
)
from stablecopy.export.cdxj import write_cdxj
from stablecopy.labels import timestamp14

DELTA_LIMIT = 20_000  # captures in delta.cdxj before the whole index is rebuilt
FULL = "index.cdxj"
DELTA = "delta.cdxj"


class ReplayIndex:
    """Keeps `<folder>/indexes/*.cdxj` and `<folder>/short-ids.sqlite3` in step with a catalogue."""

    def __init__(self, engine: Engine, folder: Path) -> None:
        self.engine = engine
        self.index_dir = folder / "indexes"
        self.short_ids = folder / "short-ids.sqlite3"
        self.built_to = 0  # captures up to this id are in index.cdxj
        self.state: tuple[int, int] = (-1, -1)  # (count, max id) last seen

    def _catalogue_state(self, session: Session) -> tuple[int, int]:
        return capture_count_and_highest_id(session)

    def refresh(self) -> bool:
        """Bring the index up to date; True when it changed."""
        with Session(self.engine) as session:
            state = self._catalogue_state(session)
            if state == self.state:
                return False
            count, highest = state
            grew = self.state[0] >= 0 and count - self.state[0] == highest - self.state[1] >= 0
            if not grew or highest - self.built_to > DELTA_LIMIT:
                self._rebuild(session, highest)
            else:
                self._write(session, DELTA, after=self.built_to)
                self._add_short_ids(session, after=self.state[1])
            self.state = state
            return True

    def _rebuild(self, session: Session, highest: int) -> None:
        self.index_dir.mkdir(parents=True, exist_ok=True)
        self._write(session, FULL, after=0, upto=highest)
        self.built_to = highest
        self._write(session, DELTA, after=highest)
        fresh = self.short_ids.with_name(self.short_ids.name + ".tmp")
        fresh.unlink(missing_ok=True)
        with sqlite3.connect(fresh) as db:
            db.execute(
                "CREATE TABLE short_ids (short_id TEXT PRIMARY KEY, timestamp TEXT, url TEXT)"
            )
        self._add_short_ids(session, after=0, table=fresh)
        fresh.replace(self.short_ids)

    def _write(self, session: Session, name: str, after: int, upto: int | None = None) -> None:
        target = self.index_dir / name
        partial = target.with_name(name + ".tmp")
        captures = captures_by_key(session, CaptureFilter(), after_id=after, upto_id=upto)
        with partial.open("w", encoding="utf-8") as out:
            write_cdxj(captures, out)
        partial.replace(target)

    def _add_short_ids(self, session: Session, after: int, table: Path | None = None) -> None:
        rows = short_ids_after(session, after)
        with sqlite3.connect(table or self.short_ids) as db:
            db.executemany(
                "INSERT OR REPLACE INTO short_ids VALUES (?, ?, ?)",
                ((short, timestamp14(moment), url) for short, moment, url in rows),
            )

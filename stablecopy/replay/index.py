"""The replay index: CDXJ files and a citation-id table that follow the catalogue as it grows.

`index.cdxj` holds every capture up to a high-water mark (a capture id), `delta.cdxj` the ones
catalogued since, rewritten whole (it stays small) and swapped in atomically; `state.json` records
both marks, so a restarted server extends the index it has instead of rebuilding it. The catalogue
is asked only for its highest capture id (the primary key's end: constant time at any size);
captures are only ever added, so a lower id than recorded means another catalogue: rebuilt. pywb
reads every .cdxj file of the folder and notices when it changes, so new captures replay within a
refresh, no restart.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from stablecopy.catalog.queries import (
    CaptureFilter,
    captures_by_key,
    highest_capture_id,
    short_ids_after,
)
from stablecopy.export.cdxj import write_cdxj
from stablecopy.labels import timestamp14

DELTA_LIMIT = 20_000  # captures in delta.cdxj before the whole index is rebuilt
FULL = "index.cdxj"
DELTA = "delta.cdxj"
STATE = "state.json"
SHORT_IDS_PER_BATCH = 10_000


class ReplayIndex:
    """Keeps `<folder>/indexes/*.cdxj` and `<folder>/short-ids.sqlite3` in step with a catalogue."""

    def __init__(self, engine: Engine, folder: Path) -> None:
        self.engine = engine
        self.index_dir = folder / "indexes"
        self.short_ids = folder / "short-ids.sqlite3"
        self.built_to = 0  # captures up to this id are in index.cdxj
        self.highest = -1  # captures up to this id are in the index (index.cdxj or delta.cdxj)
        self.rebuilds = 0  # whole rebuilds by this object (the first start's, or a new catalogue's)
        self._load_state()

    def _load_state(self) -> None:
        try:
            state = json.loads((self.index_dir / STATE).read_text("utf-8"))
            built_to, highest = int(state["built_to"]), int(state["highest"])
        except (OSError, ValueError, KeyError, TypeError):
            return
        if (self.index_dir / FULL).exists() and self.short_ids.exists():
            self.built_to, self.highest = built_to, highest

    def _save_state(self) -> None:
        state = self.index_dir / STATE
        partial = state.with_name(STATE + ".tmp")
        partial.write_text(json.dumps({"built_to": self.built_to, "highest": self.highest}))
        partial.replace(state)

    def refresh(self) -> bool:
        """Bring the index up to date; True when it changed."""
        with Session(self.engine) as session:
            highest = highest_capture_id(session)
            if highest == self.highest:
                return False
            if highest < self.highest or self.highest < 0 or highest - self.built_to > DELTA_LIMIT:
                self._rebuild(session, highest)
            else:
                # From the last rebuild, not the last refresh: on PostgreSQL a capture may commit
                # after one with a higher id (several workers), and is then picked up here.
                self._write(session, DELTA, after=self.built_to)
                self._add_short_ids(session, after=self.built_to)
            self.highest = highest
            self._save_state()
            return True

    def _rebuild(self, session: Session, highest: int) -> None:
        self.rebuilds += 1
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
        """Citation ids of the captures after `after`, streamed in batches (flat memory)."""
        rows = short_ids_after(session, after)
        with sqlite3.connect(table or self.short_ids) as db:
            batch: list[tuple[str, str, str]] = []
            for short, moment, url in rows:
                batch.append((short, timestamp14(moment), url))
                if len(batch) >= SHORT_IDS_PER_BATCH:
                    db.executemany("INSERT OR REPLACE INTO short_ids VALUES (?, ?, ?)", batch)
                    batch.clear()
            db.executemany("INSERT OR REPLACE INTO short_ids VALUES (?, ?, ?)", batch)

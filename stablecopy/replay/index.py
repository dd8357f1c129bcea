"""The replay index: CDXJ files and a citation-id table that follow the catalogue as it grows.

The citation-id table (SQLite, read by the replay process) maps each citation id to its capture's
time and URL, and to where the clean text of the capture holding its payload is archived, for the
banner's "clean text" link; CDXJ lines carry their capture's citation id for the banner too.

`index.cdxj` holds every capture up to a high-water mark (a capture id), `delta.cdxj` the ones
catalogued since, rewritten whole (it stays small) and swapped in atomically; `state.json` records
both marks, so a restarted server extends the index it has instead of rebuilding it. The catalogue
is asked only for its highest capture and extraction ids (primary keys' ends: constant time);
captures are only ever added, so a lower id than recorded means another catalogue: rebuilt. pywb
reads every .cdxj file of the folder and notices when it changes, so new captures replay within a
refresh, no restart.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from stablecopy.catalog.queries import (
    CaptureFilter,
    captures_by_key,
    highest_ids,
    short_ids_after,
    texts_after,
)
from stablecopy.export.cdxj import write_cdxj
from stablecopy.labels import timestamp14

DELTA_LIMIT = 20_000  # captures in delta.cdxj before the whole index is rebuilt
FULL = "index.cdxj"
DELTA = "delta.cdxj"
STATE = "state.json"
SHORT_IDS_PER_BATCH = 10_000
VERSION = 2  # of the index's layout: an index written by another is rebuilt
_TABLES = (
    "CREATE TABLE short_ids (short_id TEXT PRIMARY KEY, timestamp TEXT, url TEXT, holder INTEGER)",
    (
        "CREATE TABLE texts (capture_id INTEGER PRIMARY KEY, file TEXT, offset INTEGER, "
        "length INTEGER, sha256 TEXT)"
    ),
)


class ReplayIndex:
    """Keeps `<folder>/indexes/*.cdxj` and `<folder>/short-ids.sqlite3` in step with a catalogue."""

    def __init__(self, engine: Engine, folder: Path) -> None:
        self.engine = engine
        self.index_dir = folder / "indexes"
        self.short_ids = folder / "short-ids.sqlite3"
        self.built_to = 0  # captures up to this id are in index.cdxj
        self.highest = -1  # captures up to this id are in the index (index.cdxj or delta.cdxj)
        self.texts_to = 0  # the clean texts of extractions up to this id are in the table
        self.rebuilds = 0  # whole rebuilds by this object (the first start's, or a new catalogue's)
        self._load_state()

    def _load_state(self) -> None:
        try:
            state = json.loads((self.index_dir / STATE).read_text("utf-8"))
            built_to, highest = int(state["built_to"]), int(state["highest"])
            texts_to, version = int(state["texts_to"]), int(state["version"])
        except (OSError, ValueError, KeyError, TypeError):
            return
        if version == VERSION and (self.index_dir / FULL).exists() and self.short_ids.exists():
            self.built_to, self.highest, self.texts_to = built_to, highest, texts_to

    def _save_state(self) -> None:
        state = self.index_dir / STATE
        partial = state.with_name(STATE + ".tmp")
        state_now = {"version": VERSION, "built_to": self.built_to, "highest": self.highest,
                     "texts_to": self.texts_to}  # fmt: skip
        partial.write_text(json.dumps(state_now))
        partial.replace(state)

    def refresh(self) -> bool:
        """Bring the index up to date; True when it changed."""
        with Session(self.engine) as session:
            highest, texts = highest_ids(session)
            if highest == self.highest and texts == self.texts_to:
                return False
            if highest == self.highest and highest >= 0:
                self._add_texts(session, after=self.texts_to)
                self.texts_to = texts
                self._save_state()
                return True
            if highest < self.highest or self.highest < 0 or highest - self.built_to > DELTA_LIMIT:
                self._rebuild(session, highest)
            else:
                # From the last rebuild, not the last refresh: on PostgreSQL a capture may commit
                # after one with a higher id (several workers), and is then picked up here.
                self._write(session, DELTA, after=self.built_to)
                self._add_short_ids(session, after=self.built_to)
            self.highest = highest
            self._add_texts(session, after=self.texts_to)
            self.texts_to = texts
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
            for table in _TABLES:
                db.execute(table)
        self._add_short_ids(session, after=0, table=fresh)
        self.texts_to = 0
        self._add_texts(session, after=0, table=fresh)
        fresh.replace(self.short_ids)

    def _write(self, session: Session, name: str, after: int, upto: int | None = None) -> None:
        target = self.index_dir / name
        partial = target.with_name(name + ".tmp")
        captures = captures_by_key(session, CaptureFilter(), after_id=after, upto_id=upto)
        with partial.open("w", encoding="utf-8") as out:
            write_cdxj(captures, out, citations=True)
        partial.replace(target)

    def _add_short_ids(self, session: Session, after: int, table: Path | None = None) -> None:
        """Citation ids of the captures after `after`, streamed in batches (flat memory)."""
        rows = ((s, timestamp14(m), u, h) for s, m, u, h in short_ids_after(session, after))
        _insert(
            table or self.short_ids, "INSERT OR REPLACE INTO short_ids VALUES (?, ?, ?, ?)", rows
        )

    def _add_texts(self, session: Session, after: int, table: Path | None = None) -> None:
        """Where the clean texts of the extractions after `after` are archived, streamed."""
        rows = texts_after(session, after)
        _insert(
            table or self.short_ids, "INSERT OR REPLACE INTO texts VALUES (?, ?, ?, ?, ?)", rows
        )


def _insert(table: Path, statement: str, rows: Iterable[tuple[object, ...]]) -> None:
    with sqlite3.connect(table) as db:
        batch: list[tuple[object, ...]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= SHORT_IDS_PER_BATCH:
                db.executemany(statement, batch)
                batch.clear()
        db.executemany(statement, batch)

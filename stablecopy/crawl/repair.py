"""Repair after a crash: close abandoned WARC files, catalogue what they hold, mark dead crawls.

`stablecopy repair` runs it, and so does every `stablecopy crawl` before it starts. It only ever
adds: complete records stay where they are, bytes cut off the end of a file are moved aside under
`DATA_DIR/repair/`, rows are added for records the catalogue lacks, and crawls whose process is
gone are marked interrupted. Files a live process still writes are left alone (they are locked).
The one thing it deletes: the requests a killed crawl had waiting on disk (`crawl --resume` finds
them again from the archive). `stablecopy repair` (not the repair before a crawl) also makes the
clean text of pages whose extraction failed or never ran (stablecopy.crawl.latetexts).
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from stablecopy.archive.fixity import RecordFacts, file_sha256, scan
from stablecopy.archive.recovery import (
    RecoveryError,
    abandoned_files,
    archived_events,
    close_abandoned,
    crawl_id_of,
)
from stablecopy.archive.writer import finished_files
from stablecopy.catalog import files
from stablecopy.catalog.crawls import active_crawls
from stablecopy.catalog.models import (
    ACTIVE_STATUSES,
    Capture,
    Crawl,
    CrawlStatus,
)
from stablecopy.catalog.rows import (
    capture_by_record_id,
    capture_row,
    extraction_row,
    recount,
    redoable,
    short_id_for,
    warc_file_row,
)
from stablecopy.catalog.session import open_catalog, session_factory
from stablecopy.crawl.latetexts import LateTexts
from stablecopy.crawl.processes import is_running
from stablecopy.events import ArchivedText, Captured, WarcFileClosed
from stablecopy.frontier.spilling import remove_abandoned
from stablecopy.layout import DataLayout

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

REPAIR_SUBDIR = "repair"


@dataclass
class RepairReport:
    """What one repair did, as lines for people."""

    lines: list[str] = field(default_factory=list)
    closed: int = 0
    captures: int = 0
    texts: int = 0
    interrupted: list[int] = field(default_factory=list)
    problems: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.closed or self.captures or self.texts or self.interrupted)


def _alive(worker: str | None) -> bool:
    """Whether the process a crawl row names (`host:pid[:...]`) may still be running."""
    host, _, rest = (worker or "").partition(":")
    pid = rest.split(":", 1)[0]
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another machine's process: not ours to judge
    return is_running(int(pid))


class Repairer:
    """Repairs one data directory against its catalogue (the session is committed per file)."""

    def __init__(self, session: Session, layout: DataLayout) -> None:
        self.session = session
        self.layout = layout
        self.report = RepairReport()

    def run(self, texts: bool = False) -> RepairReport:
        """Repair; with `texts`, also make the clean text of every page that lacks it."""
        closed_now = self._close_abandoned()
        for path in self._uncatalogued_files(closed_now):
            try:
                self._catalogue(path)
            except SQLAlchemyError as exc:  # one file the catalogue refuses blocks no other
                self.session.rollback()
                self.report.problems += 1
                reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
                self.report.lines.append(
                    f"Could not catalogue {self.layout.relative(path)}: {reason}. Its records "
                    "stay in the file; `stablecopy verify` lists them."
                )
        self._mark_dead_crawls()
        for spill_dir in remove_abandoned(self.layout.tmp_dir):
            self.report.lines.append(
                f"Removed {self.layout.relative(spill_dir)}: requests a stopped crawl had waiting."
            )
        if texts:
            self._make_texts()
        return self.report

    def _make_texts(self) -> None:
        try:
            late = LateTexts(self.session, self.layout).run()
        except OSError as exc:
            self.session.rollback()
            self.report.problems += 1
            self.report.lines.append(f"Could not archive late clean text: {exc}")
            return
        if late.made:
            self.report.texts += late.made
            self.report.lines.append(
                f"Made the clean text of {late.made} capture(s) that had none (their extraction "
                "failed or never ran), archived in new WARC files of their crawls."
            )
        for problem in late.unreadable or []:
            self.report.problems += 1
            self.report.lines.append(f"Could not make clean text: {problem}")

    # --- files -----------------------------------------------------------------------------------

    def _close_abandoned(self) -> set[Path]:
        closed: set[Path] = set()
        aside = self.layout.root / REPAIR_SUBDIR
        for path in abandoned_files(self.layout.warc_dir):
            try:
                done = close_abandoned(path, aside)
            except (RecoveryError, OSError) as exc:
                self.report.problems += 1
                self.report.lines.append(f"Could not close {path.name}: {exc}")
                continue
            if done is None:
                continue  # a live crawl is writing it
            self.report.closed += 1
            closed.add(done.path)
            what = f"Closed {self.layout.relative(done.path)} ({done.records} records)"
            if done.aside is not None:
                what += (
                    f"; {done.cut} bytes after its last complete record moved to "
                    f"{self.layout.relative(done.aside)}"
                )
            if done.damaged_inside:
                what += "; it has a damaged record inside (run `stablecopy verify`)"
            self.report.lines.append(what + ".")
        return closed

    def _uncatalogued_files(self, closed_now: set[Path]) -> list[Path]:
        """Closed WARC files with no catalogue row for the file itself: their writer died before
        the catalogue heard of them, so their last records may lack rows too."""
        if not self.layout.warc_dir.is_dir():
            return []
        known = files.catalogued_paths(self.session)
        found = finished_files(self.layout.warc_dir)
        return [p for p in found if p in closed_now or self.layout.relative(p) not in known]

    def _catalogue(self, path: Path) -> None:
        relative = self.layout.relative(path)
        crawl_id = crawl_id_of(path)
        crawl = self.session.get(Crawl, crawl_id) if crawl_id is not None else None
        if crawl is None or crawl_id is None:
            self.report.lines.append(f"Left {relative} alone: it names no crawl of this catalogue.")
            return
        if crawl.status in ACTIVE_STATUSES and _alive(crawl.worker):
            return  # its crawl is alive and catalogues it itself
        captured, texts = self._catalogue_records(path, relative, crawl_id)
        sha256, size = file_sha256(path)
        records = _record_count(path)
        stamp = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        event = WarcFileClosed(relative, size, sha256, records, stamp, datetime.now(UTC))
        self.session.add(warc_file_row(event, crawl_id))
        self.session.commit()
        self.report.captures += captured
        self.report.texts += texts
        if captured or texts:
            self.report.lines.append(
                f"Catalogued {captured} capture(s) and {texts} clean text(s) of crawl {crawl_id} "
                f"from {relative}."
            )

    def _catalogue_records(self, path: Path, relative: str, crawl_id: int) -> tuple[int, int]:
        known_captures = files.capture_record_ids_in(self.session, relative)
        known_texts = files.text_record_ids_in(self.session, relative)
        pending: dict[str, Capture] = {}
        captured = texts = 0
        for event in archived_events(path, relative):
            if isinstance(event, Captured):
                if event.record_id in known_captures:
                    continue
                original = None
                if event.refers_to:
                    original = pending.get(event.refers_to) or capture_by_record_id(
                        self.session, event.refers_to
                    )
                taken = (c.short_id or "" for c in pending.values())
                short = short_id_for(self.session, event.record_id, taken)
                row = capture_row(event, crawl_id, original, short)
                self.session.add(row)
                pending[event.record_id] = row
                captured += 1
            elif isinstance(event, ArchivedText) and event.metadata_record_id not in known_texts:
                capture = pending.get(event.record_id) or capture_by_record_id(
                    self.session, event.record_id
                )
                if capture is None or not redoable(capture.extraction):
                    continue
                earlier = capture.extraction
                self.session.add(extraction_row(event, capture, event.archived_at, earlier))
                texts += 1
        return captured, texts

    # --- crawls ----------------------------------------------------------------------------------

    def _mark_dead_crawls(self) -> None:
        now = datetime.now(UTC)
        for crawl in active_crawls(self.session):
            if _alive(crawl.worker):
                continue
            crawl.status = CrawlStatus.INTERRUPTED
            crawl.finish_reason = crawl.finish_reason or "killed"
            crawl.finished_at = crawl.finished_at or now
            recount(self.session, crawl)
            self.report.interrupted.append(crawl.id)
            self.report.lines.append(
                f"Marked crawl {crawl.id} interrupted: its process ({crawl.worker}) is gone. "
                f"Continue it with `stablecopy crawl --resume {crawl.id}`."
            )
        self.session.commit()


def _record_count(path: Path) -> int:
    return sum(1 for item in scan(path) if isinstance(item, RecordFacts))


def repair_data_dir(layout: DataLayout, texts: bool = False) -> RepairReport:
    """Repair `layout` against its catalogue (with `texts`, making missing clean texts too);
    CatalogError if the catalogue cannot be opened."""
    engine = open_catalog(layout.db_url, writer=True)
    try:
        with session_factory(engine)() as session:
            return Repairer(session, layout).run(texts)  # it commits as it goes, file by file
    finally:
        engine.dispose()


class RepairAtStart:
    """Creates and repairs the data directory before a crawl started without the CLI (`scrapy
    crawl`, a Scrapyd job) writes to it, and logs what it did: STABLECOPY_REPAIR_AT_START."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        from scrapy.exceptions import NotConfigured

        from stablecopy.crawl.runner import prepare_data_dir

        if not crawler.settings.getbool("STABLECOPY_REPAIR_AT_START"):
            raise NotConfigured
        layout = DataLayout.from_settings(crawler.settings)
        prepare_data_dir(layout)  # DataDirError: one line saying which folder cannot be written
        report = repair_data_dir(layout)
        for line in report.lines:
            logger.warning("repair: %s", line)
        return cls()

"""Verification: what the WARC files hold, checked record by record against what the catalogue says.

The one place that joins the archive's fixity reader and the catalogue. A full run reads every WARC
file once, merging its records with the catalogued ones by offset (memory stays flat however big the
collection), so it also finds records nobody catalogued. A filtered run seeks to each selected
record instead. Every check is stored as a fixity event.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from stablecopy.archive import fixity
from stablecopy.archive.writer import OPEN_SUFFIX, finished_files
from stablecopy.catalog import caplog, queries
from stablecopy.catalog import fixity as catalog_fixity
from stablecopy.catalog.files import catalogued_files, closed_file, closed_files
from stablecopy.catalog.models import FixityRun
from stablecopy.catalog.queries import CaptureFilter, ExpectedRecord
from stablecopy.labels import sha256_label, warc_date
from stablecopy.layout import DataLayout, UnsafePathError

MISSING_FILE = "missing-file"
TRUNCATED = "truncated-record"
DAMAGED = "damaged-record"
NO_RECORD = "no-record-at-offset"
MOVED = "moved-record"
ALTERED_PAYLOAD = "altered-payload"
ALTERED_HTTP_HEADERS = "altered-http-headers"
ALTERED_WARC_HEADERS = "altered-warc-headers"
ALTERED_TEXT = "altered-text"
ALTERED_RECORD = "altered-record"
ORPHAN = "orphan"
FILE_CHANGED = "file-checksum-mismatch"
UNCATALOGUED_FILE = "uncatalogued-file"
UNSAFE_PATH = "unsafe-path"
UNREADABLE_FILE = "unreadable-file"
PROGRESS_STEP = 1 << 20  # bytes read between reports to the progress bar


class UnreadablePath(Exception):
    """A catalogued path that names no readable file: a folder, a name the system refuses."""


@dataclass(frozen=True)
class Finding:
    """Something that does not match: where, which capture, and what differs."""

    kind: str
    warc_file: str
    offset: int | None
    capture_id: int | None
    record_id: str | None
    detail: str
    expected: str | None = None
    observed: str | None = None

    def __str__(self) -> str:
        where = self.warc_file if self.offset is None else f"{self.warc_file}@{self.offset}"
        capture = f"capture {self.capture_id} " if self.capture_id is not None else ""
        record = f" {self.record_id}" if self.record_id else ""
        return f"{self.kind}: {capture}{where}{record}: {self.detail}"

    def as_json(self) -> dict[str, Any]:
        return {"finding": self.kind, **{k: v for k, v in asdict(self).items() if k != "kind"}}


@dataclass
class Summary:
    kind: str
    files: int = 0
    records: int = 0
    captures: int = 0
    bytes_read: int = 0
    findings: int = 0
    superseded: int = 0  # earlier text records of captures whose text was made again
    skipped_open: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return self.findings == 0


CAPTURE_KINDS = ("response", "revisit")
TEXT_KINDS = ("conversion", "metadata")


def _digest(hexdigest: str | None) -> str | None:
    return sha256_label(hexdigest) if hexdigest is not None else None


def _why_not_found(
    record: ExpectedRecord, damage: list[fixity.Damage], file_end: int
) -> tuple[str, str]:
    """Why a catalogued record was not read where the catalogue says it is."""
    for region in damage:
        if region.offset <= record.offset < region.offset + max(region.length, 1):
            return (TRUNCATED if "truncated" in region.reason else DAMAGED, region.reason)
    if record.offset >= file_end:
        return TRUNCATED, "the file ends before this record"
    return NO_RECORD, "no record with this id starts at this offset"


def compare(expected: ExpectedRecord, facts: fixity.RecordFacts) -> list[tuple[str, str]]:
    """What differs between a catalogued record and the record found at its offset."""
    if facts.record_id != expected.record_id:
        found = f"{facts.record_type} {facts.record_id}".strip()
        return [(ALTERED_WARC_HEADERS, f"the record here is {found}, not {expected.record_id}")]
    problems: list[tuple[str, str]] = []
    block_intact = facts.block_digest == _digest(facts.block_sha256)
    if facts.record_type != expected.kind:
        problems.append((ALTERED_WARC_HEADERS, f"WARC-Type is {facts.record_type}"))
    if expected.kind in CAPTURE_KINDS:
        # A revisit holds no payload: its block (the HTTP headers) and its stated digest of the
        # original's payload are what can be checked.
        if expected.kind == "response" and facts.payload_sha256 != expected.payload_sha256:
            problems.append((ALTERED_PAYLOAD, "the payload's SHA-256 differs from the catalogue"))
        elif not block_intact:
            problems.append((ALTERED_HTTP_HEADERS, "the HTTP headers changed (block digest fails)"))
        stated = {
            "WARC-Target-URI": (facts.target_uri, expected.url),
            "WARC-Date": (
                facts.date,
                warc_date(expected.fetched_at) if expected.fetched_at else None,
            ),
            "WARC-Payload-Digest": (facts.payload_digest, expected.payload_digest),
            "WARC-Block-Digest": (facts.block_digest, expected.block_digest),
        }
        changed = [name for name, (found, wanted) in stated.items() if found != wanted]
        if changed:
            problems.append(
                (ALTERED_WARC_HEADERS, f"{', '.join(changed)} differ from the catalogue")
            )
    elif expected.kind == "conversion":
        if facts.payload_sha256 != expected.payload_sha256:
            problems.append((ALTERED_TEXT, "the clean text's SHA-256 differs from the catalogue"))
        elif not block_intact:
            problems.append((ALTERED_WARC_HEADERS, "WARC-Block-Digest no longer matches the text"))
    elif not block_intact:
        problems.append((ALTERED_RECORD, f"the {expected.kind} record's block digest fails"))
    if expected.length is not None and facts.length != expected.length:
        size = f"its gzip member is {facts.length} bytes, the catalogue says {expected.length}"
        if not problems:
            return [(ALTERED_RECORD, size)]
        kind, detail = problems[0]
        problems[0] = (kind, f"{detail} ({size})")
    return problems


class Verifier:
    """Runs verification over one catalogue and data directory, storing what it finds.

    Args:
        session: a catalogue session; the run and its events are added to it.
        layout: the data directory.
        on_bytes: told how many more bytes were read (for a progress bar).
        on_finding: told each finding as it is made.
        readers: the processes that read WARC files (default: one per core, for this verifier);
            files may already be named to them, to be read while the catalogue is opened.
    """

    def __init__(
        self,
        session: Session,
        layout: DataLayout,
        on_bytes: Callable[[int], None] | None = None,
        on_finding: Callable[[Finding], None] | None = None,
        readers: fixity.Readers | None = None,
    ) -> None:
        self.session = session
        self._log_heads: set[str] | None = None
        self._own_readers = readers is None
        self.readers = readers or fixity.Readers(os.cpu_count() or 1)
        self.layout = layout
        self.on_bytes = on_bytes or (lambda _n: None)
        self.on_finding = on_finding or (lambda _f: None)
        self._events: list[dict[str, Any]] = []
        self._run: FixityRun | None = None
        self.summary = Summary(kind="records")
        self.fetch: Callable[[str, str], Path | None] | None = None

    # --- what to read ----------------------------------------------------------------------------

    def _path(self, relative: str) -> Path | None:
        """The file to read for a catalogued path: the closed file, or its .open while in use.
        UnsafePathError for a path that leads outside the data directory (or nowhere: empty),
        UnreadablePath for one that names no readable file (a folder, a name too long)."""
        path = self.layout.resolve(relative)
        try:
            for candidate in (path, path.with_name(path.name + OPEN_SUFFIX)):
                if candidate.is_file():
                    return candidate
                if candidate.exists():
                    raise UnreadablePath(f"{relative!r} is not a file")
        except OSError as exc:
            raise UnreadablePath(f"{relative[:120]!r}: {exc.strerror or exc}") from exc
        return self._from_store(relative)

    def _from_store(self, relative: str) -> Path | None:
        """A local copy of a file the data directory lacks but the store has (see `fetch`)."""
        if self.fetch is None:
            return None
        row = closed_file(self.session, relative)  # asked per missing file, not every row at start
        uri = row.store_uri if row is not None else None
        if uri is None:
            return None
        return self.fetch(relative, uri)

    def files_on_disk(self) -> set[str]:
        return {self.layout.relative(p) for p in finished_files(self.layout.warc_dir)}

    def total_bytes(self, selection: CaptureFilter) -> int:
        """How much a run will read (for a progress bar's total)."""
        if not selection.everything:
            return 0
        files = catalogued_files(self.session) | self.files_on_disk()
        total = 0
        for relative in files:
            try:
                path = self._path(relative)
            except (UnsafePathError, UnreadablePath):
                continue
            total += path.stat().st_size if path is not None else 0
        return total

    # --- runs ------------------------------------------------------------------------------------

    def verify_records(self, selection: CaptureFilter) -> Summary:
        """Check every selected catalogued record; with no filter, also find uncatalogued ones."""
        self.summary = Summary(kind="records")
        scope = {k: str(v) for k, v in asdict(selection).items() if v is not None}
        self._run = catalog_fixity.start_run(self.session, "records", scope)
        if selection.everything:
            self._verify_everything()
        else:
            self._verify_selected(selection)
        return self._finish()

    def verify_files(self) -> Summary:
        """Check every closed WARC file against the SHA-256 recorded when it was closed."""
        self.summary = Summary(kind="files")
        self._run = catalog_fixity.start_run(self.session, "files", {})
        catalogued = set()
        for row in closed_files(self.session):
            catalogued.add(row.path)
            self.summary.files += 1
            try:
                path: Path | None = self.layout.resolve(row.path)
            except UnsafePathError as exc:
                self._file_event(row.path, row.sha256, None, (UNSAFE_PATH, str(exc)))
                continue
            if path is None or not path.exists():
                path = self._from_store(row.path)
            if path is None:
                self._file_event(row.path, row.sha256, None, (MISSING_FILE, "the file is gone"))
                continue
            observed, size = fixity.file_sha256(path)
            self.on_bytes(size)
            self.summary.bytes_read += size
            problem = None
            if observed != row.sha256 or size != row.size:
                detail = f"{size} bytes now, {row.size} when closed; its SHA-256 differs"
                problem = (FILE_CHANGED, detail)
            self._file_event(row.path, row.sha256, observed, problem)
        for relative in sorted(self.files_on_disk() - catalogued):
            detail = "a closed WARC file the catalogue has no checksum for"
            self._file_event(relative, None, None, (UNCATALOGUED_FILE, detail))
        return self._finish()

    def _finish(self) -> Summary:
        run = self._run
        assert run is not None
        self._flush_events()
        run.finished_at = datetime.now(UTC)
        run.files_checked = self.summary.files
        run.records_checked = self.summary.records
        run.bytes_read = self.summary.bytes_read
        run.findings = self.summary.findings
        run.outcome = "intact" if self.summary.intact else "failed"
        if self._own_readers:
            self.readers.close()
        return self.summary

    # --- full run: read each file once -----------------------------------------------------------

    def _verify_everything(self) -> None:
        everything = CaptureFilter()
        files = sorted(catalogued_files(self.session) | self.files_on_disk())
        for number, relative in enumerate(files):
            self.summary.files += 1
            expected = queries.expected_records(self.session, everything, warc_file=relative)
            try:
                path = self._path(relative)
            except UnsafePathError as exc:
                self._all_missing(expected, (UNSAFE_PATH, str(exc)))
                continue
            except UnreadablePath as exc:
                self._all_missing(expected, (UNREADABLE_FILE, str(exc)))
                continue
            if path is None:
                self._all_missing(expected, (MISSING_FILE, "the file is gone"))
                continue
            if path.name.endswith(OPEN_SUFFIX):
                self.summary.skipped_open.append(relative)
            self.readers.start(path)
            if number + 1 < len(files):
                self._read_ahead(files[number + 1])
            self._merge(relative, path, expected)

    def _read_ahead(self, relative: str) -> None:
        """Have the readers begin the next file (when it is here) while this one is checked."""
        try:
            path = self.layout.resolve(relative)
            here = path.is_file()
        except (UnsafePathError, OSError):
            return
        if here:
            self.readers.start(path)

    def _all_missing(self, expected: Iterable[ExpectedRecord], problem: tuple[str, str]) -> None:
        for record in expected:
            self._checked(record, [problem])

    def _merge(self, relative: str, path: Path, expected: Iterator[ExpectedRecord]) -> None:
        """Check one file: every record found against the catalogue's rows for this file."""
        by_offset = {record.offset: record for record in expected}
        by_id = {record.record_id: record for record in by_offset.values()}
        damage: list[fixity.Damage] = []
        read_to = unreported = 0
        for found in self.readers.scan(path):
            end = found.offset + found.length
            self.summary.bytes_read += max(0, end - read_to)
            unreported += max(0, end - read_to)
            if unreported >= PROGRESS_STEP:
                self.on_bytes(unreported)
                unreported = 0
            read_to = max(read_to, end)
            if isinstance(found, fixity.Damage):
                damage.append(found)
                continue
            placed = by_offset.get(found.offset)
            if placed is not None and placed.record_id == found.record_id:
                del by_offset[found.offset]
                self._checked(placed, compare(placed, found), found)
                continue
            moved = by_id.get(found.record_id)
            if moved is not None and moved.offset in by_offset:
                del by_offset[moved.offset]
                detail = f"found at offset {found.offset}, the catalogue says {moved.offset}"
                self._checked(moved, [(MOVED, detail), *compare(moved, found)], found)
            elif found.record_type == "warcinfo":
                continue
            elif self._superseded(found, by_id):
                self.summary.superseded += 1
            elif self._log_record(found):
                continue
            else:
                detail = f"a {found.record_type} record the catalogue does not know"
                target = f" ({found.target_uri})" if found.target_uri else ""
                self._loose(
                    Finding(ORPHAN, relative, found.offset, None, found.record_id, detail + target)
                )
        self.on_bytes(unreported)
        for record in sorted(by_offset.values(), key=lambda r: r.offset):
            self._checked(record, [_why_not_found(record, damage, read_to)])
        for region in damage:
            if not any(region.offset <= r.offset < region.offset + max(region.length, 1)
                       for r in by_id.values()):  # fmt: skip
                kind = TRUNCATED if "truncated" in region.reason else DAMAGED
                self._loose(Finding(kind, relative, region.offset, None, None, region.reason))

    # --- filtered run: seek to each selected record ----------------------------------------------

    def _verify_selected(self, selection: CaptureFilter) -> None:
        files: set[str] = set()
        for record in queries.expected_records(self.session, selection):
            if record.warc_file not in files:
                files.add(record.warc_file)
                self.summary.files += 1
            try:
                path = self._path(record.warc_file)
            except UnsafePathError as exc:
                self._checked(record, [(UNSAFE_PATH, str(exc))])
                continue
            except UnreadablePath as exc:
                self._checked(record, [(UNREADABLE_FILE, str(exc))])
                continue
            if path is None:
                self._checked(record, [(MISSING_FILE, "the file is gone")])
                continue
            found = fixity.read_member(path, record.offset)
            self.on_bytes(found.length)
            self.summary.bytes_read += found.length
            if isinstance(found, fixity.Damage):
                kind = TRUNCATED if "truncated" in found.reason else DAMAGED
                self._checked(record, [(kind, found.reason)])
            else:
                self._checked(record, compare(record, found), found)

    # --- results ---------------------------------------------------------------------------------

    def _checked(
        self,
        record: ExpectedRecord,
        problems: list[tuple[str, str]],
        found: fixity.RecordFacts | None = None,
    ) -> None:
        self.summary.records += 1
        if record.kind in CAPTURE_KINDS:
            self.summary.captures += 1
        # A revisit has no payload of its own to observe.
        observed = found.payload_sha256 if found is not None and record.kind != "revisit" else None
        for kind, detail in problems:
            self._found(
                Finding(
                    kind,
                    record.warc_file,
                    record.offset,
                    record.capture_id,
                    record.record_id,
                    detail,
                    expected=record.payload_sha256,
                    observed=observed,
                )
            )
        if record.kind in CAPTURE_KINDS or problems:
            first: tuple[str | None, str | None] = problems[0] if problems else (None, None)
            self._event(
                object_kind="capture" if record.kind in CAPTURE_KINDS else "record",
                capture_id=record.capture_id,
                warc_file=record.warc_file,
                offset=record.offset,
                record_id=record.record_id,
                expected=record.payload_sha256,
                observed=observed,
                outcome="fail" if problems else "pass",
                finding=first[0],
                detail=first[1],
            )

    def _superseded(self, found: fixity.RecordFacts, here: dict[str, ExpectedRecord]) -> bool:
        """An earlier attempt at a catalogued capture's clean text (its worker died), whose row a
        resumed crawl or a repair has since refilled: kept in the archive, no longer catalogued."""
        if found.record_type not in TEXT_KINDS or not found.refers_to:
            return False
        return found.refers_to in here or queries.record_is_catalogued(
            self.session, found.refers_to
        )

    def _log_record(self, found: fixity.RecordFacts) -> bool:
        """A signed tree head or time-stamp token the archive wrote (kept in the log's tables; the
        file holding it is itself an entry of the log)."""
        key = caplog.head_key_of(found.target_uri or "")
        if found.record_type != "resource" or key is None:
            return False
        if self._log_heads is None:
            self._log_heads = caplog.signed_head_keys(self.session)
        return key in self._log_heads

    def _loose(self, finding: Finding) -> None:
        """A finding about bytes no catalogue row points at: an orphan, damage between records."""
        self._found(finding)
        self._event(
            object_kind="record",
            capture_id=None,
            warc_file=finding.warc_file,
            offset=finding.offset,
            record_id=finding.record_id,
            expected=None,
            observed=None,
            outcome="fail",
            finding=finding.kind,
            detail=finding.detail,
        )

    def _file_event(
        self,
        relative: str,
        expected: str | None,
        observed: str | None,
        problem: tuple[str, str] | None,
    ) -> None:
        if problem is not None:
            self._found(
                Finding(problem[0], relative, None, None, None, problem[1], expected, observed)
            )
        self._event(
            object_kind="file",
            capture_id=None,
            warc_file=relative,
            offset=None,
            record_id=None,
            expected=expected,
            observed=observed,
            outcome="fail" if problem else "pass",
            finding=problem[0] if problem else None,
            detail=problem[1] if problem else None,
        )

    def _found(self, finding: Finding) -> None:
        self.summary.findings += 1
        self.on_finding(finding)

    def _event(self, **event: Any) -> None:
        self._events.append({"checked_at": datetime.now(UTC), **event})
        if len(self._events) >= catalog_fixity.EVENT_BATCH:
            self._flush_events()

    def _flush_events(self) -> None:
        assert self._run is not None
        catalog_fixity.add_events(self.session, self._run, self._events)
        self._events = []

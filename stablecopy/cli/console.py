"""What the command line prints: tables, provenance, summaries, one-line log records, progress."""

from __future__ import annotations

import json
import logging
import re
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from rich.text import Text

from stablecopy.catalog.history import PAGE_COUNTS, RunSummary
from stablecopy.catalog.models import Capture
from stablecopy.catalog.requisites import STATES, RequisiteSet
from stablecopy.export.jsonl import capture_json, iso
from stablecopy.layout import DataLayout, UnsafePathError

if TYPE_CHECKING:
    from stablecopy.crawl.runner import CrawlOutcome
    from stablecopy.provenance.verifier import Summary

# What a server sent (URLs, titles, headers, clean text) reaches a person's terminal only with its
# control characters made visible: C0 and C1 controls (ESC among them: no escape sequence of a
# server's runs in the reader's terminal) and the bidirectional overrides that reorder a line.
_UNSAFE = "\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
_UNSAFE_IN_TEXT = re.compile(f"[{_UNSAFE}]")
_UNSAFE_IN_LINE = re.compile(f"[{_UNSAFE}\t\n]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown(value: object, lines: bool = False) -> str:
    """`value` safe to print for people: control characters as visible escapes (`\\x1b`); with
    `lines`, newlines and tabs are kept (a clean text, a citation)."""
    text = "" if value is None else str(value)
    return (_UNSAFE_IN_TEXT if lines else _UNSAFE_IN_LINE).sub(_visible, text)


def cell(value: object) -> Text:
    """A table cell from archived data: escaped, and never read as rich markup."""
    return Text(shown(value))


out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class ConsoleHandler(logging.Handler):
    """`LEVEL: message` on stderr, one line per record: tracebacks stay in the crawl's log file.

    Printing through the stderr console keeps the live progress line intact on a terminal.
    """

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage().splitlines()[0] if record.getMessage() else ""
            err.print(f"{record.levelname}: {message}", markup=False, highlight=False)
        except Exception:  # noqa: BLE001 (logging's contract: a handler reports, never raises)
            self.handleError(record)


class LogFileHandler(logging.FileHandler):
    """The crawl's log file. If it cannot be written (the disk is full), it says so once on the
    console and stops trying, rather than print a traceback for every line."""

    def handleError(self, record: logging.LogRecord) -> None:
        if getattr(self, "broken", False):
            return
        self.broken = True
        reason = sys.exc_info()[1]
        err.print(
            f"Warning: cannot write the log file {self.baseFilename} ({reason}); "
            "it stops here, the console goes on.",
            markup=False,
            highlight=False,
        )

    def emit(self, record: logging.LogRecord) -> None:
        if not getattr(self, "broken", False):
            super().emit(record)


def configure_logging(verbose: bool, log_file: Path) -> None:
    """Warnings on the console, one line each (all INFO with -v); the full log in the crawl's file."""
    root = logging.getLogger()
    root.setLevel(logging.INFO if not verbose else logging.DEBUG)
    console = ConsoleHandler()
    console.setLevel(logging.INFO if verbose else logging.WARNING)
    root.addHandler(console)
    file_handler = LogFileHandler(log_file, encoding="utf-8")
    file_handler.setLevel(logging.INFO)
    file_handler.setFormatter(
        logging.Formatter("%(asctime)s [%(name)s] %(levelname)s: %(message)s")
    )
    root.addHandler(file_handler)


def print_crawl_summary(outcome: CrawlOutcome, layout: DataLayout, log_file: Path) -> None:
    stat = outcome.stat
    extracted = stat("stablecopy/extraction/ok")
    no_text = sum(stat(f"stablecopy/extraction/{s}") for s in ("empty", "not-html", "error"))
    from stablecopy.catalog.recorder import crawl_status  # Scrapy: only when a crawl ran

    status = crawl_status(outcome.reason)
    reason = "" if outcome.reason in ("finished", "shutdown") else f" ({outcome.reason})"
    err.print(
        f"Crawl {outcome.crawl_id or '?'} {status}{reason}: "
        f"{stat('stablecopy/captures')} captures ({stat('stablecopy/revisits')} unchanged revisits, "
        f"{stat('stablecopy/truncated')} truncated), "
        f"{stat('stablecopy/fetch_failures')} failed fetches, "
        f"{extracted} clean texts ({no_text} pages without text), "
        f"{stat('stablecopy/warc_bytes') / 1e6:.2f} MB in {stat('stablecopy/warc_files')} WARC file(s)."
    )
    if "stablecopy/pages/new" in outcome.stats:
        counts = {name: stat(f"stablecopy/pages/{name}") for name in PAGE_COUNTS}
        err.print(f"Pages: {RunSummary(outcome.crawl_id or 0, **counts)}")
    err.print(f"Data: {layout.root}   Log: {log_file}")


def captures_table(rows: Sequence[Capture]) -> Table:
    """Narrow columns that never wrap, the URL folded whole, the title when there is room."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for name in ("id", "fetched (UTC)", "status", "type", "bytes"):
        table.add_column(name, no_wrap=True, justify="right" if name in ("id", "bytes") else "left")
    table.add_column("url", overflow="fold", min_width=24)
    with_titles = out.width >= 120
    if with_titles:
        table.add_column("title", no_wrap=True, overflow="ellipsis", max_width=40)
    for capture in rows:
        mime = (capture.content_type or "").split(";")[0].strip()
        cells = [
            str(capture.id),
            capture.fetched_at.strftime("%Y-%m-%d %H:%M:%S"),
            f"{capture.status} rev" if capture.record_type == "revisit" else str(capture.status),
            mime.split("/")[-1][:12],
            str(capture.payload_length),
            capture.url,
        ]
        if with_titles:
            extraction = capture.payload_capture.extraction
            cells.append((extraction.title or "") if extraction else "")
        table.add_row(*map(cell, cells))
    return table


def payload_check(capture: Capture, layout: DataLayout) -> str:
    """A shell line that prints the payload SHA-256 of `capture` from its WARC record with warcio
    and sha256sum alone, no stablecopy (the bytes as received: still content-encoded)."""
    try:
        path = shlex.quote(str(layout.resolve(capture.warc_file)))
    except UnsafePathError:
        return "(the catalogued file path is refused: run `stablecopy verify`)"
    read = (
        "import sys; from warcio.archiveiterator import ArchiveIterator; "
        "f = open(sys.argv[1], 'rb'); f.seek(int(sys.argv[2])); "
        "sys.stdout.buffer.write(next(iter(ArchiveIterator(f))).raw_stream.read())"
    )
    return f'python3 -c "{read}" {path} {capture.warc_offset} | sha256sum'


def print_provenance(capture: Capture, layout: DataLayout, fixity: str, log: str = "") -> None:
    fields = capture_json(capture)
    try:
        fields["warc_path"] = str(layout.resolve(capture.warc_file))
    except UnsafePathError as exc:
        fields["warc_path"] = f"refused: {exc} (run `stablecopy verify`)"
    original = capture.payload_capture
    if original is not capture:
        fields["revisit_of"] = (
            f"{original.short_id} (capture {original.id}, {iso(original.fetched_at)}): "
            f"payload and clean text are the original's, at {original.warc_file}:"
            f"{original.warc_offset}"
        )
    extraction = original.extraction
    if extraction is not None:
        fields.update(
            {
                "author": extraction.author,
                "published": extraction.published,
                "language": extraction.language,
                "site_name": extraction.site_name,
                "extractor": f"{extraction.extractor} {extraction.extractor_version}",
                "consent_elements_removed": extraction.removed_consent_elements,
                "conversion_record_id": extraction.conversion_record_id,
            }
        )
    fields["check_payload"] = payload_check(original, layout)
    fields["fixity"] = fixity
    if log:
        fields["capture_log"] = log
    width = max(len(key) for key in fields)
    for key, value in fields.items():
        out.print(f"{key:<{width}}  {shown(value)}", markup=False, highlight=False)


def print_requisites(found: RequisiteSet) -> None:
    """A page's requisites: one line for the set, one per requisite with its state."""
    if not found.states:
        out.print("requisites  none recorded (not an HTML page, or crawled with --no-requisites)",
                  markup=False, highlight=False)  # fmt: skip
        return
    counts = ", ".join(f"{found.count(state)} {state}" for state in STATES)
    verdict = "complete" if found.complete else "INCOMPLETE: the copy lacks what is listed below"
    out.print(f"requisites  {len(found.states)} ({counts}): {verdict}", markup=False,
              highlight=False)  # fmt: skip
    for state in found.states:
        held = f" (capture {state.capture.id})" if state.capture is not None else ""
        out.print(f"  {state.state:<9} {state.kind:<10} {state.url}  {state.detail}{held}",
                  markup=False, highlight=False)  # fmt: skip


def print_needed_by(documents: list[Capture]) -> None:
    shown_ids = ", ".join(f"{d.id} ({d.url})" for d in documents[:5])
    more = f" and {len(documents) - 5} more" if len(documents) > 5 else ""
    out.print(f"needed_by  {shown_ids or 'no document of its crawl'}{more}", markup=False,
              highlight=False)  # fmt: skip


def progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


def print_verify_summary(summary: Summary, elapsed: float, as_json: bool) -> None:
    megabytes = summary.bytes_read / 1e6
    if as_json:
        facts = {
            "kind": summary.kind,
            "files": summary.files,
            "records": summary.records,
            "captures": summary.captures,
            "bytes_read": summary.bytes_read,
            "seconds": round(elapsed, 3),
            "findings": summary.findings,
            "superseded_text_records": summary.superseded,
            "intact": summary.intact,
        }
        click.echo(json.dumps({"summary": facts}))
        return
    what = (
        f"{summary.files} WARC file(s)"
        if summary.kind == "files"
        else f"{summary.captures} captures ({summary.records} records) in {summary.files} file(s)"
    )
    outcome = "all intact" if summary.intact else f"{summary.findings} finding(s)"
    err.print(
        f"Verified {what}, {megabytes:.1f} MB read at {megabytes / elapsed:.1f} MB/s: {outcome}."
    )
    if summary.superseded:
        err.print(
            f"Note: {summary.superseded} earlier text record(s) of captures whose clean text was"
            " made again (after its worker died) are kept in the archive, no longer catalogued."
        )
    for relative in summary.skipped_open:
        err.print(f"Note: {relative} is still open (a crawl is running, or was killed).")

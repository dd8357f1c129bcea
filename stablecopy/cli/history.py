"""`stablecopy history` and `stablecopy diff`: how a page changed from one capture to the next."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import click
from rich import box
from rich.table import Table
from sqlalchemy.orm import Session

from stablecopy.catalog import queries
from stablecopy.catalog.history import FAILED, HistoryEntry, url_history
from stablecopy.catalog.keys import catalogued_url
from stablecopy.catalog.models import Capture
from stablecopy.cli.console import cell, out, shown
from stablecopy.cli.group import cli
from stablecopy.cli.options import catalog, location_options, utc
from stablecopy.export.jsonl import iso
from stablecopy.layout import DataLayout
from stablecopy.provenance import shortid


def _short(digest: str | None) -> str:
    return digest[:8] if digest else "-"


def _entry_json(entry: HistoryEntry) -> dict[str, object]:
    capture, failure = entry.capture, entry.failure
    facts: dict[str, object] = {
        "at": iso(entry.at),
        "change": entry.change,
        "crawl_id": entry.crawl_id,
    }
    if capture is not None:
        facts.update(
            id=capture.id,
            short_id=capture.short_id,
            status=capture.status,
            record_type=capture.record_type,
            revisit_profile=capture.revisit_profile,
            payload_sha256=capture.payload_sha256,
            text_sha256=entry.text_sha256,
        )
    if failure is not None:
        facts.update(error=f"{failure.error_type}: {failure.message}")
    return facts


def _history_table(entries: list[HistoryEntry]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for name in ("fetched (UTC)", "id", "status", "payload", "text"):
        table.add_column(name, no_wrap=True)
    table.add_column("change", overflow="fold")
    for entry in entries:
        capture = entry.capture
        when = entry.at.strftime("%Y-%m-%d %H:%M:%S")
        if capture is None:
            error = entry.failure.error_type if entry.failure else ""
            table.add_row(when, "-", "-", "-", "-", cell(f"{FAILED} ({error})"))
            continue
        status = str(capture.status)
        if capture.record_type == "revisit":
            status += " rev"
        table.add_row(
            when,
            capture.short_id or str(capture.id),
            status,
            _short(capture.payload_sha256),
            _short(entry.text_sha256),
            cell(entry.change),
        )
    return table


@cli.command()
@click.argument("url")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@location_options
def history(url: str, as_json: bool, data_dir: Path, db_url: str | None) -> None:
    """Every capture of URL, oldest first: time, citation id, status, payload and clean-text SHA-256
    (first 8 hex digits; --json gives them whole, with the crawl), and what changed since the capture
    before ("text unchanged": the bytes differ, the clean text does not)."""
    with catalog(data_dir, db_url) as session:
        entries = url_history(session, url)
        if not entries:
            raise click.ClickException(f"no capture of {url}")
        if as_json:
            for entry in entries:
                click.echo(json.dumps(_entry_json(entry), ensure_ascii=False))
            return
        out.print(_history_table(entries))


def _pick(
    session: Session,
    session_captures: list[Capture],
    when: str | None,
    default: Capture | None,
    url: str,
) -> Capture:
    """The capture named by `when` (a citation id, a capture number or a time), else `default`."""
    if when is None:
        if default is None:
            raise click.ClickException("there is no earlier capture with clean text to compare")
        return default
    reference = shortid.normalise(when) or when.strip()
    by_reference = [c for c in session_captures if reference in (c.short_id, str(c.id))]
    if by_reference:
        return by_reference[0]
    elsewhere = queries.find_capture(session, when) if not _looks_like_time(when) else None
    if elsewhere is not None:
        raise click.ClickException(
            f"capture {when} is of {elsewhere.url}, not of {url}"
            if elsewhere.url != catalogued_url(url)
            else f"capture {when} of {url} has no clean text to compare"
        )
    moment = utc(when)
    assert moment is not None
    return min(session_captures, key=lambda c: abs((c.fetched_at - moment).total_seconds()))


def _looks_like_time(value: str) -> bool:
    """A date or time (ISO 8601, a 14-digit timestamp), not a capture number or citation id."""
    digits = value.strip()
    return ("-" in digits[:5] and digits[:4].isdigit()) or (digits.isdigit() and len(digits) >= 8)


@cli.command()
@click.argument("url")
@click.option(
    "--from",
    "from_",
    metavar="WHEN",
    help="Older capture: a time (the nearest capture), a capture number or citation id "
    "[default: the capture before --to].",
)
@click.option(
    "--to",
    metavar="WHEN",
    help="Newer capture, given the same way [default: the latest].",
)
@click.option("--context", type=click.IntRange(min=0), default=3, show_default=True)
@location_options
def diff(
    url: str,
    from_: str | None,
    to: str | None,
    context: int,
    data_dir: Path,
    db_url: str | None,
) -> None:
    """A unified diff of the clean text of URL between two captures (revisits count as their
    original). Only captures with clean text are compared."""
    from stablecopy.provenance.texts import TextUnavailable, archived_text

    layout = DataLayout.create(data_dir, db_url)
    with catalog(data_dir, db_url) as session:
        texts = [
            c
            for c in queries.list_captures(session, url=url)
            if (extraction := c.payload_capture.extraction) and extraction.conversion_file
        ]
        if not texts:
            raise click.ClickException(f"no capture of {url} has clean text")
        texts.sort(key=lambda c: c.fetched_at)
        newer = _pick(session, texts, to, texts[-1], url)
        before = [c for c in texts if c.fetched_at < newer.fetched_at]
        older = _pick(session, texts, from_, before[-1] if before else None, url)
        if older.fetched_at > newer.fetched_at:
            older, newer = newer, older
        try:
            old_text, new_text = archived_text(layout, older), archived_text(layout, newer)
        except TextUnavailable as exc:
            raise click.ClickException(str(exc)) from exc

        def label(capture: Capture) -> str:
            return f"{url} captured {iso(capture.fetched_at)} ({capture.short_id})"

        if old_text == new_text:
            click.echo(shown(f"The clean text is the same in {label(older)} and {label(newer)}."))
            return
        lines = difflib.unified_diff(
            old_text.splitlines(),
            new_text.splitlines(),
            fromfile=label(older),
            tofile=label(newer),
            n=context,
            lineterm="",
        )
        colors = {"+": "green", "-": "red", "@": "cyan"}
        for line in lines:
            color = None if line.startswith(("+++", "---")) else colors.get(line[:1])
            click.echo(click.style(shown(line), fg=color) if color else shown(line))

"""`stablecopy captures` and `stablecopy show`: what the catalogue holds; one capture's provenance."""

from __future__ import annotations

import json
from pathlib import Path

import click

from stablecopy.catalog import queries
from stablecopy.catalog.fixity import capture_history
from stablecopy.catalog.requisites import needed_by, requisite_set
from stablecopy.cli.console import (
    captures_table,
    out,
    print_needed_by,
    print_provenance,
    print_requisites,
    shown,
)
from stablecopy.cli.group import cli
from stablecopy.cli.options import catalog, location_options, require_crawl
from stablecopy.export.jsonl import capture_json
from stablecopy.layout import DataLayout


@cli.command()
@click.option("--url", help="Only captures of this exact URL.")
@click.option("--crawl", "crawl_id", type=int, metavar="ID", help="Only captures of this crawl.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many captures.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@location_options
def captures(
    url: str | None,
    crawl_id: int | None,
    limit: int | None,
    as_json: bool,
    data_dir: Path,
    db_url: str | None,
) -> None:
    """List captures: when, what status, how big, which URL, and the title of its clean text."""
    with catalog(data_dir, db_url) as session:
        require_crawl(session, crawl_id)
        rows = queries.list_captures(session, url=url, crawl_id=crawl_id, limit=limit)
        if as_json:
            for capture in rows:
                fields = capture_json(capture)
                if capture.requisite is None:  # a page: is its copy complete?
                    fields["requisites"] = requisite_set(session, capture).summary()
                click.echo(json.dumps(fields, ensure_ascii=False))
            return
        out.print(captures_table(rows))


@cli.command()
@click.argument("reference", metavar="ID")
@click.option("--text", is_flag=True, help="Print the clean text, read back from its WARC record.")
@location_options
def show(reference: str, text: bool, data_dir: Path, db_url: str | None) -> None:
    """Show one capture's provenance (ID: its number or its citation id, e.g. 7KQM-3XPA): where
    its record is, its digests, how its text was made, and its fixity history."""
    from stablecopy.provenance.texts import TextUnavailable, archived_text

    layout = DataLayout.create(data_dir, db_url)
    with catalog(data_dir, db_url) as session:
        capture = queries.find_capture(session, reference)
        if capture is None:
            raise click.ClickException(f"there is no capture {reference}")
        if not text:
            from stablecopy.catalog.caplog import capture_log_status

            print_provenance(
                capture,
                layout,
                str(capture_history(session, capture.id)),
                capture_log_status(session, capture.id),
            )
            if capture.requisite is None:
                print_requisites(requisite_set(session, capture))
            else:
                print_needed_by(needed_by(session, capture))
            return
        try:
            click.echo(shown(archived_text(layout, capture), lines=True))
        except TextUnavailable as exc:
            raise click.ClickException(str(exc)) from exc

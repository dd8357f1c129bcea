"""`stablecopy verify`: proving each archived copy is the one fetched, byte for byte.

Reading WARC files is most of a check's work, so the first file is handed to reader processes
before the catalogue and the rest of the command are loaded: the two overlap.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from stablecopy.cli.group import cli
from stablecopy.cli.options import catalog, location_options, require_crawl, utc
from stablecopy.layout import DataLayout

if TYPE_CHECKING:
    from stablecopy.archive.fixity import Readers


@cli.command()
@click.option(
    "--crawl", "crawl_id", type=int, metavar="ID", help="Only the captures of this crawl."
)
@click.option("--url", help="Only the captures of this exact URL.")
@click.option(
    "--since", metavar="DATE", help="Only captures fetched at or after DATE (ISO 8601, UTC)."
)
@click.option(
    "--files",
    "whole_files",
    is_flag=True,
    help="Check whole WARC files against the SHA-256 recorded when each was closed.",
)
@click.option("--json", "as_json", is_flag=True, help="Findings, then a summary, as JSON lines.")
@location_options
def verify(
    crawl_id: int | None,
    url: str | None,
    since: str | None,
    whole_files: bool,
    as_json: bool,
    data_dir: Path,
    db_url: str | None,
) -> None:
    """Re-read catalogued records from their WARC files and check every SHA-256 digest against the
    WARC headers and the catalogue; without filters, also find records nobody catalogued and rows
    whose file is gone. Exit status 0 only when everything matches."""
    from stablecopy.archive.fixity import Readers
    from stablecopy.archive.writer import finished_files

    layout = DataLayout.create(data_dir, db_url)
    with Readers(os.cpu_count() or 1) as readers:
        if not whole_files and crawl_id is None and url is None and since is None:
            on_disk = finished_files(layout.warc_dir)
            if on_disk:
                readers.start(on_disk[0])  # the first file checked, read while the rest loads
        _verify(readers, layout, db_url, crawl_id, url, since, whole_files, as_json)


def _verify(
    readers: Readers,
    layout: DataLayout,
    db_url: str | None,
    crawl_id: int | None,
    url: str | None,
    since: str | None,
    whole_files: bool,
    as_json: bool,
) -> None:
    from stablecopy.catalog.queries import CaptureFilter
    from stablecopy.cli.console import err, print_verify_summary, progress
    from stablecopy.cli.store import store_cache
    from stablecopy.provenance.verifier import Finding, Verifier

    # A page's check covers what it needs to render: its requisites are part of its copy.
    selection = CaptureFilter(crawl_id=crawl_id, url=url, since=utc(since), with_requisites=True)
    if whole_files and not selection.everything:
        raise click.UsageError("--files checks whole files; it takes no --crawl, --url or --since")

    def report(finding: Finding) -> None:
        if as_json:
            click.echo(json.dumps(finding.as_json(), ensure_ascii=False))
        else:
            err.print(str(finding), markup=False)

    with catalog(layout.root, db_url) as session, progress() as bar, store_cache() as fetch:
        require_crawl(session, crawl_id)
        verifier = Verifier(session, layout, on_finding=report, readers=readers)
        verifier.fetch = fetch
        total = verifier.total_bytes(selection) if not whole_files else None
        task = bar.add_task("verifying", total=total or None)
        verifier.on_bytes = lambda count: bar.advance(task, count)
        started = time.monotonic()
        summary = verifier.verify_files() if whole_files else verifier.verify_records(selection)
        elapsed = max(time.monotonic() - started, 1e-6)
    nothing = not whole_files and not selection.everything and not summary.captures
    if as_json or not nothing:  # "all intact" of nothing would read as a success
        print_verify_summary(summary, elapsed, as_json)
    if not summary.intact:
        sys.exit(1)
    if nothing:
        raise click.ClickException("no capture matches: nothing was verified")

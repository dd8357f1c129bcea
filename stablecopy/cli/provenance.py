"""`stablecopy verify` and `stablecopy cite`: proving a copy is the one fetched, and citing it."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from stablecopy.catalog import queries
from stablecopy.catalog.models import Capture
from stablecopy.citation import FORMATS, CitationFacts, render
from stablecopy.cli.group import cli
from stablecopy.cli.options import catalog, location_options, replay_options, utc
from stablecopy.cli.store import store_cache
from stablecopy.console import err, print_verify_summary, progress
from stablecopy.layout import DataLayout


def citation_facts(capture: Capture, base_url: str, collection: str) -> CitationFacts:
    """What a citation of `capture` says; a revisit is cited at its own time, with the title and
    text of the original whose payload it repeats."""
    extraction = capture.payload_capture.extraction
    return CitationFacts(
        short_id=capture.short_id or "",
        url=capture.url,
        fetched_at=capture.fetched_at,
        payload_sha256=capture.payload_sha256,
        record_id=capture.record_id,
        archive_base=base_url,
        collection=collection,
        title=extraction.title if extraction else None,
        author=extraction.author if extraction else None,
        site_name=extraction.site_name if extraction else None,
        published=extraction.published if extraction else None,
        text_sha256=extraction.text_sha256 if extraction else None,
    )


@cli.command()
@click.argument("url", required=False)
@click.option(
    "--at", metavar="DATETIME", help="Cite the capture nearest this time [default: latest]."
)
@click.option("--id", "reference", metavar="ID", help="Cite this capture (number or citation id).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@replay_options
@location_options
def cite(
    url: str | None,
    at: str | None,
    reference: str | None,
    fmt: str,
    base_url: str,
    collection: str,
    data_dir: Path,
    db_url: str | None,
) -> None:
    """Cite an archived copy: of URL (the capture nearest --at, through any redirect it recorded),
    or of the capture --id. The same capture always gives the same citation, byte for byte."""
    if (url is None) == (reference is None):
        raise click.UsageError("give either a URL or --id")
    with catalog(data_dir, db_url) as session:
        if reference is not None:
            capture = queries.find_capture(session, reference)
            missing = f"there is no capture {reference}"
        else:
            capture = queries.citable_capture(session, url or "", utc(at))
            missing = f"no capture of {url}"
        if capture is None:
            raise click.ClickException(missing)
        click.echo(render(citation_facts(capture, base_url, collection), fmt))


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
    from stablecopy.verifier import Finding, Verifier

    selection = queries.CaptureFilter(crawl_id=crawl_id, url=url, since=utc(since))
    if whole_files and not selection.everything:
        raise click.UsageError("--files checks whole files; it takes no --crawl, --url or --since")
    layout = DataLayout.create(data_dir, db_url)

    def report(finding: Finding) -> None:
        if as_json:
            click.echo(json.dumps(finding.as_json(), ensure_ascii=False))
        else:
            err.print(str(finding), markup=False)

    with catalog(data_dir, db_url) as session, progress() as bar, store_cache() as fetch:
        verifier = Verifier(session, layout, on_finding=report)
        verifier.fetch = fetch
        total = verifier.total_bytes(selection) if not whole_files else None
        task = bar.add_task("verifying", total=total or None)
        verifier.on_bytes = lambda count: bar.advance(task, count)
        started = time.monotonic()
        summary = verifier.verify_files() if whole_files else verifier.verify_records(selection)
        elapsed = max(time.monotonic() - started, 1e-6)
    print_verify_summary(summary, elapsed, as_json)
    if not summary.intact:
        sys.exit(1)

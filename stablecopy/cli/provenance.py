"""`stablecopy cite`: citing an archived copy, in the formats researchers use."""

from __future__ import annotations

from pathlib import Path

import click

from stablecopy.catalog import queries
from stablecopy.catalog.models import Capture
from stablecopy.cli.console import shown
from stablecopy.cli.group import cli
from stablecopy.cli.options import catalog, location_options, replay_options, utc
from stablecopy.provenance.citation import FORMATS, CitationFacts, render


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
        click.echo(shown(render(citation_facts(capture, base_url, collection), fmt), lines=True))

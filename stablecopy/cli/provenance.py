"""`stablecopy cite`: citing an archived copy, in the formats researchers use."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click
from sqlalchemy.orm import Session

from stablecopy.catalog import queries
from stablecopy.catalog.fixity import capture_history
from stablecopy.catalog.models import Capture
from stablecopy.cli.console import err, shown
from stablecopy.cli.group import cli
from stablecopy.cli.options import catalog, location_options, replay_options, utc
from stablecopy.provenance.citation import FORMATS, render
from stablecopy.provenance.cited import citation_facts


def _warnings(
    session: Session, capture: Capture, url: str | None, at: datetime | None
) -> list[str]:
    """What a reader of this citation should know: a newer capture that is an error page was passed
    over, the capture's last fixity check failed."""
    found = []
    if url is not None:
        nearest = queries.citable_capture(session, url, at, content=False)
        if (
            nearest is not None
            and nearest.id != capture.id
            and nearest.fetched_at > capture.fetched_at
        ):
            found.append(
                f"a newer capture of {nearest.url} ({nearest.short_id}, {nearest.fetched_at:%Y-%m-%dT%H:%M:%SZ}) "
                f"answered {nearest.status or 'no HTTP status'}; citing the latest capture with "
                f"content ({capture.short_id}, {capture.fetched_at:%Y-%m-%dT%H:%M:%SZ}). "
                "--any-status cites the latest whatever its status"
            )
    history = capture_history(session, capture.id)
    if history.last_failure is not None and history.last_checked == history.last_failure[0]:
        when, finding, detail = history.last_failure
        found.append(
            f"the last fixity check of capture {capture.short_id} ({when:%Y-%m-%dT%H:%M:%SZ}) "
            f"failed: {finding}: {detail} (`stablecopy verify --url {capture.url}` checks it again)"
        )
    return found


@cli.command()
@click.argument("url", required=False)
@click.option(
    "--at",
    metavar="DATETIME",
    help="Cite the capture nearest this time (ISO 8601 or a 14-digit timestamp) [default: latest].",
)
@click.option("--id", "reference", metavar="ID", help="Cite this capture (number or citation id).")
@click.option(
    "--any-status",
    is_flag=True,
    help="Cite the nearest capture whatever its status, an error page included [default: the "
    "nearest with content].",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the citation, the capture and any warnings as JSON.",
)
@click.option(
    "--archive-name",
    envvar="STABLECOPY_ARCHIVE_NAME",
    default="",
    metavar="NAME",
    help="The archive's name as citations print it (CSL archive, RIS DB, the BibTeX note) "
    "[default: the host of --base-url].",
)
@click.option(
    "--evidence",
    "with_evidence",
    is_flag=True,
    help="Add where the capture log proves the capture (entry, signed tree head, time-stamp); "
    "`stablecopy evidence ID` writes the proof itself.",
)
@replay_options
@location_options
def cite(
    url: str | None,
    at: str | None,
    reference: str | None,
    any_status: bool,
    fmt: str,
    as_json: bool,
    archive_name: str,
    with_evidence: bool,
    base_url: str,
    collection: str,
    data_dir: Path,
    db_url: str | None,
) -> None:
    """Cite an archived copy: of URL (the capture nearest --at that has content, through any
    redirect it recorded), or of the capture --id. The same capture always gives the same
    citation, byte for byte. Warnings (a newer error page passed over, a failed fixity check) go
    to stderr."""
    if (url is None) == (reference is None):
        raise click.UsageError("give either a URL or --id")
    moment = utc(at)
    with catalog(data_dir, db_url) as session:
        if reference is not None:
            capture = queries.find_capture(session, reference)
            missing = f"there is no capture {reference}"
        else:
            capture = queries.citable_capture(session, url or "", moment, content=not any_status)
            missing = _missing(session, url or "", any_status)
        if capture is None:
            raise click.ClickException(missing)
        warnings = _warnings(session, capture, url if not any_status else None, moment)
        logged = None
        if with_evidence:
            from stablecopy.catalog.caplog import citation_evidence

            logged = citation_evidence(session, capture.id)
            if logged is None:
                warnings.append(f"capture {capture.short_id} is not yet proved by a signed tree "
                                "head (`stablecopy log sign`)")  # fmt: skip
        citation = render(citation_facts(capture, base_url, collection, archive_name, logged), fmt)
        for warning in warnings:
            err.print(shown(f"Warning: {warning}."), markup=False, highlight=False)
        if as_json:
            facts = {
                "capture": capture.id,
                "citation_id": capture.short_id,
                "url": capture.url,
                "fetched_at": capture.fetched_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "status": capture.status,
                "format": fmt,
                "citation": citation,
                "warnings": warnings,
            }
            click.echo(json.dumps(facts, ensure_ascii=False, indent=2))
            return
        click.echo(shown(citation, lines=True))


def _missing(session: Session, url: str, any_status: bool) -> str:
    """Why nothing can be cited for `url`, with the near miss when there is one."""
    if not any_status and queries.citable_capture(session, url, content=False) is not None:
        return f"no capture of {url} has content (only error pages); --any-status cites one anyway"
    near = queries.near_url(session, url)
    hint = f" (did you mean {near}?)" if near else ""
    return f"no capture of {url}{hint}"

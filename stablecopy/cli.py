"""The `stablecopy` command: a click group of thin commands over the library.

Expected failures print one line, `Error: ...`, and exit with status 1; never a traceback. The
environment variables STABLECOPY_DATA_DIR and STABLECOPY_DB_URL are read here, and only here.
"""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from stablecopy import __version__
from stablecopy.catalog import queries
from stablecopy.catalog.fixity import capture_history
from stablecopy.catalog.models import Capture
from stablecopy.catalog.session import CatalogError, open_catalog, session_scope
from stablecopy.citation import FORMATS, CitationFacts, render
from stablecopy.console import (
    captures_table,
    configure_logging,
    err,
    out,
    print_crawl_summary,
    print_provenance,
    print_verify_summary,
    progress,
)
from stablecopy.export.jsonl import capture_json
from stablecopy.layout import DataLayout, UnsafePathError
from stablecopy.seeds import collect_seeds

F = TypeVar("F", bound=Callable[..., Any])
INTERRUPTED = 130
DEFAULT_COLLECTION = "archive"
DEFAULT_BASE_URL = "http://127.0.0.1:8080"


def replay_options(command: F) -> F:
    """--base-url and --collection: where archived copies are replayed (see `stablecopy serve`)."""
    command = click.option(
        "--collection",
        envvar="STABLECOPY_COLLECTION",
        default=DEFAULT_COLLECTION,
        show_default=True,
        help="Replay collection name, the first part of archived URLs.",
    )(command)
    return click.option(
        "--base-url",
        envvar="STABLECOPY_BASE_URL",
        default=DEFAULT_BASE_URL,
        show_default=True,
        metavar="URL",
        help="Where the replay server is reached (the public address, for citations).",
    )(command)


def location_options(command: F) -> F:
    """--data-dir and --db, which every command takes."""
    command = click.option(
        "--db",
        "db_url",
        envvar="STABLECOPY_DB_URL",
        metavar="URL",
        help="Catalogue as an SQLAlchemy URL [default: sqlite:///DATA_DIR/stablecopy.db].",
    )(command)
    return click.option(
        "--data-dir",
        envvar="STABLECOPY_DATA_DIR",
        default="stablecopy-data",
        show_default=True,
        type=click.Path(file_okay=False, path_type=Path),
        help="Where WARC files, the SQLite catalogue and crawl logs live.",
    )(command)


def existing_catalog(data_dir: Path, db_url: str | None) -> Engine:
    """An engine on an existing catalogue, or a one-line error if it cannot be opened."""
    layout = DataLayout.create(data_dir, db_url)
    database = make_url(layout.db_url).database if layout.db_url.startswith("sqlite") else None
    if database and database != ":memory:" and not Path(database).exists():
        raise click.ClickException(f"no catalogue at {database} (nothing crawled there yet?)")
    try:
        return open_catalog(layout.db_url)
    except CatalogError as exc:
        raise click.ClickException(str(exc)) from exc


@contextmanager
def catalog(data_dir: Path, db_url: str | None) -> Iterator[Session]:
    """A session on an existing catalogue, committed when the block ends."""
    engine = existing_catalog(data_dir, db_url)
    try:
        with session_scope(engine) as session:
            yield session
    finally:
        engine.dispose()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="stablecopy")
def cli() -> None:
    """Archive news sites with provenance: Scrapy crawls into WARC files, clean text, and a
    catalogue that says where every byte is and what its hash was when fetched."""


def _parse_set(pairs: tuple[str, ...]) -> dict[str, str]:
    settings = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="-s")
        settings[key.strip()] = value
    return settings


@cli.command()
@click.argument("urls", nargs=-1, metavar="[URL]...")
@click.option(
    "--seeds",
    "seed_files",
    multiple=True,
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Seed file: one URL per line, '#' starts a comment. Repeatable.",
)
@click.option("--follow", is_flag=True, help="Follow links that stay on each seed's site.")
@click.option(
    "--depth",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="How many link hops --follow goes from a seed (or a listed article).",
)
@click.option(
    "--allow",
    multiple=True,
    metavar="REGEX",
    help="Only capture listed or linked URLs matching one of these. Repeatable.",
)
@click.option(
    "--deny",
    multiple=True,
    metavar="REGEX",
    help="Never capture listed or linked URLs matching any of these. Repeatable.",
)
@location_options
@click.option(
    "-s",
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Any Scrapy or STABLECOPY_* setting, at command-line priority. Repeatable.",
)
@click.option("-v", "--verbose", is_flag=True, help="Show the crawl's INFO log on the console.")
def crawl(
    urls: tuple[str, ...],
    seed_files: tuple[str, ...],
    follow: bool,
    depth: int,
    allow: tuple[str, ...],
    deny: tuple[str, ...],
    data_dir: Path,
    db_url: str | None,
    overrides: tuple[str, ...],
    verbose: bool,
) -> None:
    """Crawl seed URLs (articles, sitemaps or RSS/Atom feeds) into WARC files and the catalogue.

    Exit status: 0 when the crawl finished and everything was archived, 1 when a WARC file or the
    catalogue could not be written (or nothing could be crawled), 130 when it was interrupted.
    """
    from stablecopy.runner import DataDirError, prepare_data_dir, project_settings, run_crawl

    seeds, problems = collect_seeds(urls, seed_files)
    for problem in problems:
        err.print(f"Warning: skipping seed {problem}")
    if not seeds:
        raise click.ClickException("no valid seed URL to crawl")
    layout = DataLayout.create(data_dir, db_url)
    try:
        prepare_data_dir(layout)
        open_catalog(layout.db_url).dispose()
    except (DataDirError, CatalogError) as exc:
        raise click.ClickException(str(exc)) from exc
    settings = {
        "STABLECOPY_SEED_URLS": seeds,
        "STABLECOPY_SEED_FILES": [],
        "STABLECOPY_FOLLOW": follow,
        "STABLECOPY_DEPTH": depth,
        "STABLECOPY_ALLOW": list(allow),
        "STABLECOPY_DENY": list(deny),
        "STABLECOPY_DATA_DIR": str(layout.root),
        "STABLECOPY_DB_URL": layout.db_url,
        "STABLECOPY_PROGRESS": True,
        **_parse_set(overrides),
    }
    log_file = layout.log_dir / f"crawl-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}.log"
    configure_logging(verbose, log_file)
    outcome = run_crawl(project_settings(settings))
    print_crawl_summary(outcome, layout, log_file)
    if outcome.failed:
        raise click.ClickException(
            f"{outcome.write_errors} write error(s); the crawl stopped ({outcome.reason})"
            if outcome.write_errors
            else f"the crawl stopped: {outcome.reason}"
        )
    if outcome.interrupted:
        sys.exit(INTERRUPTED)


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
        rows = queries.list_captures(session, url=url, crawl_id=crawl_id, limit=limit)
        if as_json:
            for capture in rows:
                click.echo(json.dumps(capture_json(capture), ensure_ascii=False))
            return
        out.print(captures_table(rows))


@cli.command()
@click.argument("reference", metavar="ID")
@click.option("--text", is_flag=True, help="Print the clean text, read back from its WARC record.")
@location_options
def show(reference: str, text: bool, data_dir: Path, db_url: str | None) -> None:
    """Show one capture's provenance (ID: its number or its citation id, e.g. 7KQM-3XPA): where
    its record is, its digests, how its text was made, and its fixity history."""
    from stablecopy.archive.reader import RecordReadError, read_record

    layout = DataLayout.create(data_dir, db_url)
    with catalog(data_dir, db_url) as session:
        capture = queries.find_capture(session, reference)
        if capture is None:
            raise click.ClickException(f"there is no capture {reference}")
        capture_id = capture.id
        extraction = capture.extraction
        if not text:
            print_provenance(capture, layout, str(capture_history(session, capture.id)))
            return
        if extraction is None or extraction.conversion_file is None:
            status = extraction.status if extraction else "not extracted"
            raise click.ClickException(f"capture {capture_id} has no clean text ({status})")
        try:
            path = layout.resolve(extraction.conversion_file)
            record = read_record(path, extraction.conversion_offset or 0)
        except (RecordReadError, UnsafePathError) as exc:
            raise click.ClickException(str(exc)) from exc
        if record.payload_sha256 != extraction.text_sha256:
            raise click.ClickException(
                f"the text record at {extraction.conversion_file}:{extraction.conversion_offset} "
                "does not match the SHA-256 catalogued for it"
            )
        click.echo(record.payload.decode("utf-8"))


def citation_facts(capture: Capture, base_url: str, collection: str) -> CitationFacts:
    extraction = capture.extraction
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
            capture = queries.citable_capture(session, url or "", _utc(at))
            missing = f"no capture of {url}"
        if capture is None:
            raise click.ClickException(missing)
        click.echo(render(citation_facts(capture, base_url, collection), fmt))


def _utc(value: str | None) -> datetime | None:
    """A date or datetime given on the command line, as aware UTC (naive means UTC)."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)  # Python 3.11 reads "Z" too
    except ValueError as exc:
        raise click.BadParameter(f"not an ISO 8601 date or time: {value!r}") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


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

    selection = queries.CaptureFilter(crawl_id=crawl_id, url=url, since=_utc(since))
    if whole_files and not selection.everything:
        raise click.UsageError("--files checks whole files; it takes no --crawl, --url or --since")
    layout = DataLayout.create(data_dir, db_url)

    def report(finding: Finding) -> None:
        if as_json:
            click.echo(json.dumps(finding.as_json(), ensure_ascii=False))
        else:
            err.print(str(finding), markup=False)

    with catalog(data_dir, db_url) as session, progress() as bar:
        verifier = Verifier(session, layout, on_finding=report)
        total = verifier.total_bytes(selection) if not whole_files else None
        task = bar.add_task("verifying", total=total or None)
        verifier.on_bytes = lambda count: bar.advance(task, count)
        started = time.monotonic()
        summary = verifier.verify_files() if whole_files else verifier.verify_records(selection)
        elapsed = max(time.monotonic() - started, 1e-6)
    print_verify_summary(summary, elapsed, as_json)
    if not summary.intact:
        sys.exit(1)


@cli.command()
@click.option(
    "--wacz",
    "wacz_path",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="OUT.wacz",
    help="Write a WACZ 1.1.1 package.",
)
@click.option(
    "--cdxj", "cdxj_path", metavar="OUT", help="Write a CDXJ index ('-': standard output)."
)
@click.option(
    "--jsonl",
    "jsonl_path",
    metavar="OUT",
    help="Write the captures as JSON lines ('-': standard output).",
)
@click.option(
    "--crawl", "crawl_id", type=int, metavar="ID", help="Only the captures of this crawl."
)
@click.option("--url-prefix", metavar="PREFIX", help="Only captures whose URL starts with PREFIX.")
@click.option("--since", metavar="DATE", help="Only captures fetched at or after DATE (ISO 8601).")
@click.option("--until", metavar="DATE", help="Only captures fetched at or before DATE (ISO 8601).")
@click.option("--title", help="Title of the WACZ package.")
@location_options
def export(
    wacz_path: Path | None,
    cdxj_path: str | None,
    jsonl_path: str | None,
    crawl_id: int | None,
    url_prefix: str | None,
    since: str | None,
    until: str | None,
    title: str | None,
    data_dir: Path,
    db_url: str | None,
) -> None:
    """Export captures for colleagues and scripts: a self-contained WACZ (WARC records, CDXJ index,
    pages with their clean text, datapackage with checksums), a CDXJ index, or JSON lines."""
    from stablecopy.export.cdxj import write_cdxj
    from stablecopy.export.jsonl import write_jsonl
    from stablecopy.export.wacz import ExportError, WaczWriter

    chosen = [option for option in (wacz_path, cdxj_path, jsonl_path) if option is not None]
    if len(chosen) != 1:
        raise click.UsageError("give exactly one of --wacz, --cdxj and --jsonl")
    selection = queries.CaptureFilter(
        crawl_id=crawl_id, url_prefix=url_prefix, since=_utc(since), until=_utc(until)
    )
    layout = DataLayout.create(data_dir, db_url)
    with catalog(data_dir, db_url) as session:
        if wacz_path is not None:
            try:
                summary = WaczWriter(session, layout).write(selection, wacz_path, title=title)
            except (ExportError, OSError) as exc:
                raise click.ClickException(str(exc)) from exc
            err.print(
                f"Wrote {summary.path}: {summary.captures} captures, {summary.pages} pages, "
                f"{len(summary.archive_files)} WARC file(s) ({summary.excerpts} excerpted), "
                f"{summary.size / 1e6:.2f} MB."
            )
            return
        target = cdxj_path or jsonl_path or "-"
        with click.open_file(target, "w", encoding="utf-8") as out:
            if cdxj_path is not None:
                count = write_cdxj(queries.captures_by_key(session, selection), out)
            else:
                count = write_jsonl(queries.selected_captures(session, selection), out)
        if target != "-":
            err.print(f"Wrote {target}: {count} captures.")


@cli.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Anything but loopback publishes the archive.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8080,
    show_default=True,
    help="Port to listen on (0: any free port).",
)
@click.option(
    "--collection",
    envvar="STABLECOPY_COLLECTION",
    default=DEFAULT_COLLECTION,
    show_default=True,
    help="Collection name, the first part of archived URLs.",
)
@click.option(
    "--pywb-python",
    envvar="STABLECOPY_PYWB_PYTHON",
    metavar="PATH",
    help="A Python that has pywb [default: this one if it has pywb, else a virtualenv "
    "of its own under ~/.cache/stablecopy, made on first use].",
)
@location_options
def serve(
    host: str,
    port: int,
    collection: str,
    pywb_python: str | None,
    data_dir: Path,
    db_url: str | None,
) -> None:
    """Replay the archive with pywb: /{collection}/{timestamp}/{url} as `cite` prints it, raw
    bytes with id_, Memento TimeGate and TimeMap, and /{citation id} as a redirect to its capture.
    New captures appear as the catalogue grows. Read-only; binds to 127.0.0.1 by default."""
    from stablecopy.replay.environment import ReplayEnvironmentError
    from stablecopy.replay.environment import pywb_python as find_pywb
    from stablecopy.replay.server import ReplayError, ReplayServer

    layout = DataLayout.create(data_dir, db_url)
    if not ipaddress_is_loopback(host):
        err.print(f"Warning: listening on {host}: anyone who can reach it can read this archive.")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "stablecopy"
    try:
        python = find_pywb(pywb_python, cache, notify=err.print)
    except ReplayEnvironmentError as exc:
        raise click.ClickException(str(exc)) from exc
    engine = existing_catalog(data_dir, db_url)
    server = ReplayServer(engine, layout, collection, python)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        address = server.start(host, port)
        click.echo(f"Replaying {collection} at {address.url(f'/{collection}/')}")
        sys.stdout.flush()
        timemaps = address.url(f"/{collection}/timemap/link/")
        err.print(f"Memento TimeMaps: {timemaps}URL; citation ids: {address.url('/')}XXXX-XXXX.")
        server.follow()
    except ReplayError as exc:
        raise click.ClickException(str(exc)) from exc
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        engine.dispose()


def ipaddress_is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main() -> None:
    cli(prog_name="stablecopy")

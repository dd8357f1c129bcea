"""`stablecopy crawl`: seeds and flags become settings at command-line priority; one crawl runs."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from stablecopy.catalog.session import CatalogError, open_catalog
from stablecopy.cli.group import cli
from stablecopy.cli.options import (
    location_options,
    parse_settings,
    scope_options,
    settings_option,
)
from stablecopy.console import configure_logging, err, print_crawl_summary
from stablecopy.layout import DataLayout
from stablecopy.seeds import collect_seeds

INTERRUPTED = 130


@cli.command()
@click.argument("urls", nargs=-1, metavar="[URL]...")
@scope_options()
@location_options
@settings_option
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
        **parse_settings(overrides),
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

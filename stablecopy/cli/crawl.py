"""`stablecopy crawl`: seeds and flags become settings at command-line priority; one crawl runs."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from stablecopy.catalog.session import CatalogError, open_catalog
from stablecopy.cli.group import cli
from stablecopy.cli.options import location_options
from stablecopy.console import configure_logging, err, print_crawl_summary
from stablecopy.layout import DataLayout
from stablecopy.seeds import collect_seeds

INTERRUPTED = 130


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

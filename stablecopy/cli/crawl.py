"""`stablecopy crawl`: seeds and flags become settings at command-line priority; one crawl runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from stablecopy.catalog.crawls import carried_settings
from stablecopy.catalog.models import ACTIVE_STATUSES
from stablecopy.catalog.session import CatalogError, open_catalog
from stablecopy.cli.console import err
from stablecopy.cli.group import cli
from stablecopy.cli.options import (
    location_options,
    parse_settings,
    scope_options,
    settings_option,
    stored_crawl,
)
from stablecopy.cli.running import repair_before_crawling, run_and_report
from stablecopy.cli.shared import check_redis, new_shared_crawl, redis_option
from stablecopy.cli.store import store_option
from stablecopy.crawl.seeds import collect_seeds
from stablecopy.layout import DataLayout

_SCOPE = ("urls", "seed_files", "follow", "depth", "allow", "deny")


def resumed_settings(layout: DataLayout, crawl_id: int) -> dict[str, Any]:
    """The settings crawl `crawl_id` ran with (its seeds and scope among them), to continue it."""
    crawl = stored_crawl(layout, crawl_id)
    if crawl.status in ACTIVE_STATUSES:
        raise click.ClickException(
            f"crawl {crawl_id} is still running ({crawl.worker}); stop it first"
        )
    return carried_settings(crawl)


@cli.command()
@click.argument("urls", nargs=-1, metavar="[URL]...")
@scope_options()
@click.option(
    "--requisites/--no-requisites",
    default=True,
    help="Also archive what each page needs to render: stylesheets, fonts, images, scripts, "
    "iframes, from any host (ad and tracker hosts excepted).  [default: --requisites]",
)
@click.option(
    "--resume",
    "resume_id",
    type=click.IntRange(min=1),
    metavar="CRAWL_ID",
    help="Continue an interrupted crawl with its own seeds and settings: what it captured is "
    "read back from its WARC records, the rest is fetched.",
)
@redis_option
@store_option
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
    requisites: bool,
    resume_id: int | None,
    redis_url: str | None,
    store_uri: str | None,
    data_dir: Path,
    db_url: str | None,
    overrides: tuple[str, ...],
    verbose: bool,
) -> None:
    """Crawl seed URLs (articles, sitemaps or RSS/Atom feeds) into WARC files and the catalogue.

    Before it starts, the data directory is repaired (see `stablecopy repair`). With --redis, the
    crawl's frontier lives in Redis and `stablecopy worker --crawl ID` processes, here or on other
    machines sharing the catalogue, join it.

    Exit status: 0 when the crawl finished and everything was archived, 1 when a WARC file or the
    catalogue could not be written (or nothing could be crawled), 130 when it was interrupted.
    """
    from stablecopy.crawl.runner import DataDirError, prepare_data_dir

    layout = DataLayout.create(data_dir, db_url)
    context = click.get_current_context()
    if resume_id is not None:
        given = [
            n for n in _SCOPE if context.get_parameter_source(n) is ParameterSource.COMMANDLINE
        ]
        if given:
            raise click.UsageError(
                "--resume continues a crawl with its own seeds and scope; give none of "
                + ", ".join(f"--{n.replace('_', '-')}" for n in given if n != "urls")
                + (" or URLs" if "urls" in given else "")
            )
    else:
        seeds, problems = collect_seeds(urls, seed_files)
        for problem in problems:
            err.print(f"Warning: skipping seed {problem}")
        if not seeds:
            raise click.ClickException("no valid seed URL to crawl")
    if redis_url:
        if resume_id is not None:
            raise click.UsageError(
                "a shared crawl is continued with `stablecopy worker --crawl ID`"
            )
        check_redis(redis_url)
    try:
        prepare_data_dir(layout)
        open_catalog(layout.db_url).dispose()
    except (DataDirError, CatalogError) as exc:
        raise click.ClickException(str(exc)) from exc
    repair_before_crawling(layout)
    if resume_id is not None:
        settings: dict[str, Any] = {
            **resumed_settings(layout, resume_id),
            "STABLECOPY_CRAWL_ID": resume_id,
            "STABLECOPY_RESUME": True,
        }
    else:
        settings = {
            "STABLECOPY_SEED_URLS": seeds,
            "STABLECOPY_SEED_FILES": [],
            "STABLECOPY_FOLLOW": follow,
            "STABLECOPY_DEPTH": depth,
            "STABLECOPY_ALLOW": list(allow),
            "STABLECOPY_DENY": list(deny),
        }
    if (
        resume_id is None
        or context.get_parameter_source("requisites") is ParameterSource.COMMANDLINE
    ):
        settings["STABLECOPY_REQUISITES"] = requisites
    if store_uri:
        settings["STABLECOPY_STORE"] = store_uri
    settings.update(parse_settings(overrides))
    if redis_url:
        crawl_id, token = new_shared_crawl(layout, seeds, settings)
        settings.update(
            {
                "STABLECOPY_REDIS_URL": redis_url,
                "STABLECOPY_CRAWL_ID": crawl_id,
                "STABLECOPY_FRONTIER_TOKEN": token,
            }
        )
        err.print(
            f"Shared crawl {crawl_id}: more workers join with "
            f"`stablecopy worker --redis {redis_url} --crawl {crawl_id}`",
            markup=False,
            highlight=False,
        )
    run_and_report(layout, settings, verbose)

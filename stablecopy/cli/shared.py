"""`stablecopy worker` and `crawl --redis`: several processes, on any machines, sharing one crawl.

The crawl's frontier (queue and duplicate filter) lives in Redis; its rows live in the one catalogue
(PostgreSQL when the workers are on several machines); each worker writes its own WARC files.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from stablecopy.catalog.crawls import LOCAL_SETTINGS, carried_settings
from stablecopy.catalog.models import Crawl, CrawlStatus
from stablecopy.catalog.session import CatalogError, open_catalog, session_scope
from stablecopy.cli.console import err
from stablecopy.cli.group import cli
from stablecopy.cli.options import (
    location_options,
    parse_settings,
    settings_option,
    stored_crawl,
)
from stablecopy.cli.running import repair_before_crawling, run_and_report
from stablecopy.cli.store import store_option
from stablecopy.layout import DataLayout

F = TypeVar("F", bound=Callable[..., Any])


def redis_option(command: F) -> F:
    return click.option(
        "--redis",
        "redis_url",
        envvar="STABLECOPY_REDIS_URL",
        metavar="URL",
        help="Share the crawl's frontier on this Redis server (redis://host:port/db), so that "
        "`stablecopy worker` processes can join it.",
    )(command)


def check_redis(url: str) -> None:
    """A one-line error unless Redis answers at `url`."""
    from redis import Redis
    from redis.exceptions import RedisError

    try:
        client = Redis.from_url(url, socket_connect_timeout=5)
        client.ping()
        client.close()
    except (RedisError, ValueError) as exc:
        raise click.ClickException(f"cannot reach Redis at {url}: {exc}") from exc


def new_shared_crawl(
    layout: DataLayout, seeds: list[str], settings: dict[str, Any]
) -> tuple[int, str]:
    """The crawl row a shared crawl needs before any process starts (its id and token name the
    Redis keys), and that token."""
    engine = open_catalog(layout.db_url, writer=True)
    try:
        with session_scope(engine) as session:
            # Seeds are the row's own; the Redis URL is where each worker runs.
            local = LOCAL_SETTINGS | {"STABLECOPY_SEED_URLS", "STABLECOPY_REDIS_URL"}
            shared = {k: v for k, v in settings.items() if k not in local}
            shared["STABLECOPY_FRONTIER_TOKEN"] = secrets.token_hex(6)
            crawl = Crawl(
                started_at=datetime.now(UTC),
                status=CrawlStatus.STARTING,
                seeds=list(seeds),
                settings=shared,
                software={},
                worker="",
                captures=0,
                failures=0,
                write_errors=0,
                warc_bytes=0,
                extracted=0,
            )
            session.add(crawl)
            session.flush()
            return crawl.id, shared["STABLECOPY_FRONTIER_TOKEN"]
    finally:
        engine.dispose()


def joined_settings(layout: DataLayout, crawl_id: int) -> dict[str, Any]:
    """The settings of shared crawl `crawl_id` (scope, politeness), for one more worker."""
    crawl = stored_crawl(layout, crawl_id)
    if crawl.status in (CrawlStatus.FINISHED, CrawlStatus.FAILED):
        raise click.ClickException(f"crawl {crawl_id} is over ({crawl.status})")
    settings = carried_settings(crawl)
    if not settings.get("STABLECOPY_FRONTIER_TOKEN"):
        raise click.ClickException(
            f"crawl {crawl_id} is not a shared crawl (start one with `crawl --redis`)"
        )
    return {**settings, "STABLECOPY_SEED_URLS": [], "STABLECOPY_SEED_FILES": []}


@cli.command()
@click.option(
    "--redis",
    "redis_url",
    envvar="STABLECOPY_REDIS_URL",
    required=True,
    metavar="URL",
    help="The Redis server holding the crawl's frontier.",
)
@click.option(
    "--crawl",
    "crawl_id",
    required=True,
    type=click.IntRange(min=1),
    metavar="ID",
    help="The shared crawl to join (printed by `stablecopy crawl --redis`).",
)
@store_option
@location_options
@settings_option
@click.option("-v", "--verbose", is_flag=True, help="Show the crawl's INFO log on the console.")
def worker(
    redis_url: str,
    crawl_id: int,
    store_uri: str | None,
    data_dir: Path,
    db_url: str | None,
    overrides: tuple[str, ...],
    verbose: bool,
) -> None:
    """Join shared crawl ID: take requests from its Redis queue until the crawl is over.

    The worker writes its own WARC files into its data directory and its rows into the crawl's
    catalogue (give the same --db as the other workers). It leaves when the queue is drained and
    every worker is idle; stopped early (Ctrl-C, SIGTERM), it puts back what it had not fetched.
    """
    from stablecopy.crawl.runner import DataDirError, prepare_data_dir

    layout = DataLayout.create(data_dir, db_url)
    check_redis(redis_url)
    try:
        prepare_data_dir(layout)
        open_catalog(layout.db_url).dispose()
    except (DataDirError, CatalogError) as exc:
        raise click.ClickException(str(exc)) from exc
    repair_before_crawling(layout)
    settings = joined_settings(layout, crawl_id)
    if store_uri:
        settings["STABLECOPY_STORE"] = store_uri
    settings.update(parse_settings(overrides))
    settings.update({"STABLECOPY_REDIS_URL": redis_url, "STABLECOPY_CRAWL_ID": crawl_id})
    err.print(f"Worker joining crawl {crawl_id}", markup=False, highlight=False)
    run_and_report(layout, settings, verbose)

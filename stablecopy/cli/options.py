"""What the commands share: --data-dir/--db and --base-url/--collection, the catalogue, dates.

The environment variables STABLECOPY_DATA_DIR, STABLECOPY_DB_URL, STABLECOPY_BASE_URL and
STABLECOPY_COLLECTION are read here, as option defaults, and nowhere else in the package. The
catalogue (SQLAlchemy) is loaded when a command opens it, not when the options are declared.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from stablecopy.layout import DataLayout

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from stablecopy.catalog.models import Crawl

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


def listen_options(port: int) -> Callable[[F], F]:
    """--host (loopback by default) and --port, for the commands that serve HTTP."""

    def options(command: F) -> F:
        command = click.option(
            "--port", type=click.IntRange(0, 65535), default=port, show_default=True,
            help="Port to listen on (0: any free port).",
        )(command)  # fmt: skip
        return click.option(
            "--host", default="127.0.0.1", show_default=True,
            help="Address to listen on. Anything but loopback publishes the archive.",
        )(command)  # fmt: skip

    return options


def keys_dir_option(command: F) -> F:
    return click.option(
        "--keys-dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="STABLECOPY_KEYS_DIR",
        help="Where the archive's private keys are [default: DATA_DIR/keys].",
    )(command)


def existing_catalog(data_dir: Path, db_url: str | None, writer: bool = False) -> Engine:
    """An engine on an existing catalogue, or a one-line error if it cannot be opened; a `writer`
    takes SQLite's write lock as each transaction begins (beside a running crawl)."""
    from sqlalchemy.engine import make_url

    from stablecopy.catalog.session import CatalogError, open_catalog

    layout = DataLayout.create(data_dir, db_url)
    database = make_url(layout.db_url).database if layout.db_url.startswith("sqlite") else None
    if database and database != ":memory:" and not Path(database).exists():
        raise click.ClickException(f"no catalogue at {database} (nothing crawled there yet?)")
    try:
        return open_catalog(layout.db_url, writer=writer)
    except CatalogError as exc:
        raise click.ClickException(str(exc)) from exc


@contextmanager
def catalog(data_dir: Path, db_url: str | None) -> Iterator[Session]:
    """A session on an existing catalogue, committed when the block ends."""
    from stablecopy.catalog.session import session_scope

    engine = existing_catalog(data_dir, db_url)
    try:
        with session_scope(engine) as session:
            yield session
    finally:
        engine.dispose()


def require_crawl(session: Session, crawl_id: int | None) -> None:
    """A one-line error when `--crawl ID` names no crawl: an empty answer would look like one."""
    from stablecopy.catalog.crawls import crawl_exists

    if crawl_id is not None and not crawl_exists(session, crawl_id):
        raise click.ClickException(f"there is no crawl {crawl_id} in this catalogue")


def utc(value: str | None) -> datetime | None:
    """A date or datetime given on the command line, as aware UTC (naive means UTC): ISO 8601, or
    the 14-digit timestamp of a replay URL (YYYYMMDDhhmmss, or a prefix of it down to the year)."""
    if value is None:
        return None
    digits = value.strip()
    try:
        if digits.isdigit() and 4 <= len(digits) <= 14 and len(digits) % 2 == 0:
            moment = datetime.strptime(digits, "%Y%m%d%H%M%S"[: len(digits) - 2])
        else:
            moment = datetime.fromisoformat(value)  # Python 3.11 reads "Z" too
    except ValueError as exc:
        raise click.BadParameter(
            f"not an ISO 8601 date or time, nor a 14-digit timestamp: {value!r}"
        ) from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_settings(pairs: tuple[str, ...]) -> dict[str, str]:
    """`-s KEY=VALUE` options as a dict of settings."""
    settings = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="-s")
        settings[key.strip()] = value
    return settings


def settings_option(command: F) -> F:
    return click.option(
        "-s",
        "--set",
        "overrides",
        multiple=True,
        metavar="KEY=VALUE",
        help="Any Scrapy or STABLECOPY_* setting, at command-line priority. Repeatable.",
    )(command)


def scope_options(editing: bool = False) -> Callable[[F], F]:
    """What a crawl captures: --seeds, --follow, --depth, --allow, --deny (for `schedule edit`,
    without defaults: only what is given changes)."""

    def decorate(command: F) -> F:
        for option in reversed(
            [
                click.option(
                    "--seeds",
                    "seed_files",
                    multiple=True,
                    type=click.Path(dir_okay=False),
                    metavar="FILE",
                    help="Seed file: one URL per line, '#' starts a comment. Repeatable.",
                ),
                click.option(
                    "--follow/--no-follow",
                    default=None if editing else False,
                    help="Follow links that stay on each seed's site.",
                ),
                click.option(
                    "--depth",
                    type=click.IntRange(min=0),
                    default=None if editing else 1,
                    show_default=not editing,
                    help="How many link hops --follow goes from a seed (or a listed article).",
                ),
                click.option(
                    "--allow",
                    multiple=True,
                    metavar="REGEX",
                    help="Only capture listed or linked URLs matching one of these. Repeatable.",
                ),
                click.option(
                    "--deny",
                    multiple=True,
                    metavar="REGEX",
                    help="Never capture listed or linked URLs matching any of these. Repeatable.",
                ),
            ]
        ):
            command = option(command)
        return command

    return decorate


def stored_crawl(layout: DataLayout, crawl_id: int) -> Crawl:
    """Crawl `crawl_id` as the catalogue has it (detached), or a one-line error."""
    from stablecopy.catalog.crawls import load_crawl
    from stablecopy.catalog.session import CatalogError

    try:
        return load_crawl(layout.db_url, crawl_id)
    except CatalogError as exc:
        raise click.ClickException(str(exc)) from exc

"""`stablecopy serve`: pywb replay of the data directory, its index the catalogue itself."""

from __future__ import annotations

import ipaddress
import os
import signal
import sys
from pathlib import Path

import click
from sqlalchemy.orm import Session

from stablecopy.cli.console import err
from stablecopy.cli.group import cli
from stablecopy.cli.options import (
    DEFAULT_COLLECTION,
    existing_catalog,
    keys_dir_option,
    listen_options,
    location_options,
)
from stablecopy.cli.store import restore_from_store
from stablecopy.layout import DataLayout


@cli.command()
@listen_options(8080)
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
@keys_dir_option
@location_options
def serve(
    host: str,
    port: int,
    collection: str,
    pywb_python: str | None,
    keys_dir: Path | None,
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
    with Session(engine) as session:
        restored = restore_from_store(session, layout)
    if restored:
        click.echo(f"Fetched {restored} WARC file(s) the data directory lacked from the store")
    from stablecopy.evidence.keys import KeyFiles

    server = ReplayServer(
        engine, layout, collection, python, KeyFiles.configured(keys_dir, layout.root)
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        address = server.start(host, port)
        click.echo(f"Replaying {collection} at {address.url(f'/{collection}/')}")
        sys.stdout.flush()
        timemaps = address.url(f"/{collection}/timemap/link/")
        err.print(f"Memento TimeMaps: {timemaps}URL; citation ids: {address.url('/')}XXXX-XXXX.")
        err.print(
            f"Capture log for witnesses: {address.url('/log/tree-head')}, /log/proof, /log/key."
        )
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

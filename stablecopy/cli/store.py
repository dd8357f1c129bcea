"""`--store` and `stablecopy upload`: finished WARC files copied to S3-compatible storage."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.orm import Session

from stablecopy.catalog import files
from stablecopy.cli.console import err, out
from stablecopy.cli.group import cli
from stablecopy.cli.options import existing_catalog, location_options
from stablecopy.layout import DataLayout, UnsafePathError
from stablecopy.storage.s3 import S3Location, S3Store, StoreError, client

F = TypeVar("F", bound=Callable[..., Any])


def store_option(command: F) -> F:
    return click.option(
        "--store",
        "store_uri",
        envvar="STABLECOPY_STORE",
        metavar="s3://BUCKET/PREFIX",
        help="Upload every finished WARC file there, check it by SHA-256, and catalogue where it "
        "is (endpoint and keys: AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).",
    )(command)


@contextmanager
def store_cache() -> Iterator[Callable[[str, str], Path | None]]:
    """A fetcher of stored files the data directory lacks, into a temporary folder removed after.

    Each file is fetched once; one that cannot be fetched is reported and treated as missing.
    """
    with tempfile.TemporaryDirectory(prefix="stablecopy-store-") as folder:
        fetched: dict[str, Path | None] = {}
        stores: dict[str, S3Store] = {}

        def fetch(relative: str, uri: str) -> Path | None:
            if uri not in fetched:
                target = Path(folder) / Path(relative).name
                try:
                    root = S3Location.parse(uri)
                    if root.bucket not in stores:
                        stores[root.bucket] = S3Store(f"s3://{root.bucket}", client())
                    stores[root.bucket].download(uri, target)
                    fetched[uri] = target
                except StoreError as exc:
                    err.print(f"Warning: {exc}", markup=False, highlight=False)
                    fetched[uri] = None
            return fetched[uri]

        yield fetch


def restore_from_store(session: Session, layout: DataLayout) -> int:
    """Fetch into the data directory every stored WARC file it lacks; how many were fetched."""
    restored = 0
    with store_cache() as fetch:
        for row in files.stored_files(session):
            target = layout.resolve(row.path)
            if target.exists() or row.store_uri is None:
                continue
            fetched = fetch(row.path, row.store_uri)
            if fetched is not None:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(fetched, target)
                restored += 1
    return restored


@cli.command()
@click.option(
    "--store",
    "store_uri",
    envvar="STABLECOPY_STORE",
    required=True,
    metavar="s3://BUCKET/PREFIX",
    help="Where the files go.",
)
@location_options
def upload(store_uri: str, data_dir: Path, db_url: str | None) -> None:
    """Upload every finished WARC file not yet stored (after a failed upload, or to a new store).

    Each upload is read back and compared with the SHA-256 taken when the file was closed; only
    then is its location catalogued. Exit status 1 if any file could not be stored.
    """
    layout = DataLayout.create(data_dir, db_url)
    try:
        store = S3Store(store_uri, client())
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    failed = 0
    engine = existing_catalog(data_dir, db_url)
    with Session(engine) as session:
        rows = files.unstored_files(session)
        for row in rows:
            try:
                uri = store.upload(layout.resolve(row.path), row.sha256)
            except (StoreError, UnsafePathError) as exc:
                err.print(f"Error: {exc}", markup=False, highlight=False)
                failed += 1
                continue
            row.store_uri, row.stored_at = uri, datetime.now(UTC)
            session.commit()  # each file as soon as it is checked
            out.print(f"{row.path} → {uri}", markup=False, highlight=False)
    engine.dispose()
    out.print(f"{len(rows) - failed} file(s) stored, {failed} failed", markup=False)
    if failed:
        raise SystemExit(1)

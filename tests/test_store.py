"""WARC files in S3-compatible storage: uploaded as they close, checked by SHA-256, catalogued with
both locations, and read back by `verify` and `serve` when the data directory lacks them.

The store is moto's S3 server on loopback (the S3 API MinIO and AWS speak); boto3 finds it through
AWS_ENDPOINT_URL, as a user's would.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from stablecopy.catalog.models import WarcFile
from stablecopy.catalog.session import open_catalog
from stablecopy.cli.store import restore_from_store
from stablecopy.layout import DataLayout
from stablecopy.samplesite.server import SiteServer
from tests.helpers import FAST, run_cli
from tests.services import S3Server

pytestmark = pytest.mark.catalogue


@pytest.fixture(scope="module")
def s3_server() -> Iterator[S3Server]:
    with S3Server() as server:
        yield server


@pytest.fixture
def s3(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> object:
    for key, value in {
        "AWS_ENDPOINT_URL": s3_server.url,
        "AWS_ACCESS_KEY_ID": "stablecopy-test",
        "AWS_SECRET_ACCESS_KEY": "stablecopy-test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    return boto3.client("s3")


def stored_files(data: Path) -> list[WarcFile]:
    engine = open_catalog(DataLayout.create(data).db_url)
    with Session(engine) as session:
        rows = list(session.scalars(select(WarcFile)))
    engine.dispose()
    return rows


def crawl(site: SiteServer, data: Path, *extra: str) -> None:
    result = run_cli(
        "crawl", site.url("/"), "--follow", "--data-dir", str(data), *FAST,
        "-s", "STABLECOPY_WARC_MAX_SIZE=20000", *extra,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_finished_files_are_stored_checked_and_read_back_from_the_store(
    site: SiteServer, s3: object, tmp_path: Path
) -> None:
    client = boto3.client("s3")
    client.create_bucket(Bucket="archive")
    data = tmp_path / "data"
    crawl(site, data, "--store", "s3://archive/news", "-s", "STABLECOPY_STORE_KEEP_LOCAL=False")

    rows = stored_files(data)
    assert len(rows) > 1  # rolled over: every file, not only the last, is stored
    for row in rows:
        assert row.store_uri == f"s3://archive/news/{Path(row.path).name}"
        assert row.stored_at is not None
        body = client.get_object(Bucket="archive", Key=f"news/{Path(row.path).name}")["Body"].read()
        assert hashlib.sha256(body).hexdigest() == row.sha256
        assert not (data / row.path).exists()  # the store is the only copy now

    # verify reads what the data directory lacks from the store: every record, every file.
    records = run_cli("verify", "--data-dir", str(data))
    assert records.returncode == 0, records.stdout + records.stderr
    assert "all intact" in records.stderr
    files = run_cli("verify", "--files", "--data-dir", str(data))
    assert files.returncode == 0, files.stdout + files.stderr

    # serve fetches them back into the data directory before replaying.
    engine = open_catalog(DataLayout.create(data).db_url)
    with Session(engine) as session:
        assert restore_from_store(session, DataLayout.create(data)) == len(rows)
    engine.dispose()
    for row in rows:
        assert hashlib.sha256((data / row.path).read_bytes()).hexdigest() == row.sha256


def test_a_store_that_refuses_loses_nothing_and_upload_catches_up(
    site: SiteServer, s3: object, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    crawl(site, data, "--store", "s3://not-yet-made/news")  # no such bucket: uploads fail
    rows = stored_files(data)
    assert rows
    assert all(row.store_uri is None for row in rows)
    assert all((data / row.path).exists() for row in rows)

    boto3.client("s3").create_bucket(Bucket="not-yet-made")
    uploaded = run_cli("upload", "--store", "s3://not-yet-made/news", "--data-dir", str(data))
    assert uploaded.returncode == 0, uploaded.stderr
    assert f"{len(rows)} file(s) stored, 0 failed" in uploaded.stdout
    assert all(row.store_uri for row in stored_files(data))


def test_the_next_crawl_with_the_store_uploads_what_earlier_crawls_left_unstored(
    site: SiteServer, s3: object, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    crawl(site, data)  # no store: every file stays local only
    earlier = {row.path for row in stored_files(data)}
    assert earlier

    boto3.client("s3").create_bucket(Bucket="later")
    crawl(site, data, "--store", "s3://later/news")

    rows = {row.path: row for row in stored_files(data)}
    assert earlier < set(rows)  # the second crawl wrote files of its own too
    for row in rows.values():
        assert row.store_uri == f"s3://later/news/{Path(row.path).name}"
        body = boto3.client("s3").get_object(Bucket="later", Key=f"news/{Path(row.path).name}")
        assert hashlib.sha256(body["Body"].read()).hexdigest() == row.sha256

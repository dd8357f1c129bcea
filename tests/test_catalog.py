"""The catalogue: UTC times with microseconds, migrations that match the models, readable errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from scrapy.settings import Settings
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from stablecopy import shortid
from stablecopy.catalog.models import Base, Crawl
from stablecopy.catalog.recorder import crawl_status, settings_snapshot, url_key
from stablecopy.catalog.session import (
    CatalogError,
    make_engine,
    open_catalog,
    session_scope,
    upgrade,
)


def new_crawl(started: datetime) -> Crawl:
    return Crawl(
        started_at=started,
        status="running",
        seeds=["https://a.example/"],
        settings={},
        software={},
        worker="test:1",
        captures=0,
        failures=0,
        write_errors=0,
        warc_bytes=0,
        extracted=0,
    )


def test_times_come_back_utc_aware_with_microseconds(tmp_path: Path) -> None:
    engine = open_catalog(f"sqlite:///{tmp_path / 'c.db'}")
    paris = timezone(timedelta(hours=1))
    started = datetime(2026, 11, 21, 9, 5, 5, 41260, tzinfo=paris)
    with session_scope(engine) as session:
        session.add(new_crawl(started))
    engine.dispose()
    engine = open_catalog(f"sqlite:///{tmp_path / 'c.db'}")
    with session_scope(engine) as session:
        stored = session.scalars(select(Crawl.started_at)).one()
    assert stored == started
    assert stored.tzinfo == UTC
    assert stored.hour == 8
    assert stored.microsecond == 41260
    engine.dispose()


def test_naive_times_are_refused(tmp_path: Path) -> None:
    engine = open_catalog(f"sqlite:///{tmp_path / 'c.db'}")
    with Session(engine) as session:
        session.add(new_crawl(datetime(2026, 1, 1)))
        with pytest.raises(StatementError, match="naive datetime"):
            session.flush()
    engine.dispose()


def test_migrations_build_exactly_the_models(tmp_path: Path) -> None:
    engine = open_catalog(f"sqlite:///{tmp_path / 'c.db'}")
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        tables = set(inspect(connection).get_table_names())
    assert differences == []
    assert {"crawls", "captures", "fetch_failures", "extractions", "warc_files"} <= tables
    assert {"fixity_runs", "fixity_events", "schedules"} <= tables
    engine.dispose()


def test_upgrading_an_older_catalogue_gives_its_captures_citation_ids(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    upgrade(engine, "0001")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO crawls (id, started_at, status, seeds, settings, software, worker,"
                " captures, failures, write_errors, warc_bytes, extracted) VALUES (1,"
                " '2026-01-01 00:00:00', 'finished', '[]', '{}', '{}', 'w', 2, 0, 0, 0, 0)"
            )
        )
        for number in (1, 2):
            connection.execute(
                text(
                    "INSERT INTO captures (crawl_id, url, url_key, method, status, fetched_at,"
                    " record_type, payload_sha256, payload_digest, block_digest,"
                    " payload_length, warc_file, warc_offset, warc_length, record_id,"
                    " request_record_id) VALUES (1, 'https://a.example/', 'example,a)/',"
                    " 'GET', 200, '2026-01-01 00:00:00', 'response', 'x', 'sha256:x',"
                    f" 'sha256:y', 1, 'warcs/a.warc.gz', {number}, 1, '<urn:uuid:{number}>',"
                    f" '<urn:uuid:r{number}>')"
                )
            )
    engine.dispose()
    engine = open_catalog(url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT record_id, short_id FROM captures")).all()
        counters = connection.execute(
            text("SELECT pages_new, pages_failed, schedule_id, error FROM crawls")
        ).one()
        revisits = connection.execute(
            text("SELECT count(*) FROM captures WHERE refers_to_id IS NOT NULL")
        ).scalar()
    engine.dispose()
    assert tuple(counters) == (0, 0, None, None)  # 0003: old crawls are no scheduled runs
    assert revisits == 0
    assert dict(rows) == {  # type: ignore[arg-type]
        "<urn:uuid:1>": shortid.derive("<urn:uuid:1>"),
        "<urn:uuid:2>": shortid.derive("<urn:uuid:2>"),
    }


def test_opening_twice_is_harmless(tmp_path: Path) -> None:
    for _ in range(2):
        open_catalog(f"sqlite:///{tmp_path / 'c.db'}").dispose()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "not a database URL"),
        ("sqlite:////nonexistent-folder/x/y.db", "catalogue folder does not exist"),
        ("nosuchdb://x/y", "no database driver for nosuchdb://x/y"),
    ],
)
def test_unusable_catalogue_urls_give_one_readable_error(url: str, message: str) -> None:
    with pytest.raises(CatalogError, match=message):
        open_catalog(url)


def test_settings_snapshot_keeps_what_shaped_the_crawl_and_hides_passwords() -> None:
    settings = Settings({"STABLECOPY_DB_URL": "postgresql+psycopg://arch:s3cret@db/cat"})
    settings.setmodule("stablecopy.settings")
    snapshot = settings_snapshot(settings)
    assert "s3cret" not in str(snapshot)
    assert snapshot["ROBOTSTXT_OBEY"] is True
    assert snapshot["STABLECOPY_WARC_MAX_SIZE"] == 1_000_000_000
    assert "SPIDER_MODULES" not in snapshot


def test_crawl_status_follows_the_close_reason() -> None:
    assert crawl_status("finished") == "finished"
    assert crawl_status("closespider_pagecount") == "finished"
    assert crawl_status("shutdown") == "interrupted"
    assert crawl_status("warc_write_failed") == "failed"


def test_url_keys_are_surt() -> None:
    assert url_key("https://www.News.example/a?b=1") == "example,news)/a?b=1"

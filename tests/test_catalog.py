"""The catalogue: UTC times with microseconds, migrations that match the models, readable errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from hypothesis import given, settings
from hypothesis import strategies as st
from scrapy.settings import Settings
from scrapy.spiders import Spider
from scrapy.utils.test import get_crawler
from sqlalchemy import event, inspect, select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from stablecopy.catalog.known import KnownKeys
from stablecopy.catalog.models import Base, Capture, Crawl
from stablecopy.catalog.recorder import (
    CatalogRecorder,
    crawl_status,
    settings_snapshot,
    url_key,
)
from stablecopy.catalog.rows import pending_short_id, settle_short_ids
from stablecopy.catalog.session import (
    CatalogError,
    make_engine,
    migration_config,
    newest_revision,
    open_catalog,
    session_scope,
    upgrade,
)
from stablecopy.events import Captured, PriorCaptureQuery, RecordLocation
from stablecopy.layout import DataLayout
from stablecopy.provenance import shortid

pytestmark = pytest.mark.catalogue


def db_url(tmp_path: Path) -> str:
    """This test's catalogue: a SQLite file, or its own database in the PostgreSQL pass."""
    return DataLayout.create(tmp_path).db_url


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
    engine = open_catalog(db_url(tmp_path))
    paris = timezone(timedelta(hours=1))
    started = datetime(2026, 11, 21, 9, 5, 5, 41260, tzinfo=paris)
    with session_scope(engine) as session:
        session.add(new_crawl(started))
    engine.dispose()
    engine = open_catalog(db_url(tmp_path))
    with session_scope(engine) as session:
        stored = session.scalars(select(Crawl.started_at)).one()
    assert stored == started
    assert stored.tzinfo == UTC
    assert stored.hour == 8
    assert stored.microsecond == 41260
    engine.dispose()


def test_naive_times_are_refused(tmp_path: Path) -> None:
    engine = open_catalog(db_url(tmp_path))
    with Session(engine) as session:
        session.add(new_crawl(datetime(2026, 1, 1)))
        with pytest.raises(StatementError, match="naive datetime"):
            session.flush()
    engine.dispose()


def _modelled(name: str | None, kind: str, _parent: object) -> bool:
    """What the models describe: not search's dialect-specific index (SQLite's FTS5 tables,
    PostgreSQL's GIN index), which migration 0009 makes and triggers keep in step."""
    if kind == "table" and name and name.startswith("search_fts"):
        return False
    return not (kind == "index" and name == "ix_search_texts_tsv")


def test_migrations_build_exactly_the_models(tmp_path: Path) -> None:
    engine = open_catalog(db_url(tmp_path))
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_name": _modelled})
        differences = compare_metadata(context, Base.metadata)
        tables = set(inspect(connection).get_table_names())
    assert differences == []
    assert {"crawls", "captures", "fetch_failures", "extractions", "warc_files"} <= tables
    assert {"fixity_runs", "fixity_events", "schedules"} <= tables
    engine.dispose()


def test_upgrading_an_older_catalogue_gives_its_captures_citation_ids(tmp_path: Path) -> None:
    url = db_url(tmp_path)
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
        open_catalog(db_url(tmp_path)).dispose()


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


def test_the_newest_revision_read_from_file_names_is_alembics_only_head() -> None:
    """open_catalog compares the catalogue with the newest file name, without loading Alembic:
    the files must form one line, each named after its revision."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(migration_config())
    assert scripts.get_heads() == [newest_revision()]
    for script in scripts.walk_revisions():
        assert Path(script.path).name.startswith(f"{script.revision}_")


def test_migrations_go_down_to_the_first_revision_and_up_again(tmp_path: Path) -> None:
    engine = open_catalog(db_url(tmp_path))
    with engine.begin() as connection:
        config = migration_config(connection)
        command.downgrade(config, "0001")
        command.upgrade(config, "head")
    with engine.connect() as connection:
        assert (
            compare_metadata(
                MigrationContext.configure(connection, opts={"include_name": _modelled}),
                Base.metadata,
            )
            == []
        )
    engine.dispose()


# The queries that matter at tens of millions of captures, and the index each must be able to use.
PLANNED: dict[str, tuple[str, str | dict[str, str]]] = {
    "captures under a URL prefix (export --url-prefix)": (
        (
            "SELECT id FROM captures WHERE url_key >= 'example,news)/region'"
            " AND url_key < 'example,news)/regioo'"
        ),
        "ix_captures_url_key_fetched_at",
    ),
    "latest capture of a URL": (
        (
            "SELECT id FROM captures WHERE url_key = 'com,example)/a' AND url = 'https://example.com/a'"
            " ORDER BY fetched_at DESC LIMIT 1"
        ),
        "ix_captures_url_key_fetched_at",
    ),
    "TimeMap of a URL": (
        (
            "SELECT fetched_at, short_id FROM captures WHERE url_key = 'com,example)/a'"
            " ORDER BY fetched_at"
        ),
        "ix_captures_url_key_fetched_at",
    ),
    "captures in a time range": (
        (
            "SELECT count(*) FROM captures"
            " WHERE fetched_at BETWEEN '2026-11-01 00:00:00+00' AND '2026-11-08 00:00:00+00'"
        ),
        "ix_captures_fetched_at",
    ),
    "latest response with a payload digest": (
        (
            "SELECT id FROM captures WHERE payload_sha256 = 'ab' AND record_type = 'response'"
            " ORDER BY fetched_at DESC LIMIT 1"
        ),
        "ix_captures_payload_sha256_responses",
    ),
    "clean texts in a WARC file (verify, repair)": (
        "SELECT metadata_record_id FROM extractions WHERE metadata_file = 'warcs/a.warc.gz'",
        "ix_extractions_metadata_file",
    ),
    "clean-text records in a WARC file, counted no further than a selection (export --wacz)": (
        (
            "SELECT count(*) FROM (SELECT 1 FROM extractions"
            " WHERE conversion_file = 'warcs/a.warc.gz' LIMIT 43) AS counted"
        ),
        "ix_extractions_conversion_file",
    ),
    "failed fetches of a URL": (
        "SELECT id FROM fetch_failures WHERE url = 'https://example.com/a'",
        "ix_fetch_failures_url",
    ),
}


@pytest.mark.parametrize("query", PLANNED)
def test_queries_that_matter_at_scale_are_served_by_an_index(tmp_path: Path, query: str) -> None:
    sql, wanted = PLANNED[query]
    engine = open_catalog(db_url(tmp_path))
    index = wanted if isinstance(wanted, str) else wanted[engine.dialect.name]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # An empty table is always scanned; forbid that to see which plan the index allows.
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = "\n".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {sql}"))
            definition = connection.execute(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = :name"), {"name": index}
            ).scalar_one()
        else:
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")
            plan = "\n".join(str(row[-1]) for row in rows)
            definition = ""
    engine.dispose()
    if "USING brin" in definition:
        # On an empty table the planner always prefers a btree to a BRIN index (BRIN pays off
        # with millions of rows in time order: scale.md §2.3); check the index and that the query
        # is served by some index, not by a scan of the table.
        assert "USING brin (fetched_at)" in definition
        assert "Seq Scan" not in plan, plan
    else:
        assert index in plan, plan


def _capture(crawl_id: int, record_id: str, short_id: str, offset: int) -> Capture:
    return Capture(
        crawl_id=crawl_id, url="https://a.example/", url_key="example,a)/", method="GET",
        status=200, fetched_at=datetime(2026, 11, 21, tzinfo=UTC), record_type="response",
        payload_sha256="x", payload_digest="sha256:x", block_digest="sha256:y", payload_length=1,
        warc_file="warcs/a.warc.gz", warc_offset=offset, warc_length=1, record_id=record_id,
        request_record_id=f"{record_id}r", short_id=short_id,
    )  # fmt: skip


def test_a_new_capture_whose_citation_id_is_taken_gets_the_next_when_written(
    tmp_path: Path,
) -> None:
    """The recorder gives each new capture its first id without asking the catalogue, which is
    asked once per batch, just before the rows are written (settle_short_ids)."""
    engine = open_catalog(db_url(tmp_path))
    newcomer, other = "<urn:uuid:newcomer>", "<urn:uuid:other>"
    with session_scope(engine) as session:
        crawl = new_crawl(datetime(2026, 11, 21, tzinfo=UTC))
        session.add(crawl)
        session.flush()
        session.add(_capture(crawl.id, "<urn:uuid:old>", shortid.derive(newcomer), 1))
    with session_scope(engine) as session:
        event.listen(session, "before_flush", lambda s, *_: settle_short_ids(s))
        pending: set[str] = set()
        for offset, record_id in enumerate((newcomer, other), start=2):
            short_id = pending_short_id(record_id, pending)  # the first: no pending one has it
            pending.add(short_id)
            session.add(_capture(crawl.id, record_id, short_id, offset))
    with session_scope(engine) as session:
        given = {
            row.record_id: row.short_id
            for row in session.execute(select(Capture.record_id, Capture.short_id))
        }
    engine.dispose()
    assert given[newcomer] == shortid.derive(newcomer, 1)
    assert given[other] == shortid.derive(other)
    assert given["<urn:uuid:old>"] == shortid.derive(newcomer)


def _capture_of(url: str, layout: DataLayout, serial: int) -> Captured:
    where = RecordLocation("warcs/one.warc.gz", 1000 * serial, 900)
    return Captured(
        url=url, method="GET", fetched_at=datetime.now(UTC), status=200,
        content_type="text/html", payload_sha256=f"{serial:064x}",
        payload_digest=f"sha256:{serial:064x}", block_digest=f"sha256:{serial:064x}",
        payload_length=10, truncated=None, ip_address=None,
        record_id=f"<urn:uuid:00000000-0000-0000-0000-{serial:012x}>",
        request_record_id=f"<urn:uuid:00000000-0000-0000-0001-{serial:012x}>",
        location=where, request_location=RecordLocation(where.warc_file, where.offset - 500, 400),
    )  # fmt: skip


@pytest.mark.parametrize("shared", [False, True])
def test_the_recorder_finds_what_its_own_crawl_committed(tmp_path: Path, shared: bool) -> None:
    """A crawl on an empty catalogue asks it only about URLs it has catalogued itself; those it
    finds, committed or not, and so does the next crawl (and every worker of a shared one)."""
    layout = DataLayout.create(tmp_path / "data")
    layout.root.mkdir()
    values = {"STABLECOPY_DATA_DIR": str(layout.root)}
    if shared:
        values["STABLECOPY_REDIS_URL"] = "redis://127.0.0.1:1/0"  # never connected to here
    page, other = "http://news.test/a.html", "http://news.test/b.html"
    first = CatalogRecorder.from_crawler(get_crawler(Spider, values))
    first.spider_opened(Spider(name="t"))
    first.capture_archived(_capture_of(page, layout, 1))
    pending = first.prior_capture(PriorCaptureQuery(url=page))
    first.commit()
    committed = first.prior_capture(PriorCaptureQuery(url=page))
    assert pending is not None
    assert committed is not None
    assert pending.record_id == committed.record_id == _capture_of(page, layout, 1).record_id
    assert first.prior_capture(PriorCaptureQuery(url=other)) is None
    by_payload = PriorCaptureQuery(url=other, payload_sha256=f"{1:064x}")
    assert first.prior_capture(by_payload) == committed
    first.engine_stopped()

    second = CatalogRecorder.from_crawler(get_crawler(Spider, values))
    second.spider_opened(Spider(name="t"))
    again = second.prior_capture(PriorCaptureQuery(url=page))
    assert again is not None
    assert again.record_id == committed.record_id
    second.engine_stopped()


@settings(max_examples=50, deadline=None)
@given(added=st.sets(st.text(max_size=80), max_size=300), others=st.sets(st.text(), max_size=300))
def test_known_keys_never_forget_a_key(added: set[str], others: set[str]) -> None:
    known = KnownKeys(bits=1 << 12)  # small, so that probes collide
    for key in added:
        known.add(key)
    assert all(key in known for key in added)
    unseen = others - added
    if len(unseen) >= 100 and len(added) <= 50:
        assert sum(key in known for key in unseen) < len(unseen) / 10

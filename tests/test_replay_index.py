"""Replay's index is the catalogue: every lookup pywb makes is one question along an index, whose
answer equals the CDXJ an export writes for the same keys; and a URL-prefix selection is a range
of SURT keys that loses no URL."""

from __future__ import annotations

import io
import time
import urllib.parse
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, insert, select
from sqlalchemy.orm import Session

from stablecopy.catalog.keys import url_key
from stablecopy.catalog.models import Capture
from stablecopy.catalog.queries import CaptureFilter, captures_by_key, key_range
from stablecopy.catalog.replaylookup import captures_in_range, cited
from stablecopy.catalog.session import open_catalog
from stablecopy.evidence.keys import KeyFiles
from stablecopy.export.cdxj import write_cdxj
from stablecopy.layout import DataLayout
from stablecopy.replay.apiserver import CatalogueApiServer
from stablecopy.samplesite.server import SiteServer
from tests.helpers import FAST, run_cli
from tests.pgcatalogue import copy_data_dir

pytestmark = pytest.mark.catalogue


@pytest.fixture(scope="module")
def crawled(site: SiteServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample site crawled twice (every URL captured at two times)."""
    data = tmp_path_factory.mktemp("index") / "data"
    for crawl in range(2):
        if crawl:
            time.sleep(1.1)  # two different seconds: their CDXJ order is their time order
        done = run_cli("crawl", site.url("/"), "--data-dir", str(data), *FAST)
        assert done.returncode == 0, done.stderr
    return data


def everything(engine: Engine) -> list[str]:
    """The whole CDXJ index as an export writes it, with citation ids."""
    out = io.StringIO()
    with Session(engine) as session:
        write_cdxj(captures_by_key(session, CaptureFilter()), out, citations=True)
    return out.getvalue().splitlines()


def ask(api: str, **params: str) -> list[str]:
    with urllib.request.urlopen(f"{api}/index?{urllib.parse.urlencode(params)}") as answer:
        return [line for line in answer.read().decode("utf-8").splitlines() if line]


def test_the_index_api_answers_as_the_exported_index_would(crawled: Path, site: SiteServer) -> None:
    engine = open_catalog(DataLayout.create(crawled).db_url)
    lines = everything(engine)
    server = CatalogueApiServer(engine, KeyFiles(crawled / "keys"))
    api = server.start()
    try:
        page = site.url("/")
        key = url_key(page)
        exact = [line for line in lines if line.split(" ")[0] == key]
        assert len(exact) == 2
        assert ask(api, key=key, end_key=f"{key}!") == exact
        # The nearest on each side of the moment asked: before every capture, the first one;
        # after them all, the last one (pywb then sorts what it gets by distance).
        assert ask(api, key=key, end_key=f"{key}!", closest="1990", limit="1") == exact[:1]
        assert ask(api, key=key, end_key=f"{key}!", closest="2999", limit="1") == exact[1:]
        stamp = exact[0].split(" ")[1]
        assert ask(api, key=key, end_key=f"{key}!", closest=stamp, limit="2") == exact
        high = "~"
        assert ask(api, key=key, end_key=high) == [line for line in lines if line >= key]
        assert (
            ask(api, key=key, end_key=high, limit="3")
            == [line for line in lines if line >= key][:3]
        )
        assert ask(api, key="zz", end_key="zz!") == []
    finally:
        server.stop()
        engine.dispose()


def test_a_limit_cutting_through_captures_of_one_second_answers_the_index_s_first_lines(
    crawled: Path, site: SiteServer, tmp_path: Path
) -> None:
    """Three more captures of a URL within the same second as one it has: a CDXJ file sorts such
    lines among themselves, and the API's first N lines are the file's, whatever N cuts."""
    data = tmp_path / "data"
    copy_data_dir(crawled, data)
    engine = open_catalog(DataLayout.create(data).db_url)
    table = Capture.__table__
    with Session(engine) as session:
        first = session.scalars(select(Capture).order_by(Capture.id).limit(1)).one()
        row = {c.name: getattr(first, c.key) for c in table.columns if c.name != "id"}
        for n in range(1, 4):
            # Offsets that sort before the original's, so bytewise order is not time order.
            tied = {**row, "record_id": f"{row['record_id']}-tie{n}", "short_id": None,
                    "fetched_at": row["fetched_at"] + timedelta(microseconds=n),
                    "warc_offset": n}  # fmt: skip
            session.execute(insert(table).values(**tied))
        session.commit()
        key = str(row["url_key"])
    lines = [line for line in everything(engine) if line >= key]
    server = CatalogueApiServer(engine, KeyFiles(data / "keys"))
    api = server.start()
    try:
        for limit in range(1, 8):
            assert ask(api, key=key, end_key="~", limit=str(limit)) == lines[:limit], limit
    finally:
        server.stop()
        engine.dispose()


def plan(engine: Engine, statement: str, parameters: object) -> str:
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("SET enable_seqscan = off")  # an empty table is scanned
            rows = connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)  # type: ignore[arg-type]
            return "\n".join(str(row[0]) for row in rows)
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)  # type: ignore[arg-type]
        return "\n".join(str(row[-1]) for row in rows)


def test_every_index_question_is_a_range_of_an_index_never_a_scan_or_a_sort(
    crawled: Path, site: SiteServer
) -> None:
    engine = open_catalog(DataLayout.create(crawled).db_url)
    asked: list[tuple[str, object]] = []

    def listen(
        conn: object, cursor: object, statement: str, parameters: object, *_: object
    ) -> None:
        asked.append((statement, parameters))

    key = url_key(site.url("/"))
    event.listen(engine, "before_cursor_execute", listen)
    with Session(engine) as session:
        exact = list(captures_in_range(session, key, f"{key}!", 100))
        nearest = list(captures_in_range(session, key, f"{key}!", 1, exact[0].fetched_at))
        ranged = list(captures_in_range(session, key, "~", 5))
        short = exact[0].short_id
        assert short is not None
        found = cited(session, short)
    event.remove(engine, "before_cursor_execute", listen)
    assert len(exact) == 2
    assert len(nearest) == 2
    assert len(ranged) >= 5  # and those tied with the fifth (same URL, same second)
    assert found is not None
    assert found.url == site.url("/")
    assert found.text_file
    questions = [(s, p) for s, p in asked if s.lstrip().upper().startswith("SELECT")]
    assert len(questions) == 6  # exact, nearest before and after, the range, citation, text
    for statement, parameters in questions:
        shown = plan(engine, statement, parameters)
        if engine.dialect.name == "postgresql":
            assert "Seq Scan" not in shown, (statement, shown)
            assert "Index" in shown, (statement, shown)
        else:
            assert "TEMP B-TREE" not in shown, (statement, shown)
            for line in shown.splitlines():
                assert not line.startswith("SCAN ") or "USING" in line, (statement, shown)
    engine.dispose()


@pytest.mark.parametrize(
    "prefix",
    [
        "https://news.example/region/",
        "https://news.example/reg",
        "https://www.news.example/",
        "http://news.example:8080/a/b",
    ],
)
def test_every_url_under_a_prefix_has_its_key_in_the_prefix_range(prefix: str) -> None:
    keys = key_range(prefix)
    assert keys is not None
    low, high = keys
    for tail in ("", "x", "index.html", "2026/05/Story-One.html", "a/b/c?z=1&a=2", "é/ü"):
        key = url_key(prefix + tail)
        assert low <= key < high, (prefix + tail, key, keys)


def test_a_prefix_without_a_path_or_with_a_query_is_no_key_range() -> None:
    assert key_range("https://news.example") is None  # also the start of news.example.org
    assert key_range("https://news.example/a?b=1") is None

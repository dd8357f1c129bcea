"""No response can poison the catalogue: whatever a server sends is archived as sent and catalogued
as its columns can hold it, and the crawl, repair and the next crawl go on (SQLite and PostgreSQL)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from warcio.cli import main as warcio_main

from stablecopy.catalog.models import Capture, Crawl, Extraction
from stablecopy.catalog.session import open_catalog
from stablecopy.layout import DataLayout
from tests.helpers import FAST, raw_records, run_cli
from tests.rawserver import RawServer, response

pytestmark = pytest.mark.catalogue

ARTICLE = (
    "<html lang='{lang}'><head><title>A page</title></head><body><article><h1>A page</h1>"
    + "<p>The council met on Tuesday to discuss the harbour and its future. </p>" * 12
    + "</article></body></html>"
)
HTML = [b"Content-Type: text/html; charset=utf-8"]
PAGE = ARTICLE.format(lang="en").encode()
ANSWERS = {
    "/status-overflow": response(b"HTTP/1.1 99999999999999999999 Huge", HTML, PAGE),
    "/status-int32": response(b"HTTP/1.1 2147483648 Past int32", HTML, PAGE),
    "/nul-headers": response(
        b"HTTP/1.1 200 OK",
        [
            b"Content-Type: text/html\x00; charset=utf-8",
            b'ETag: "v1\x00"',
            b"Last-Modified: Tue, 01 Dec 2026\x00 10:00:00 GMT",
        ],
        PAGE,
    ),
    "/nul-location": response(b"HTTP/1.1 302 Found", [b"Location: /landing\x00here"], b""),
    "/long-language": response(b"HTTP/1.1 200 OK", HTML, ARTICLE.format(lang="x" * 300).encode()),
}


@pytest.fixture(scope="module")
def server() -> Iterator[RawServer]:
    with RawServer(ANSWERS) as raw:
        yield raw


def crawl(server: RawServer, data: Path) -> None:
    done = run_cli(
        "crawl", *(server.url(path) for path in ANSWERS), "--data-dir", str(data), *FAST,
        "-s", "RETRY_ENABLED=False",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr


def test_hostile_values_are_archived_as_sent_and_catalogued_as_they_fit(
    server: RawServer, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    crawl(server, data)
    warcs = sorted((data / "warcs").iterdir())
    with pytest.raises(SystemExit) as checked:
        warcio_main(["check", *map(str, warcs)])
    assert checked.value.code == 0
    blocks = [r.block for path in warcs for r in raw_records(path) if r.type == "response"]
    assert any(b.startswith(b"HTTP/1.1 99999999999999999999") for b in blocks)
    assert any(b'"v1\x00"' in b for b in blocks)  # the archive keeps the bytes as sent

    engine = open_catalog(DataLayout.create(data).db_url)
    with Session(engine) as session:
        rows = {row.url.removeprefix(server.base): row for row in session.scalars(select(Capture))}
        crawls = list(session.scalars(select(Crawl)))
        languages = [e.language for e in session.scalars(select(Extraction))]
    engine.dispose()
    assert [c.status for c in crawls] == ["finished"]
    assert set(ANSWERS) <= set(rows)
    assert rows["/status-overflow"].status == 0  # no HTTP status: the WARC has the line
    assert rows["/status-int32"].status == 0
    nul = rows["/nul-headers"]
    assert nul.content_type == "text/html\\x00; charset=utf-8"
    assert nul.etag == '"v1\\x00"'
    assert nul.last_modified == "Tue, 01 Dec 2026\\x00 10:00:00 GMT"
    assert rows["/nul-location"].redirect_to == server.url("/landing\\x00here")
    assert any(language and language.startswith("xxx") for language in languages)

    verified = run_cli("verify", "--data-dir", str(data))
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_repair_and_the_next_crawl_go_on_after_hostile_values(
    server: RawServer, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    crawl(server, data)
    repaired = run_cli("repair", "--data-dir", str(data))
    assert repaired.returncode == 0, repaired.stderr
    crawl(server, data)  # and a second crawl of the same hostile pages
    verified = run_cli("verify", "--data-dir", str(data))
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_file_the_catalogue_refuses_is_reported_and_blocks_no_other(
    server: RawServer, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    crawl(server, data)
    (original,) = sorted((data / "warcs").iterdir())
    # A copy under another name: its record ids are the catalogue's already (unique), so none of
    # its rows can be written.
    copy = original.with_name(original.name.replace("-00000-", "-00009-"))
    shutil.copyfile(original, copy)
    repaired = run_cli("repair", "--data-dir", str(data))
    assert repaired.returncode == 1
    assert "Traceback" not in repaired.stderr
    assert f"Could not catalogue warcs/{copy.name}:" in repaired.stdout + repaired.stderr
    crawl(server, data)  # a crawl still starts (its repair says the same) and finishes
    engine = open_catalog(DataLayout.create(data).db_url)
    with Session(engine) as session:
        statuses = [c.status for c in session.scalars(select(Crawl).order_by(Crawl.id))]
    engine.dispose()
    assert statuses == ["finished", "finished"]

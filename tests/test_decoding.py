"""Bodies that are not what their headers say: bogus or false charsets, a Content-Encoding on a plain
body, a compressed body that is corrupt. Each page is archived as received, gets a recorded status and
a log line, and its links are followed from what decodes. And `warcio check`, the oracle the README
documents, reads what we archive, `br`-encoded responses included."""

from __future__ import annotations

import gzip
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import brotli
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from warcio.archiveiterator import ArchiveIterator

from stablecopy.catalog.models import Capture, Extraction
from stablecopy.catalog.session import open_catalog
from stablecopy.layout import DataLayout
from tests.helpers import FAST, run_cli
from tests.rawserver import RawServer, response

pytestmark = pytest.mark.catalogue


def page(name: str, head: str = "") -> bytes:
    """An article that links to /next-NAME first, and whose paragraphs do not compress to nothing."""
    paragraphs = "".join(
        f"<p>Paragraph {n} of {name}: the council met on day {n * 7 % 31} to discuss harbour "
        f"berth {n * 13 % 97} and the ferry timetable for route {n * 17 % 89}.</p>"
        for n in range(60)
    )
    return (
        f"<html><head>{head}<title>Story {name}</title></head><body><article><h1>Story {name}</h1>"
        f"<a href='/next-{name}'>Next story</a>{paragraphs}</article></body></html>"
    ).encode()


def charset(value: bytes) -> list[bytes]:
    return [b"Content-Type: text/html; charset=" + value]


def encoded(coding: bytes) -> list[bytes]:
    return [b"Content-Type: text/html; charset=utf-8", b"Content-Encoding: " + coding]


def corrupt_gzip(body: bytes) -> bytes:
    """The first half of a gzip stream, then bytes that are no deflate data."""
    packed = gzip.compress(body)
    return packed[: len(packed) // 2] + b"\xff\x00not deflate\x00" * 40


BROKEN = {
    "/rot13": response(b"HTTP/1.1 200 OK", charset(b"rot13"), page("rot13")),
    "/zlib": response(b"HTTP/1.1 200 OK", charset(b"zlib"), page("zlib")),
    "/undefined": response(b"HTTP/1.1 200 OK", charset(b"undefined"), page("undefined")),
    "/false-utf16": response(b"HTTP/1.1 200 OK", charset(b"utf-16"), page("false-utf16")),
    "/meta-rot13": response(
        b"HTTP/1.1 200 OK", [b"Content-Type: text/html"], page("meta-rot13", "<meta charset=rot13>")
    ),
    "/meta-utf16": response(
        b"HTTP/1.1 200 OK",
        [b"Content-Type: text/html"],
        page("meta-utf16", "<meta http-equiv=Content-Type content='text/html; charset=utf-16'>"),
    ),
    "/gzip-plain": response(b"HTTP/1.1 200 OK", encoded(b"gzip"), page("gzip-plain")),
    "/deflate-plain": response(b"HTTP/1.1 200 OK", encoded(b"deflate"), page("deflate-plain")),
    "/br-plain": response(b"HTTP/1.1 200 OK", encoded(b"br"), page("br-plain")),
    "/gzip-corrupt": response(
        b"HTTP/1.1 200 OK", encoded(b"gzip"), corrupt_gzip(page("gzip-corrupt"))
    ),
}
BR = response(b"HTTP/1.1 200 OK", encoded(b"br"), brotli.compress(page("br")))
NEXT = {
    f"/next-{path.strip('/')}": response(b"HTTP/1.1 200 OK", charset(b"utf-8"), page("next"))
    for path in [*BROKEN, "/br"]
}


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, str]]:
    data = tmp_path_factory.mktemp("decoding") / "data"
    with RawServer({**BROKEN, "/br": BR, **NEXT}) as server:
        done = run_cli(
            "crawl", *(server.url(path) for path in [*BROKEN, "/br"]), "--data-dir", str(data),
            "--follow", "--depth", "1", *FAST, "-s", "RETRY_ENABLED=False",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        yield data, server.base, done.stderr


def rows(data: Path, base: str) -> dict[str, tuple[Capture, Extraction | None]]:
    engine = open_catalog(DataLayout.create(data).db_url)
    with Session(engine) as session:
        found = session.execute(
            select(Capture, Extraction).outerjoin(Extraction, Extraction.capture_id == Capture.id)
        ).all()
        session.expunge_all()
    engine.dispose()
    return {capture.url.removeprefix(base): (capture, extraction) for capture, extraction in found}


def test_each_page_gets_a_status_a_note_and_a_log_line(crawled: tuple[Path, str, str]) -> None:
    data, base, stderr = crawled
    catalogued = rows(data, base)
    assert "Traceback" not in stderr
    for path in BROKEN:
        capture, extraction = catalogued[path]
        assert capture.status == 200
        assert extraction is not None, path
        assert extraction.error, path  # what was wrong with the body, kept with its text
        assert f"{base}{path}: " in stderr, path
    for path in set(BROKEN) - {"/gzip-corrupt"}:
        assert catalogued[path][1].status == "ok", path  # type: ignore[union-attr]
    assert "does not fit" in catalogued["/rot13"][1].error  # type: ignore[union-attr,operator]
    assert "read as not encoded" in catalogued["/gzip-plain"][1].error  # type: ignore[union-attr,operator]


def test_links_are_followed_from_what_decodes(crawled: tuple[Path, str, str]) -> None:
    data, base, _ = crawled
    catalogued = rows(data, base)
    for path in [*BROKEN, "/br"]:
        assert f"/next-{path.strip('/')}" in catalogued, path
    corrupt = catalogued["/gzip-corrupt"][1]
    assert corrupt is not None
    assert corrupt.error is not None
    assert "decodes only in part" in corrupt.error


def test_the_archive_keeps_the_bodies_as_received(crawled: tuple[Path, str, str]) -> None:
    data, _, _ = crawled
    bodies: dict[str, bytes] = {}
    for path in sorted((data / "warcs").iterdir()):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type == "response":
                    uri = record.rec_headers.get_header("WARC-Target-URI")
                    bodies[uri.rsplit("/", 1)[1]] = record.raw_stream.read()
    for path, sent in {**BROKEN, "/br": BR}.items():
        assert sent.endswith(bodies[path.strip("/")]), path


def test_warcio_check_reads_every_file_including_br(crawled: tuple[Path, str, str]) -> None:
    data, _, _ = crawled
    warcs = sorted(map(str, (data / "warcs").iterdir()))
    # The command a user types, from this virtualenv: warcio with Scrapy's brotli installed.
    warcio = Path(sys.executable).with_name("warcio")
    checked = subprocess.run(
        [str(warcio), "check", "-v", *warcs], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "digest pass" in checked.stdout
    decoded = subprocess.run(
        [sys.executable, "-c", READ_BR, *warcs], capture_output=True, check=False
    )
    assert decoded.returncode == 0, decoded.stderr
    assert decoded.stdout == page("br")


READ_BR = """
import sys
from warcio.archiveiterator import ArchiveIterator
for path in sys.argv[1:]:
    with open(path, "rb") as stream:
        for record in ArchiveIterator(stream):
            uri = record.rec_headers.get_header("WARC-Target-URI") or ""
            if record.rec_type == "response" and uri.endswith("/br"):
                sys.stdout.buffer.write(record.content_stream().read())
"""


def test_verify_is_clean(crawled: tuple[Path, str, str]) -> None:
    data, _, _ = crawled
    verified = run_cli("verify", "--data-dir", str(data))
    assert verified.returncode == 0, verified.stdout + verified.stderr

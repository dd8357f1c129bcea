"""Property-based tests: the WARC writer round-trips anything a server can send, byte for byte, and
the seed-file, sitemap and feed parsers never crash, whatever they are fed."""

from __future__ import annotations

import string
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session
from warcio.archiveiterator import ArchiveIterator

from stablecopy.archive import records
from stablecopy.archive.reader import read_record
from stablecopy.archive.writer import ClosedFile, WarcWriter
from stablecopy.catalog.models import Capture, Crawl
from stablecopy.catalog.rows import capture_row
from stablecopy.catalog.session import open_catalog
from stablecopy.crawl.listings import looks_like_xml, read_listing
from stablecopy.crawl.seeds import read_seed_file, seed_problem
from stablecopy.events import Captured, RecordLocation
from stablecopy.layout import DataLayout
from tests.helpers import raw_records

TOKEN = string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~"
BEGAN = datetime(2026, 11, 21, 12, 0, 0, 123456, tzinfo=UTC)
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

header_names = st.text(alphabet=TOKEN, min_size=1, max_size=24)
header_values = st.binary(max_size=120)  # any bytes: CR, LF, NUL, Latin-1, broken UTF-8
headers = st.lists(st.tuples(header_names, header_values), max_size=12)
bodies = st.one_of(
    st.just(b""),
    st.binary(max_size=4096),
    st.builds(
        lambda chunk, n: chunk * n, st.binary(min_size=1, max_size=4096), st.integers(1, 300)
    ),
    st.builds(
        lambda n: b"line one\r\nline two\r\n\r\nafter a blank line\r\n" * n, st.integers(1, 50)
    ),
)


def _clean(value: bytes) -> bytes:
    return value.replace(b"\r", b" ").replace(b"\n", b" ")


@FUZZ
@given(
    exchanges=st.lists(
        st.tuples(headers, headers, bodies, st.sampled_from([200, 204, 301, 404, 500, 599])),
        min_size=1,
        max_size=4,
    )
)
@pytest.mark.catalogue
def test_any_exchange_round_trips_through_warcio_and_the_catalogue(
    tmp_path_factory: object, exchanges: list[tuple[list, list, bytes, int]]
) -> None:
    root: Path = tmp_path_factory.mktemp("fuzz")  # type: ignore[attr-defined]
    layout = DataLayout.create(root)
    closed: list[ClosedFile] = []
    writer = WarcWriter(layout.warc_dir, "fuzz", 10**9, lambda _: [("software", "fuzz")],
                        on_close=closed.append)  # fmt: skip
    written = []
    for number, (request_headers, response_headers, body, status) in enumerate(exchanges):
        exchange = records.Exchange(
            url=f"http://fuzz.test/{number}?q=1",
            method="GET",
            request_headers=[(n.encode(), v) for n, v in request_headers],
            request_body=b"",
            protocol="HTTP/1.1",
            status=status,
            response_headers=[(n.encode(), v) for n, v in response_headers],
            body=body,
            began_at=BEGAN,
        )
        response_id, request_id = records.new_record_id(), records.new_record_id()
        info = writer.reserve(len(body))
        built = records.response_record(exchange, response_id, request_id, info)
        placed = writer.write([records.request_record(exchange, request_id, response_id, info, []),
                               built])  # fmt: skip
        written.append((exchange, built, placed))
    writer.close()
    (warc,) = closed

    # warcio reads every record, with valid SHA-256 digests and the exact payload
    with warc.path.open("rb") as handle:
        read = [
            (r.rec_type, r.raw_stream.read(), list(r.digest_checker.problems))
            for r in ArchiveIterator(handle, check_digests=True)
        ]
    responses = [(payload, problems) for kind, payload, problems in read if kind == "response"]
    assert [p for p, _ in responses] == [exchange.body for exchange, _, _ in written]
    assert all(problems == [] for _, problems in responses)
    assert all(problems == [] for _, _, problems in read)

    # the headers are the bytes that came, CR and LF inside a value made spaces
    raw = {r.headers["WARC-Record-ID"]: r for r in raw_records(warc.path)}
    engine = open_catalog(layout.db_url, writer=True)
    with Session(engine) as session:
        crawl = Crawl(started_at=BEGAN, status="running", seeds=[], settings={}, software={},
                      worker="fuzz", captures=0, failures=0, write_errors=0, warc_bytes=0,
                      extracted=0)  # fmt: skip
        session.add(crawl)
        session.flush()
        for exchange, built, placed in written:
            head, body = raw[built.record_id].http_split()
            expected = b"".join(
                _clean(n) + b": " + _clean(v) + b"\r\n" for n, v in exchange.response_headers
            )
            assert head.split(b"\r\n", 1)[1] == expected + b"\r\n"
            assert body == exchange.body
            location = RecordLocation(layout.relative(placed[1].path), placed[1].offset,
                                      placed[1].length)  # fmt: skip
            event = Captured(
                url=exchange.url, method="GET", fetched_at=BEGAN, status=exchange.status,
                content_type=None, payload_sha256=(built.payload_digest or "")[7:],
                payload_digest=built.payload_digest or "", block_digest=built.block_digest,
                payload_length=len(exchange.body), truncated=None, ip_address=None,
                record_id=built.record_id, request_record_id=placed[0].record_id,
                location=location,
                request_location=RecordLocation(location.warc_file, placed[0].offset,
                                                placed[0].length),
            )  # fmt: skip
            session.add(capture_row(event, crawl.id, None, built.record_id[-9:]))
        session.commit()
        # and every catalogue row points at those same bytes
        for row in crawl_rows(session, crawl.id):
            found = read_record(layout.resolve(row.warc_file), row.warc_offset)
            assert found.headers["WARC-Record-ID"] == row.record_id
            assert found.payload_sha256 == row.payload_sha256
    engine.dispose()


def crawl_rows(session: Session, crawl_id: int) -> list[Capture]:
    return list(session.scalars(select(Capture).where(Capture.crawl_id == crawl_id)))


@FUZZ
@given(lines=st.lists(st.text(max_size=300), max_size=40))
def test_seed_files_never_crash_the_reader(tmp_path_factory: object, lines: list[str]) -> None:
    path: Path = tmp_path_factory.mktemp("seeds") / "seeds.txt"  # type: ignore[attr-defined]
    path.write_text("\n".join(lines), "utf-8", errors="surrogatepass")
    urls, problems = read_seed_file(path)
    assert all(seed_problem(url) is None for url in urls)
    assert all(problem.line is None or problem.line >= 1 for problem in problems)


@FUZZ
@given(raw=st.binary(max_size=3000))
def test_seed_file_bytes_never_crash_the_reader(tmp_path_factory: object, raw: bytes) -> None:
    path: Path = tmp_path_factory.mktemp("seeds") / "seeds.txt"  # type: ignore[attr-defined]
    path.write_bytes(raw)
    read_seed_file(path)


def _wrapped(kind: str, items: list[str]) -> bytes:
    if kind == "urlset":
        inner = "".join(f"<url><loc>{i}</loc></url>" for i in items)
        return (
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{inner}</urlset>'.encode()
        )
    if kind == "index":
        inner = "".join(f"<sitemap><loc>{i}</loc></sitemap>" for i in items)
        return f"<sitemapindex>{inner}</sitemapindex>".encode()
    if kind == "rss":
        inner = "".join(f"<item><link>{i}</link><guid>{i}</guid></item>" for i in items)
        return f'<?xml version="1.0"?><rss version="2.0"><channel>{inner}</channel></rss>'.encode()
    inner = "".join(f'<entry><link href="{i}"/></entry>' for i in items)
    return f'<feed xmlns="http://www.w3.org/2005/Atom">{inner}</feed>'.encode()


@FUZZ
@given(
    kind=st.sampled_from(["urlset", "index", "rss", "atom"]),
    items=st.lists(st.text(max_size=80), max_size=20),
    cut=st.integers(min_value=0, max_value=4000),
)
@example(kind="urlset", items=["<:"], cut=0)  # recovered into an element named ":" (found here)
def test_sitemaps_and_feeds_never_crash_the_parser(kind: str, items: list[str], cut: int) -> None:
    body = _wrapped(kind, items)
    for candidate in (body, body[:cut], body.replace(b"<", b"<<", 1)):
        looks_like_xml(candidate)
        listing = read_listing(candidate, "http://fuzz.test/feed")
        if listing is not None:
            assert all(isinstance(url, str) for url in listing.urls)


@FUZZ
@given(raw=st.binary(max_size=5000))
def test_any_bytes_never_crash_the_parser(raw: bytes) -> None:
    looks_like_xml(raw)
    read_listing(raw, "http://fuzz.test/x")

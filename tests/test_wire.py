"""Every byte as received: request and response records hold the HTTP messages as they crossed the
connection, compared byte for byte with what a raw-socket server logged for each exchange."""

from __future__ import annotations

import gzip
import inspect
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from stablecopy.layout import DataLayout
from tests.helpers import FAST, raw_records, run_cli
from tests.replay import fetch, serving
from tests.wireserver import Answer, Logged, WireServer

pytestmark = pytest.mark.catalogue

HTML = b"<!DOCTYPE html><html><head><title>Fine</title></head><body><p>Fine.</p></body></html>"
PACKED = gzip.compress(b"compressed, then chunked " * 40, mtime=0)
ANSWERS = {
    "/reason": Answer(
        b"HTTP/1.1 200 Fine By Us\r\n"
        b"x-lower-case: yes\r\nX-UPPER-CASE: YES\r\nSet-Cookie: session=s3cr3t; Path=/\r\n"
        b"X-Repeated: first\r\nX-Repeated: second\r\n"
        b"X-Folded: starts here\r\n  and goes on here\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n"
        + b"Content-Length: %d\r\n\r\n" % len(HTML)
        + HTML
    ),
    "/chunked": Answer(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ntransfer-encoding: chunked\r\n"
        b"Trailer: X-Checksum\r\n\r\n"
        b"5;name=value\r\nHello\r\n7\r\n, world\r\n0\r\nX-Checksum: 1234\r\n\r\n"
    ),
    "/gzip-chunked": Answer(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Encoding: gzip\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
        + b"".join(
            b"%x\r\n%s\r\n" % (len(PACKED[i : i + 100]), PACKED[i : i + 100])
            for i in range(0, len(PACKED), 100)
        )
        + b"0\r\n\r\n"
    ),
    "/early": Answer(
        b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
    ),
    "/http10": Answer(
        b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the connection closes",
        close=True,
    ),
}
REDACTED = (b"cookie", b"authorization", b"proxy-authorization")


def _records(data: Path) -> list[tuple[str, str, bytes]]:
    """(type, target URI, block) of every request, response and revisit record."""
    return [
        (record.type, record.headers["WARC-Target-URI"], record.block)
        for path in sorted(DataLayout.create(data).warc_dir.glob("*.warc.gz"))
        for record in raw_records(path)
        if record.type in ("request", "response", "revisit")
    ]


@pytest.fixture(scope="module")
def wire(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[WireServer, Path]]:
    data = tmp_path_factory.mktemp("wire") / "data"
    with WireServer(ANSWERS) as server:
        seeds = [server.url(path) for path in ANSWERS]
        done = run_cli(
            "crawl", *seeds, "--data-dir", str(data), *FAST, "--no-requisites",
            "-s", "CONCURRENT_REQUESTS=1", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1",
            "-s", "STABLECOPY_CONDITIONAL_REQUESTS=false",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        yield server, data


def _exchange(server: WireServer, path: str) -> Logged:
    (logged,) = [entry for entry in server.log if entry.target == path]
    return logged


def _without(head_and_body: bytes, names: tuple[bytes, ...]) -> bytes:
    head, _, body = head_and_body.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    kept = [lines[0]] + [line for line in lines[1:] if line.split(b":")[0].lower() not in names]
    return b"\r\n".join(kept) + b"\r\n\r\n" + body


def test_request_records_are_the_bytes_sent_less_the_redacted_headers(
    wire: tuple[WireServer, Path],
) -> None:
    server, data = wire
    requests = {uri: block for kind, uri, block in _records(data) if kind == "request"}
    for logged in server.log:
        assert requests[server.url(logged.target)] == _without(logged.received, REDACTED)
    # The cookie /reason set went back to the server, and into no record.
    assert any(b"\r\nCookie: session=s3cr3t" in entry.received for entry in server.log)
    assert not any(b"s3cr3t" in block for block in requests.values())
    # Host, Connection-level and conditional headers are there as sent, in their order.
    first = requests[server.url("/reason")]
    assert b"\r\nHost: 127.0.0.1:" in first


def test_response_records_are_the_bytes_received(wire: tuple[WireServer, Path]) -> None:
    server, data = wire
    responses = {uri: block for kind, uri, block in _records(data) if kind == "response"}
    # Custom reason phrase, header case and order, repeated and folded lines: all as sent.
    for path in ("/reason", "/http10"):
        assert responses[server.url(path)] == _exchange(server, path).sent, path
    # An interim 1xx is not the answer: the record holds the final response as it came.
    early = _exchange(server, "/early").sent
    assert responses[server.url("/early")] == early[early.index(b"HTTP/1.1 200") :]


def test_chunked_bodies_are_stored_de_chunked_under_a_renamed_header(
    wire: tuple[WireServer, Path],
) -> None:
    server, data = wire
    responses = {uri: block for kind, uri, block in _records(data) if kind == "response"}
    chunked = responses[server.url("/chunked")]
    sent_head = _exchange(server, "/chunked").sent.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
    renamed = sent_head.replace(b"transfer-encoding:", b"X-Archive-Orig-transfer-encoding:")
    assert chunked == renamed + b"Hello, world"
    packed = responses[server.url("/gzip-chunked")]
    assert packed.endswith(b"\r\n\r\n" + PACKED)  # de-chunked, still gzip: the entity as sent
    assert b"\r\nX-Archive-Orig-Transfer-Encoding: chunked\r\n" in packed


def test_several_exchanges_on_one_connection_are_split_exactly(
    wire: tuple[WireServer, Path],
) -> None:
    server, _ = wire
    per_connection: dict[int, int] = {}
    for entry in server.log:
        per_connection[entry.connection] = per_connection.get(entry.connection, 0) + 1
    assert max(per_connection.values()) >= 3  # kept alive: robots.txt and pages, one by one


def test_the_records_stay_valid_for_every_reader(wire: tuple[WireServer, Path]) -> None:
    server, data = wire
    warcs = [str(p) for p in DataLayout.create(data).warc_dir.glob("*.warc.gz")]
    checked = subprocess.run(
        [sys.executable, "-m", "warcio.cli", "check", "-v", *warcs],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    verified = run_cli("verify", "--data-dir", str(data))
    assert verified.returncode == 0, verified.stderr
    indexed = subprocess.run(
        [sys.executable, "-m", "cdxj_indexer.main", *warcs],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert indexed.returncode == 0, indexed.stderr
    assert "/chunked" in indexed.stdout
    with serving(data) as replay:
        listed = run_cli("captures", "--json", "--data-dir", str(data)).stdout
        assert server.url("/chunked") in listed
        raw = fetch(f"{replay.base}2/{server.url('/chunked')}".replace("/2/", "/2id_/"))
        assert raw.status == 200
        assert raw.read() == b"Hello, world"
        reason = fetch(f"{replay.base}2id_/{server.url('/reason')}")
        assert reason.read() == HTML


def test_the_scrapy_and_twisted_internals_the_handler_relies_on_are_there() -> None:
    """WireDownloadHandler subclasses Scrapy's private lenient protocol and factory, sets its
    pool's `_factory`, and overrides Twisted's request() and dataReceived(): an upgrade that
    moves any of them fails here, not silently in an archive of rebuilt messages."""
    from scrapy.core.downloader.handlers import http11
    from twisted.web._newclient import HTTP11ClientProtocol

    assert issubclass(http11._LenientHTTP11ClientProtocol, HTTP11ClientProtocol)
    assert "_factory" in inspect.getsource(http11.HTTP11DownloadHandler.__init__)
    assert list(inspect.signature(HTTP11ClientProtocol.request).parameters) == ["self", "request"]
    assert list(inspect.signature(HTTP11ClientProtocol.dataReceived).parameters) == [
        "self", "bytes",
    ]  # fmt: skip
    assert list(inspect.signature(http11._LenientHTTP11ClientFactory.__init__).parameters)[:3] == [
        "self", "quiescentCallback", "metadata",
    ]  # fmt: skip
    # The peer's certificate chain is read from Twisted's TLS protocol's pyOpenSSL connection.
    from twisted.protocols.tls import TLSMemoryBIOProtocol

    assert "self._tlsConnection" in inspect.getsource(TLSMemoryBIOProtocol)
    # Scrapy announces a response's headers in the call that read them: the handler relies on it.
    assert "check_stop_download" in inspect.getsource(http11._ScrapyAgent._cb_bodyready)

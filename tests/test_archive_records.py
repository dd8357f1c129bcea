"""Record construction: exact bytes with pinned IDs and clock, and warcio as the oracle."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.warcwriter import WARCWriter

from stablecopy.archive import records

BEGAN = datetime(2026, 11, 21, 8, 5, 5, 41260, tzinfo=UTC)
RESPONSE_ID = "<urn:uuid:00000000-0000-4000-8000-000000000001>"
REQUEST_ID = "<urn:uuid:00000000-0000-4000-8000-000000000002>"
INFO_ID = "<urn:uuid:00000000-0000-4000-8000-000000000003>"


def exchange(**changes: object) -> records.Exchange:
    fields: dict[str, object] = {
        "url": "http://news.example:8080/a/b?c=1&d=%C3%A9#section",
        "method": "GET",
        "request_headers": [
            (b"User-Agent", b"stablecopy/test"),
            (b"Cookie", b"session=secret"),
            (b"Accept-Encoding", b"gzip"),
        ],
        "request_body": b"",
        "protocol": "HTTP/1.1",
        "status": 200,
        "response_headers": [
            (b"Content-Type", b"text/html; charset=utf-8"),
            (b"Set-Cookie", b"a=1; HttpOnly"),
            (b"Set-Cookie", b"b=2"),
        ],
        "body": b"<html><body><p>Hello</p></body></html>",
        "began_at": BEGAN,
        "ip_address": "127.0.0.1",
    }
    fields.update(changes)
    return records.Exchange(**fields)  # type: ignore[arg-type]


class Writer(records.DigestPolicy, WARCWriter):
    """warcio's writer with stablecopy's digest policy, as the archive's serializer is built."""


def written(*built: records.BuiltRecord) -> bytes:
    buffer = io.BytesIO()
    writer = Writer(buffer, gzip=False, warc_version="1.1")
    for item in built:
        writer.write_record(item.record)
    return buffer.getvalue()


def test_response_record_bytes_are_exactly_as_built() -> None:
    built = records.response_record(exchange(), RESPONSE_ID, REQUEST_ID, INFO_ID)
    block = (
        b"HTTP/1.1 200 OK\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n"
        b"Set-Cookie: a=1; HttpOnly\r\n"
        b"Set-Cookie: b=2\r\n"
        b"\r\n"
        b"<html><body><p>Hello</p></body></html>"
    )
    payload = b"<html><body><p>Hello</p></body></html>"
    expected = (
        (
            "WARC/1.1\r\n"
            "WARC-Type: response\r\n"
            f"WARC-Record-ID: {RESPONSE_ID}\r\n"
            "WARC-Date: 2026-11-21T08:05:05.041260Z\r\n"
            "WARC-Target-URI: http://news.example:8080/a/b?c=1&d=%C3%A9\r\n"
            f"WARC-Warcinfo-ID: {INFO_ID}\r\n"
            f"WARC-Concurrent-To: {REQUEST_ID}\r\n"
            "WARC-IP-Address: 127.0.0.1\r\n"
            f"WARC-Payload-Digest: sha256:{hashlib.sha256(payload).hexdigest()}\r\n"
            f"WARC-Block-Digest: sha256:{hashlib.sha256(block).hexdigest()}\r\n"
            "Content-Type: application/http; msgtype=response\r\n"
            f"Content-Length: {len(block)}\r\n"
            "\r\n"
        ).encode()
        + block
        + b"\r\n\r\n"
    )
    assert written(built) == expected


def test_request_record_keeps_query_adds_host_and_drops_cookies() -> None:
    built = records.request_record(exchange(), REQUEST_ID, RESPONSE_ID, INFO_ID, ["cookie"])
    data = written(built)
    block = data.split(b"\r\n\r\n", 1)[1]
    assert block.startswith(
        b"GET /a/b?c=1&d=%C3%A9 HTTP/1.1\r\n"
        b"Host: news.example:8080\r\n"
        b"User-Agent: stablecopy/test\r\n"
        b"Accept-Encoding: gzip\r\n\r\n"
    )
    assert b"secret" not in data
    assert b"WARC-Concurrent-To: " + RESPONSE_ID.encode() in data


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://example.org/", b"example.org"),
        ("https://example.org:443/", b"example.org"),
        ("http://example.org:80/x", b"example.org"),
        ("https://example.org:8443/", b"example.org:8443"),
        ("http://[2001:db8::1]:8080/", b"[2001:db8::1]:8080"),
        ("http://EXAMPLE.org/", b"example.org"),
    ],
)
def test_host_header_omits_default_ports(url: str, host: bytes) -> None:
    assert records.host_header(url) == host


def test_request_with_body_gets_a_content_length() -> None:
    head = records.request_head("POST", "http://x.test/form", "HTTP/1.1", [], b"a=1&b=2")
    assert head == b"POST /form HTTP/1.1\r\nHost: x.test\r\nContent-Length: 7\r\n\r\n"


def test_transfer_encoding_is_renamed_because_the_body_is_dechunked() -> None:
    head = records.response_head("HTTP/1.1", 200, [(b"Transfer-Encoding", b"chunked")])
    assert b"\r\nTransfer-Encoding" not in head
    assert b"X-Archive-Orig-Transfer-Encoding: chunked\r\n" in head


def test_header_bytes_survive_unchanged_even_when_not_ascii() -> None:
    value = 'attachment; filename="Übersicht.pdf"'.encode()
    built = records.response_record(
        exchange(response_headers=[(b"Content-Disposition", value)]), RESPONSE_ID, REQUEST_ID, None
    )
    data = written(built)
    assert b"Content-Disposition: " + value + b"\r\n" in data
    (record,) = list(ArchiveIterator(io.BytesIO(data), check_digests=True))
    record.content_stream().read()
    assert not record.digest_checker.problems


def test_line_breaks_inside_header_values_cannot_forge_headers() -> None:
    head = records.response_head("HTTP/1.1", 200, [(b"X-Evil", b"a\r\nInjected: yes")])
    assert b"\r\nInjected: yes" not in head


def test_digests_survive_warcio_and_verify_there() -> None:
    built = [
        records.response_record(exchange(), RESPONSE_ID, REQUEST_ID, INFO_ID),
        records.request_record(exchange(), REQUEST_ID, RESPONSE_ID, INFO_ID),
    ]
    data = written(*built)
    read = list(ArchiveIterator(io.BytesIO(data), check_digests=True))
    for record, item in zip(read, built, strict=True):
        record.content_stream().read()
        assert record.rec_headers.get_header("WARC-Block-Digest") == item.block_digest
        assert record.rec_headers.get_header("WARC-Payload-Digest") == item.payload_digest
        assert item.block_digest.startswith("sha256:")
        assert not record.digest_checker.problems
    assert b"sha1:" not in data


def test_payload_digest_covers_the_body_as_received_still_compressed() -> None:
    import gzip

    body = gzip.compress(b"<html>Hi</html>", mtime=0)
    built = records.response_record(
        exchange(response_headers=[(b"Content-Encoding", b"gzip")], body=body),
        RESPONSE_ID,
        REQUEST_ID,
        None,
    )
    assert built.payload_digest == "sha256:" + hashlib.sha256(body).hexdigest()


def test_truncated_response_says_so() -> None:
    built = records.response_record(exchange(truncated="length"), RESPONSE_ID, REQUEST_ID, None)
    assert b"WARC-Truncated: length\r\n" in written(built)


def test_conversion_record_refers_to_its_response() -> None:
    text = "Clean text — with a dash"
    built = records.conversion_record(
        "http://x.test/a#top", text, RESPONSE_ID, "<urn:uuid:c>", BEGAN, INFO_ID
    )
    data = written(built)
    assert b"WARC-Type: conversion\r\n" in data
    assert b"WARC-Refers-To: " + RESPONSE_ID.encode() in data
    assert b"WARC-Target-URI: http://x.test/a\r\n" in data
    assert b"Content-Type: text/plain; charset=utf-8\r\n" in data
    digest = "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    assert built.payload_digest == built.block_digest == digest
    assert b"WARC-Concurrent-To" not in data


def test_metadata_record_has_no_payload_digest_even_after_warcio_writes_it() -> None:
    built = records.metadata_record(
        "http://x.test/a",
        [("extractor", "trafilatura"), ("title", "A\r\ntitle  on\tlines"), ("empty", "")],
        RESPONSE_ID,
        "<urn:uuid:m>",
        BEGAN,
        INFO_ID,
    )
    data = written(built)
    assert b"WARC-Payload-Digest" not in data
    assert b"extractor: trafilatura\r\ntitle: A title on lines\r\n\r\n" in data
    assert b"empty:" not in data


def test_warcinfo_record_names_its_file_and_has_no_target() -> None:
    built = records.warcinfo_record("f.warc.gz", [("software", "x")], INFO_ID, BEGAN)
    data = written(built)
    assert b"WARC-Filename: f.warc.gz\r\n" in data
    assert b"WARC-Target-URI" not in data
    assert b"WARC-Payload-Digest" not in data

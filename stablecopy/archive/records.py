"""WARC record construction with warcio: warcinfo, request, response, conversion, metadata. No I/O.

Digests are SHA-256 in lowercase hex (stablecopy.archive.digests). HTTP header blocks are built here,
byte for byte, and warcio is kept from re-serialising them, so the block digest covers exactly the
bytes written. Record IDs and dates come from the caller, so tests can pin them.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from urllib.parse import urlsplit

from warcio.recordbuilder import RecordBuilder
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders

from stablecopy.archive import wire
from stablecopy.archive.digests import Sha256Digester
from stablecopy.labels import warc_date

WARC_VERSION = "WARC/1.1"
HeaderList = Sequence[tuple[bytes, bytes]]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_ORIGINAL_PREFIX = b"X-Archive-Orig-"
# An extension field of response and revisit records fetched over TLS: who answered (the chain,
# leaf first, as JSON: sha256 fingerprint, subject, issuer, not_after of each certificate).
PEER_CERTIFICATES = "WARC-Peer-Certificates"
# What a page requisite was fetched as (stylesheet, image, font, script, embed...), on its response
# or revisit record: the field Browsertrix writes for the same purpose. Pages carry none.
RESOURCE_TYPE = "WARC-Resource-Type"


def new_record_id() -> str:
    """A fresh WARC-Record-ID (uuid4: reveals neither the host nor the time)."""
    return f"<urn:uuid:{uuid.uuid4()}>"


@dataclass(frozen=True)
class Exchange:
    """One HTTP fetch: what was asked, what came back, and when it began. `request_wire` and
    `response_wire` are the heads as they crossed the connection, when the download handler kept
    them (crawl/wirehandler.py); without them the heads are rebuilt from what Scrapy parsed."""

    url: str
    method: str
    request_headers: HeaderList
    request_body: bytes
    protocol: str
    status: int
    response_headers: HeaderList
    body: bytes
    began_at: datetime
    ip_address: str | None = None
    truncated: str | None = None
    request_wire: bytes | None = None  # request line and headers as written, blank line included
    response_wire: bytes | None = None  # status line and headers as read, blank line included
    peer_certificates: str | None = None  # over TLS: the peer's chain, as JSON (archive.wire)
    resource_type: str | None = None  # what a document needed it as (stylesheet, image...)


@dataclass(frozen=True)
class BuiltRecord:
    """A warcio record ready to write, with the identity and digests it carries."""

    record: ArcWarcRecord
    record_id: str
    block_digest: str
    payload_digest: str | None


class _FixedHttpHeaders(StatusAndHeaders):
    """HTTP status line and headers whose bytes are fixed when built; warcio writes them verbatim."""

    def __init__(self, head: bytes, statusline: str, protocol: str) -> None:
        super().__init__(statusline, [], protocol=protocol)
        self.headers_buff = head

    def compute_headers_buffer(self, header_filter: object = None) -> None:
        """Keep the bytes as built (warcio would re-encode and percent-escape them)."""


class DigestPolicy:
    """Mixed into warcio's builder and writer, which both fill in missing digests: SHA-256 in hex
    everywhere, and no payload digest on metadata records (their block has no payload)."""

    NO_PAYLOAD_DIGEST_TYPES = ("warcinfo", "revisit", "metadata")

    @staticmethod
    def _create_digester() -> Sha256Digester:
        return Sha256Digester()


class _Builder(DigestPolicy, RecordBuilder):
    def __init__(self) -> None:
        super().__init__(warc_version=WARC_VERSION)


_builder = _Builder()


def _clean(value: bytes) -> bytes:
    """A header name or value that cannot break the header block (no CR or LF inside)."""
    return value.replace(b"\r", b" ").replace(b"\n", b" ")


def _header_lines(headers: Iterable[tuple[bytes, bytes]]) -> bytes:
    return b"".join(_clean(name) + b": " + _clean(value) + b"\r\n" for name, value in headers)


def host_header(url: str) -> bytes:
    """The Host header a client sends for `url`: host, and the port unless it is the default."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        host = f"{host}:{port}"
    return host.encode("ascii", "replace")


def request_target(url: str) -> bytes:
    """Path, parameters and query of `url` as written on the request line (never the fragment)."""
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target = f"{target}?{parts.query}"
    return target.encode("ascii", "replace")


def without_fragment(url: str) -> str:
    return url.split("#", 1)[0]


def exchange_response_head(exchange: Exchange) -> bytes:
    """The response head a record stores: as read from the connection when it was kept (with
    Transfer-Encoding renamed, as the body stored is de-chunked), else rebuilt."""
    if exchange.response_wire is not None:
        return wire.renamed_header(exchange.response_wire, "Transfer-Encoding", _ORIGINAL_PREFIX)
    return response_head(exchange.protocol, exchange.status, exchange.response_headers)


def response_head(protocol: str, status: int, headers: HeaderList) -> bytes:
    """Status line and headers of a response. Transfer-Encoding is renamed: the body is de-chunked."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    fixed = [
        (_ORIGINAL_PREFIX + name, value) if name.lower() == b"transfer-encoding" else (name, value)
        for name, value in headers
    ]
    status_line = f"{protocol} {status} {reason}".encode("ascii") + b"\r\n"
    return status_line + _header_lines(fixed) + b"\r\n"


def request_head(
    method: str,
    url: str,
    protocol: str,
    headers: HeaderList,
    body: bytes,
    redact: Iterable[str] = (),
) -> bytes:
    """Request line and headers as sent (reconstructed): query kept, Host first, redacted names gone."""
    dropped = {name.lower().encode("latin-1") for name in redact}
    kept = [(name, value) for name, value in headers if name.lower() not in dropped]
    names = {name.lower() for name, _ in kept}
    lines: list[tuple[bytes, bytes]] = []
    if b"host" not in names:
        lines.append((b"Host", host_header(url)))
    lines.extend(kept)
    if body and b"content-length" not in names:
        lines.append((b"Content-Length", str(len(body)).encode("ascii")))
    request_line = method.encode("ascii") + b" " + request_target(url) + b" "
    return request_line + protocol.encode("ascii") + b"\r\n" + _header_lines(lines) + b"\r\n"


def _http_record(
    record_type: str,
    url: str,
    head: bytes,
    body: bytes,
    warc_headers: Mapping[str, str],
) -> BuiltRecord:
    # warcio's own split of a first line: "HTTP/1.1" + "200 OK", or "GET" + "/path HTTP/1.1".
    first = head.split(b"\n", 1)[0].rstrip(b"\r")
    protocol, _, statusline = first.decode("latin-1").partition(" ")
    http_headers = _FixedHttpHeaders(head, statusline, protocol)
    record_id = warc_headers["WARC-Record-ID"]
    record = _builder.create_warc_record(
        url,
        record_type,
        payload=io.BytesIO(body),
        length=len(body),
        warc_headers_dict=dict(warc_headers),
        http_headers=http_headers,
    )
    _builder.ensure_digest(record, block=True, payload=True)
    return BuiltRecord(
        record=record,
        record_id=record_id,
        block_digest=record.rec_headers.get_header("WARC-Block-Digest"),
        payload_digest=record.rec_headers.get_header("WARC-Payload-Digest"),
    )


def _common(
    record_type: str, url: str, record_id: str, date: datetime, warcinfo_id: str | None
) -> dict[str, str]:
    """The leading WARC headers, in the order they are written (warcio keeps dict order)."""
    headers = {"WARC-Type": record_type, "WARC-Record-ID": record_id, "WARC-Date": warc_date(date)}
    if url:
        headers["WARC-Target-URI"] = url
    if warcinfo_id:
        headers["WARC-Warcinfo-ID"] = warcinfo_id
    return headers


def response_record(
    exchange: Exchange, record_id: str, request_id: str, warcinfo_id: str | None
) -> BuiltRecord:
    url = without_fragment(exchange.url)
    headers = _common("response", url, record_id, exchange.began_at, warcinfo_id)
    headers["WARC-Concurrent-To"] = request_id
    if exchange.ip_address:
        headers["WARC-IP-Address"] = exchange.ip_address
    if exchange.truncated:
        headers["WARC-Truncated"] = exchange.truncated
    if exchange.peer_certificates:
        headers[PEER_CERTIFICATES] = exchange.peer_certificates
    if exchange.resource_type:
        headers[RESOURCE_TYPE] = exchange.resource_type
    return _http_record("response", url, exchange_response_head(exchange), exchange.body, headers)


REVISIT_PROFILES = {
    "identical-payload-digest": "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest",
    "server-not-modified": "http://netpreserve.org/warc/1.1/revisit/server-not-modified",
}


@dataclass(frozen=True)
class Original:
    """The record a revisit points back to."""

    record_id: str
    url: str
    fetched_at: datetime
    payload_digest: str


def revisit_record(
    exchange: Exchange,
    record_id: str,
    request_id: str,
    warcinfo_id: str | None,
    profile: str,
    original: Original,
) -> BuiltRecord:
    """A revisit: this exchange's HTTP headers only, standing for the original's payload.

    identical-payload-digest: the body was fetched whole, found identical and left out
    (WARC-Truncated: length). server-not-modified: the server answered 304, there was no body.
    """
    url = without_fragment(exchange.url)
    headers = _common("revisit", url, record_id, exchange.began_at, warcinfo_id)
    headers["WARC-Concurrent-To"] = request_id
    if exchange.ip_address:
        headers["WARC-IP-Address"] = exchange.ip_address
    headers["WARC-Profile"] = REVISIT_PROFILES[profile]
    headers["WARC-Refers-To"] = original.record_id
    headers["WARC-Refers-To-Target-URI"] = original.url
    headers["WARC-Refers-To-Date"] = warc_date(original.fetched_at)
    headers["WARC-Payload-Digest"] = original.payload_digest
    if profile == "identical-payload-digest":
        headers["WARC-Truncated"] = "length"
    if exchange.peer_certificates:
        headers[PEER_CERTIFICATES] = exchange.peer_certificates
    if exchange.resource_type:
        headers[RESOURCE_TYPE] = exchange.resource_type
    return _http_record("revisit", url, exchange_response_head(exchange), b"", headers)


def request_record(
    exchange: Exchange,
    record_id: str,
    response_id: str,
    warcinfo_id: str | None,
    redact: Iterable[str] = (),
) -> BuiltRecord:
    url = without_fragment(exchange.url)
    headers = _common("request", url, record_id, exchange.began_at, warcinfo_id)
    headers["WARC-Concurrent-To"] = response_id
    if exchange.ip_address:
        headers["WARC-IP-Address"] = exchange.ip_address
    if exchange.request_wire is not None:  # as written, less the redacted headers
        head = wire.without_headers(exchange.request_wire, redact)
    else:
        head = request_head(
            exchange.method,
            url,
            exchange.protocol,
            exchange.request_headers,
            exchange.request_body,
            redact,
        )
    return _http_record("request", url, head, exchange.request_body, headers)


def _plain_record(
    record_type: str,
    url: str,
    content_type: str,
    block: bytes,
    warc_headers: Mapping[str, str],
) -> BuiltRecord:
    record = _builder.create_warc_record(
        url,
        record_type,
        payload=io.BytesIO(block),
        length=len(block),
        warc_content_type=content_type,
        warc_headers_dict=dict(warc_headers),
    )
    _builder.ensure_digest(record, block=True, payload=True)
    return BuiltRecord(
        record=record,
        record_id=warc_headers["WARC-Record-ID"],
        block_digest=record.rec_headers.get_header("WARC-Block-Digest"),
        payload_digest=record.rec_headers.get_header("WARC-Payload-Digest"),
    )


def warc_fields(fields: Iterable[tuple[str, str]]) -> bytes:
    """An application/warc-fields block; values are kept on one line, empty values are left out."""
    lines = []
    for name, value in fields:
        flat = " ".join(str(value).split())
        if flat:
            lines.append(f"{name}: {flat}\r\n")
    return "".join(lines).encode("utf-8")


def warcinfo_record(
    filename: str, fields: Iterable[tuple[str, str]], record_id: str, date: datetime
) -> BuiltRecord:
    headers = _common("warcinfo", "", record_id, date, None)
    headers["WARC-Filename"] = filename
    return _plain_record("warcinfo", "", "application/warc-fields", warc_fields(fields), headers)


def _derived_record(
    record_type: str,
    url: str,
    content_type: str,
    block: bytes,
    refers_to: str,
    record_id: str,
    date: datetime,
    warcinfo_id: str | None,
) -> BuiltRecord:
    """A record made from a response record later on, pointing back at it with WARC-Refers-To."""
    url = without_fragment(url)
    headers = _common(record_type, url, record_id, date, warcinfo_id)
    headers["WARC-Refers-To"] = refers_to
    return _plain_record(record_type, url, content_type, block, headers)


def conversion_record(
    url: str,
    text: str,
    refers_to: str,
    record_id: str,
    date: datetime,
    warcinfo_id: str | None,
) -> BuiltRecord:
    """The clean text of a page, derived from (WARC-Refers-To) its response record."""
    content_type = "text/plain; charset=utf-8"
    block = text.encode("utf-8")
    return _derived_record(
        "conversion", url, content_type, block, refers_to, record_id, date, warcinfo_id
    )


def metadata_record(
    url: str,
    fields: Iterable[tuple[str, str]],
    refers_to: str,
    record_id: str,
    date: datetime,
    warcinfo_id: str | None,
) -> BuiltRecord:
    """Facts about a record (here: how its clean text was made), as application/warc-fields."""
    block = warc_fields(fields)
    return _derived_record(
        "metadata", url, "application/warc-fields", block, refers_to, record_id, date, warcinfo_id
    )


def resource_record(
    url: str,
    content_type: str,
    block: bytes,
    record_id: str,
    date: datetime,
    warcinfo_id: str | None,
    concurrent_to: str | None = None,
) -> BuiltRecord:
    """A record of something the archive made itself (a signed tree head, a time-stamp token)."""
    headers = _common("resource", url, record_id, date, warcinfo_id)
    if concurrent_to:
        headers["WARC-Concurrent-To"] = concurrent_to
    return _plain_record("resource", url, content_type, block, headers)

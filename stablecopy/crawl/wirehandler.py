"""WireDownloadHandler: Scrapy's HTTP/1.1 download handler, recording each exchange's bytes.

Scrapy hands the archive a Request and a Response rebuilt from parsed objects: header names
normalised, the standard reason phrase, no Host or Connection header. This handler (a subclass,
configured through DOWNLOAD_HANDLERS) gives its connection pool a protocol that records what it
writes to the connection and the response head it reads back, after TLS, per exchange (a kept-alive
connection carries several, one after another: Twisted never pipelines). The exchange goes into
the request's meta (meta.WIRE) when Scrapy announces the response's headers, which Twisted does in
the same call that read them.

It relies on private parts of Scrapy and Twisted (the pool's `_factory`, Scrapy's lenient
protocol and factory classes, HTTP11ClientProtocol.request and dataReceived); tests/test_wire.py
pins them, so an upgrade that moves them fails loudly.
"""

from __future__ import annotations

import json
import logging
from functools import partial
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import hashes
from scrapy import signals
from scrapy.core.downloader.handlers.http11 import (
    HTTP11DownloadHandler,
    _LenientHTTP11ClientFactory,
    _LenientHTTP11ClientProtocol,
)
from zope.interface import directlyProvides, providedBy

from stablecopy.archive import meta
from stablecopy.archive.records import request_target
from stablecopy.archive.wire import WireExchange

if TYPE_CHECKING:
    from collections.abc import Iterable

    from scrapy import Request
    from scrapy.crawler import Crawler
    from twisted.internet.defer import Deferred
    from twisted.internet.interfaces import IAddress
    from twisted.web._newclient import Request as TxRequest
    from twisted.web.iweb import IResponse

logger = logging.getLogger(__name__)


class WireLog:
    """Where a protocol leaves the exchange whose response head it has just read, for the
    handler to give to the request Scrapy announces next (in the same call)."""

    def __init__(self) -> None:
        self.parsed: WireExchange | None = None


class _RecordingTransport:
    """The connection's transport, as the protocol sees it: every write is also recorded."""

    def __init__(self, transport: Any, protocol: WireProtocol) -> None:
        self._transport = transport  # an ITransport (and whatever else the connection provides)
        self._protocol = protocol
        directlyProvides(self, providedBy(transport))

    def write(self, data: bytes) -> None:
        self._protocol.wrote(data)
        self._transport.write(data)

    def writeSequence(self, data: Iterable[bytes]) -> None:
        pieces = list(data)
        self._protocol.wrote(b"".join(pieces))
        self._transport.writeSequence(pieces)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class WireProtocol(_LenientHTTP11ClientProtocol):
    """Scrapy's HTTP/1.1 client protocol, keeping each exchange's bytes."""

    def __init__(self, quiescent: Any, log: WireLog) -> None:
        super().__init__(quiescent)
        self._wire_log = log  # (Twisted's protocols have a _log of their own)
        self._exchange: WireExchange | None = None

    def makeConnection(self, transport: Any) -> None:
        super().makeConnection(_RecordingTransport(transport, self))

    def wrote(self, data: bytes) -> None:
        if self._exchange is not None:
            self._exchange.wrote(data)

    def request(self, request: TxRequest) -> Deferred[IResponse]:
        exchange = WireExchange()
        peer = getattr(getattr(self.transport, "_transport", None), "getPeer", None)
        if peer is not None:
            exchange.ip_address = getattr(peer(), "host", None)
        self._exchange = exchange  # before the request is written, which happens in the call
        return super().request(request)

    def dataReceived(self, bytes: bytes) -> None:
        exchange = self._exchange
        if exchange is not None and exchange.head is None and exchange.read(bytes):
            exchange.peer_certificates = peer_certificates(
                getattr(self.transport, "_transport", None)
            )
            self._wire_log.parsed = exchange
        super().dataReceived(bytes)


def peer_certificates(transport: Any) -> str | None:
    """The TLS peer's certificate chain, leaf first, as JSON (None on plain HTTP): SHA-256
    fingerprint, subject, issuer and expiry of each, so a reader can see who answered."""
    connection = getattr(transport, "_tlsConnection", None)  # Twisted's TLSMemoryBIOProtocol
    chain = connection.get_peer_cert_chain() if connection is not None else None
    if not chain:
        leaf = getattr(transport, "getPeerCertificate", lambda: None)()
        chain = [leaf] if leaf is not None else []
    described = []
    for certificate in chain:
        cert = certificate.to_cryptography()
        described.append({
            "sha256": cert.fingerprint(hashes.SHA256()).hex(),
            "subject": cert.subject.rfc4514_string(),
            "issuer": cert.issuer.rfc4514_string(),
            "not_after": cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        })  # fmt: skip
    return json.dumps(described, separators=(",", ":")) if described else None


class WireClientFactory(_LenientHTTP11ClientFactory):
    def __init__(self, quiescentCallback: Any, metadata: Any, log: WireLog) -> None:
        super().__init__(quiescentCallback, metadata)
        self._wire_log = log

    def buildProtocol(self, addr: IAddress | None) -> WireProtocol:
        return WireProtocol(self._quiescentCallback, self._wire_log)


class WireDownloadHandler(HTTP11DownloadHandler):
    """HTTP/1.1 downloads whose requests carry their exchange's bytes in meta.WIRE."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._log = WireLog()
        self._pool._factory = partial(WireClientFactory, log=self._log)  # type: ignore[assignment]
        crawler.signals.connect(self.headers_received, signal=signals.headers_received)

    def headers_received(self, request: Request) -> None:
        exchange, self._log.parsed = self._log.parsed, None
        if exchange is None or exchange.head is None:
            return
        # The exchange is this request's when its request line names this request's target.
        line = exchange.request_line().split(b" ")
        if len(line) < 2 or line[1] != request_target(request.url):
            logger.debug("wire bytes not matched to %s: %r", request.url, line[:2])
            return
        request.meta[meta.WIRE] = exchange

"""Hostile and awkward routes added to the sample site for tests: stalls, resets, flaky 5xx, huge bodies.

How long `/test/stall` and `/test/slow` take is the test's choice (`?seconds=N`): a stall need only
outlast the crawl's download timeout, a slow page only keep a download in flight.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from stablecopy.samplesite.pages import Resource
from stablecopy.samplesite.server import SiteHandler

HUGE_SIZE = 3_000_000
STALL_SECONDS = 20.0
SLOW_SECONDS = 3.0
_hits: Counter[str] = Counter()
_lock = threading.Lock()


def huge_body() -> bytes:
    """Deterministic, incompressible-enough HTML, bigger than the test crawl's response limit."""
    paragraph = b"<p>" + b"archive " * 120 + b"</p>\n"
    return b"<html><body>" + paragraph * (HUGE_SIZE // len(paragraph) + 1) + b"</body></html>"


def _reset(handler: SiteHandler) -> None:
    """Close with a TCP RST (SO_LINGER 0) instead of a clean FIN."""
    handler.wfile.flush()
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.connection.close()
    handler.close_connection = True


def _seconds(handler: SiteHandler, default: float) -> float:
    query = parse_qs(urlsplit(handler.path).query)
    return float(query.get("seconds", [default])[0])


def stall(handler: SiteHandler) -> None:
    """Headers and a first bit of body, then nothing for `?seconds=` (default 20)."""
    seconds = _seconds(handler, STALL_SECONDS)
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html")
    handler.send_header("Content-Length", "5000")
    handler.end_headers()
    handler.wfile.write(b"<html><body><p>slow")
    handler.wfile.flush()
    time.sleep(seconds)
    handler.close_connection = True


def slow(handler: SiteHandler) -> None:
    """A page that takes `?seconds=` (default 3): a download still in flight when a test stops
    the crawl."""
    time.sleep(_seconds(handler, SLOW_SECONDS))
    handler.send_resource(
        Resource(body=b"<html><body><p>Late.</p></body></html>", content_type="text/html")
    )


def reset_before_response(handler: SiteHandler) -> None:
    _reset(handler)


def reset_mid_body(handler: SiteHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html; charset=utf-8")
    handler.send_header("Content-Length", "50000")
    handler.end_headers()
    handler.wfile.write(b"<html><body><p>" + b"cut short " * 300)
    _reset(handler)


def flaky(handler: SiteHandler) -> None:
    """503 on the first request, the page on the next: a 5xx that recovers on retry."""
    with _lock:
        _hits[handler.path] += 1
        first = _hits[handler.path] == 1
    if first:
        handler.send_resource(
            Resource(body=b"<html><body>Busy</body></html>", content_type="text/html", status=503)
        )
    else:
        handler.send_resource(
            Resource(body=b"<html><body><p>Back again.</p></body></html>", content_type="text/html")
        )


def huge(handler: SiteHandler) -> None:
    handler.send_resource(Resource(body=huge_body(), content_type="text/html; charset=utf-8"))


def noise(handler: SiteHandler) -> None:
    """Random bytes (`?size=N`, default HUGE_SIZE): nothing compresses them."""
    query = parse_qs(urlsplit(handler.path).query)
    size = int(query.get("size", [HUGE_SIZE])[0])
    body = os.urandom(size)
    handler.send_resource(Resource(body=body, content_type="application/octet-stream"))


def no_text(handler: SiteHandler) -> None:
    page = b"<html><head><title>Gallery</title></head><body><img src='/a.jpg'></body></html>"
    handler.send_resource(Resource(body=page, content_type="text/html; charset=utf-8"))


def binary_as_html(handler: SiteHandler) -> None:
    handler.send_resource(Resource(body=bytes(range(256)) * 40, content_type="text/html"))


ROUTES: dict[str, Callable[[SiteHandler], None]] = {
    "/test/no-text": no_text,
    "/test/binary-as-html": binary_as_html,
    "/test/stall": stall,
    "/test/slow": slow,
    "/test/reset-before-response": reset_before_response,
    "/test/reset-mid-body": reset_mid_body,
    "/test/flaky": flaky,
    "/test/huge": huge,
    "/test/noise": noise,
}


def closed_port_url() -> str:
    """A loopback URL nothing listens on: connection refused, the 'unreachable host' case."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/nothing-here"

"""A hostile web server: broken markup, lying headers, bombs, endless redirects, awkward URLs.

Each route is one way a real server goes wrong; tests/test_hostile.py crawls them all and checks
that the crawl goes on, the archive stays valid and memory stays bounded.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from functools import cache
from urllib.parse import quote

from stablecopy.samplesite.pages import Resource
from stablecopy.samplesite.server import SiteHandler

BIG_RESPONSE = 200 * 1024 * 1024  # bytes a server offers; the crawler keeps its own limit
BOMB_EXPANDED = 1024 * 1024 * 1024  # what the gzip bomb inflates to
CHAIN = 50
LONG_QUERY = "q=" + "archive" * 1200  # some 8.4 KB
UNICODE_PATH = "/test/" + quote("zürich-straße-新闻")
SPACE_PATH = "/test/" + quote("with space")
HTML = "text/html; charset=utf-8"
PAGE = "<html><head><title>{title}</title></head><body><article><h1>{title}</h1><p>{text}</p></article></body></html>"


def page(title: str, text: str) -> bytes:
    return PAGE.format(title=title, text=text).encode()


def malformed(handler: SiteHandler) -> None:
    body = (
        b"<html><head><title>Unclosed <b>tags</title><body><div><p>First paragraph of the "
        b"malformed page, which goes on long enough to count as an article body for extraction "
        b"<p>second &amp broken &#xZZ; entity <table><tr><td>cell<div></span></table>"
        b"<p>third paragraph <a href='/test/malformed?x=1' <a href=>dangling"
        b"<script>var s = '</div>'; </scr"
    )
    handler.send_resource(Resource(body=body, content_type=HTML))


def wrong_charset(handler: SiteHandler) -> None:
    """Says UTF-8, sends Latin-1."""
    text = "Käse, Brötchen und Grüße aus München. " * 20
    body = page("Falscher Zeichensatz", text).replace(b"utf-8", b"x")
    handler.send_resource(
        Resource(body=body.decode().encode("latin-1"), content_type="text/html; charset=utf-8")
    )


def no_charset(handler: SiteHandler) -> None:
    """No charset in the header; a meta tag says windows-1252."""
    text = "Les élèves ont visité le musée d’art — «exposition» très réussie. " * 20
    body = (
        "<html><head><meta charset='windows-1252'><title>Sans charset</title></head>"
        f"<body><article><p>{text}</p></article></body></html>"
    ).encode("cp1252")
    handler.send_resource(Resource(body=body, content_type="text/html"))


def big(handler: SiteHandler) -> None:
    """200 MB announced and sent (as far as the client reads)."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/octet-stream")
    handler.send_header("Content-Length", str(BIG_RESPONSE))
    handler.end_headers()
    chunk = bytes(range(256)) * 4096  # 1 MiB
    try:
        for _ in range(BIG_RESPONSE // len(chunk)):
            handler.wfile.write(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client stopped reading: its limit
    handler.close_connection = True


@cache
def bomb_body() -> bytes:
    """1 GiB of zeros, gzipped: about a megabyte on the wire."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = bytes(16 * 1024 * 1024)
    parts = [compressor.compress(block) for _ in range(BOMB_EXPANDED // len(block))]
    parts.append(compressor.flush())
    return b"".join(parts)


def gzip_bomb(handler: SiteHandler) -> None:
    body = bomb_body()
    handler.send_response(200)
    handler.send_header("Content-Type", HTML)
    handler.send_header("Content-Encoding", "gzip")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def length_too_long(handler: SiteHandler) -> None:
    """Content-Length promises more than is sent, then the connection closes."""
    handler.send_response(200)
    handler.send_header("Content-Type", HTML)
    handler.send_header("Content-Length", "10000")
    handler.end_headers()
    handler.wfile.write(page("Short", "Fewer bytes than promised."))
    handler.close_connection = True


def length_too_short(handler: SiteHandler) -> None:
    """Content-Length says 40 bytes; more follow on the same connection."""
    body = page("Long", "More bytes than announced. " * 20)
    handler.send_response(200)
    handler.send_header("Content-Type", HTML)
    handler.send_header("Content-Length", "40")
    handler.end_headers()
    handler.wfile.write(body)
    handler.close_connection = True


def redirect_loop(handler: SiteHandler) -> None:
    target = "/test/loop-b" if handler.path.startswith("/test/loop-a") else "/test/loop-a"
    handler.send_response(302)
    handler.send_header("Location", target)
    handler.send_header("Content-Length", "0")
    handler.end_headers()


def redirect_chain(handler: SiteHandler) -> None:
    """/test/chain?n=50 redirects to n=49 ... to n=0, a page."""
    step = int(handler.path.rsplit("=", 1)[1]) if "=" in handler.path else CHAIN
    if step <= 0:
        handler.send_resource(
            Resource(body=page("End of the chain", "Arrived."), content_type=HTML)
        )
        return
    handler.send_response(301)
    handler.send_header("Location", f"/test/chain?n={step - 1}")
    handler.send_header("Content-Length", "0")
    handler.end_headers()


def awkward_links(handler: SiteHandler) -> None:
    """A page linking to URLs with unicode, spaces, a fragment and a very long query."""
    links = [
        "/test/zürich-straße-新闻",
        "/test/with space",
        "/test/plain-page#section-2",
        f"/test/plain-page?{LONG_QUERY}",
    ]
    anchors = "".join(f'<a href="{link}">link</a> ' for link in links)
    handler.send_resource(
        Resource(body=page("Awkward links", "Links below. " + anchors), content_type=HTML)
    )


def plain_page(handler: SiteHandler) -> None:
    handler.send_resource(
        Resource(
            body=page("A plain page", f"You asked for {handler.path[:60]}."), content_type=HTML
        )
    )


def garbage_robots(handler: SiteHandler) -> None:
    """robots.txt that is 5 MB of binary junk."""
    junk = bytes((i * 7919) % 256 for i in range(5 * 1024 * 1024))
    handler.send_resource(Resource(body=junk, content_type="text/plain"))


ROUTES: dict[str, Callable[[SiteHandler], None]] = {
    "/test/malformed": malformed,
    "/test/wrong-charset": wrong_charset,
    "/test/no-charset": no_charset,
    "/test/big": big,
    "/test/gzip-bomb": gzip_bomb,
    "/test/length-too-long": length_too_long,
    "/test/length-too-short": length_too_short,
    "/test/loop-a": redirect_loop,
    "/test/loop-b": redirect_loop,
    "/test/chain": redirect_chain,
    "/test/awkward-links": awkward_links,
    "/test/plain-page": plain_page,
    UNICODE_PATH: plain_page,
    SPACE_PATH: plain_page,
}
ROBOTS_ROUTES: dict[str, Callable[[SiteHandler], None]] = {
    "/robots.txt": garbage_robots,
    "/test/plain-page": plain_page,
}

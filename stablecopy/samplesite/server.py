"""A real HTTP/1.1 server (HTTPS when given a TLS context) for the sample site on 127.0.0.1, port 0.

Serves Resources as a real server would: gzip only when the client accepts it, chunked framing when
asked, keep-alive, 304 Not Modified to conditional requests. Tests add dynamic routes (stalls,
resets, flaky 5xx) without changing the site. The sample site comes with its two other hosts: a
"CDN" on 127.0.0.2 and an ad server on 127.0.0.3 (other loopback addresses, other origins).
"""

from __future__ import annotations

import gzip
import ssl
import threading
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

from stablecopy.samplesite import assets
from stablecopy.samplesite.assets import Hosts
from stablecopy.samplesite.pages import build_site
from stablecopy.samplesite.resource import Resource

Route = Callable[["SiteHandler"], None]
CHUNK = 1024
CDN_HOST = "127.0.0.2"
ADS_HOST = "127.0.0.3"


class SiteHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SiteHTTPServer

    def do_GET(self) -> None:
        self.server.log_request_seen(self)
        if self.server.delay:
            time.sleep(self.server.delay)
        path = urlsplit(self.path).path
        route = self.server.routes.get(path)
        if route is not None:
            route(self)
            return
        resource = self.server.resources.get(self.path) or self.server.resources.get(path)
        if resource is None:
            resource = Resource(
                body=b"<html><body><h1>Not found</h1></body></html>",
                content_type="text/html; charset=utf-8",
                status=404,
            )
        self.send_resource(resource)

    def not_modified(self, resource: Resource) -> bool:
        """Whether the client's validators show it has this resource already (RFC 9110 13.1)."""
        if resource.status != 200:
            return False
        own = {name.lower(): value for name, value in resource.headers}
        asked_tag = self.headers.get("If-None-Match")
        if asked_tag is not None:
            tags = [tag.strip().removeprefix("W/") for tag in asked_tag.split(",")]
            return "*" in tags or own.get("etag", "").removeprefix("W/") in tags
        since, modified = self.headers.get("If-Modified-Since"), own.get("last-modified")
        if since is None or modified is None:
            return False
        try:
            return parsedate_to_datetime(modified) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False

    def send_resource(self, resource: Resource) -> None:
        if self.not_modified(resource):
            self.send_response(304)
            for name, value in resource.headers:
                if name.lower() in ("etag", "last-modified", "cache-control", "vary"):
                    self.send_header(name, value)
            self.end_headers()
            return
        body = resource.body
        encoding = resource.encoding
        gzipped = "gzip" in encoding and "gzip" in (self.headers.get("Accept-Encoding") or "")
        if gzipped:
            body = gzip.compress(body, mtime=0)
        self.send_response(resource.status)
        self.send_header("Content-Type", resource.content_type)
        for name, value in resource.headers:
            self.send_header(name, value)
        if "gzip" in encoding:
            self.send_header("Vary", "Accept-Encoding")
        if gzipped:
            self.send_header("Content-Encoding", "gzip")
        if "chunked" in encoding:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for start in range(0, len(body), CHUNK):
                piece = body[start : start + CHUNK]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the server records what it saw in `requests` instead of printing."""


class SiteHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    resources: dict[str, Resource]
    routes: dict[str, Route]
    delay: float = 0.0  # seconds each request waits, as a slower server would

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, SiteHandler)
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.times: list[tuple[float, str]] = []  # when each request arrived (monotonic), path
        self._lock = threading.Lock()

    def log_request_seen(self, handler: SiteHandler) -> None:
        with self._lock:
            self.requests.append((handler.command, handler.path, dict(handler.headers.items())))
            self.times.append((time.monotonic(), handler.path))


class SiteServer:
    """The sample site (plus optional extra routes) served on 127.0.0.1 at an OS-chosen port.

    `resources` replaces the sample site with another (a generated one), served alone; `extra`
    adds to it. The sample site starts its CDN and ad hosts with it (`cdn`, `ads`).
    """

    def __init__(
        self,
        routes: dict[str, Route] | None = None,
        extra: Callable[[str], dict[str, Resource]] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: ssl.SSLContext | None = None,
        edition: int = 1,
        resources: Callable[[str], dict[str, Resource]] | None = None,
        delay: float = 0.0,
    ) -> None:
        self.httpd = SiteHTTPServer((host, port))
        scheme = "http"
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
            scheme = "https"
        self.base = f"{scheme}://{host}:{self.httpd.server_address[1]}"
        self.companions: list[SiteServer] = []
        self.hosts = Hosts(site=self.base)
        if resources is None:
            cdn = SiteServer(resources=lambda _: assets.cdn_files(), host=CDN_HOST)
            ads = SiteServer(resources=lambda _: assets.ad_files(), host=ADS_HOST)
            self.companions = [cdn, ads]
            self.hosts = Hosts(site=self.base, cdn=cdn.base, ads=ads.base)
        self._extra = extra
        self._resources = resources
        self.edition = 0
        self.set_edition(edition)
        self.httpd.delay = delay
        self.httpd.routes = dict(routes or {})
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def set_edition(self, edition: int) -> None:
        """Serve the site as it reads in `edition` from the next request on (see pages.build_site)."""
        resources = (
            self._resources(self.base)
            if self._resources
            else build_site(self.base, edition, self.hosts)
        )
        if self._extra is not None:
            resources.update(self._extra(self.base))
        self.httpd.resources = resources  # one assignment: a request sees one edition or the other
        self.edition = edition

    def url(self, path: str = "/") -> str:
        return self.base + path

    @property
    def requests(self) -> list[tuple[str, str, dict[str, str]]]:
        return list(self.httpd.requests)

    @property
    def timed_requests(self) -> list[tuple[float, str]]:
        return list(self.httpd.times)

    @property
    def cdn(self) -> SiteServer:
        return self.companions[0]

    @property
    def ads(self) -> SiteServer:
        return self.companions[1]

    def start(self) -> Self:
        for companion in self.companions:
            companion.start()
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join()
        for companion in self.companions:
            companion.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

"""The replay process: pywb's FrontEndApp behind citation ids, clean texts and a strict CSP.

Runs under the Python that has pywb (its own environment: pywb pins libraries the crawler cannot
share), so it imports only pywb, gevent, warcio and the standard library, never stablecopy itself.
Its index is the catalogue: every lookup (pywb's, and the citation ids') is a question to the
stablecopy process's loopback API (replay/indexapi.py), which answers from the catalogue's indexes.
Citation ids (`/XXXX-XXXX` or `/{collection}/XXXX-XXXX`) redirect to their capture's replay URL,
and `/{collection}/text/XXXX-XXXX` serves its clean text, read from its WARC conversion record.
Every response carries a Content-Security-Policy that lets a replayed page load nothing but what
this origin serves: no live web, not even by WebSocket.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
SHORT_ID = re.compile(
    rf"^/(?:(?P<collection>[^/]+)/)?(?P<text>text/)?"
    rf"(?P<id>[{ALPHABET}]{{4}}-?[{ALPHABET}]{{4}})/?$",
    re.IGNORECASE,
)
# What a replayed page may load: this origin's archived copies, inline and generated content.
CSP = (
    "default-src 'self' 'unsafe-inline' 'unsafe-eval' data: blob: mediastream:; form-action 'self'"
)
StartResponse = Callable[[str, list[tuple[str, str]]], Any]
INDEX_SOURCE = "stablecopy+"  # then the API's /index URL: pywb's index source for a collection
API_TIMEOUT = 60.0
CLOSEST_LIMIT = 100  # captures on each side of a memento's time (pywb's RemoteIndexSource: 100)


def _ask(url: str) -> bytes | None:
    """The body of the API's answer to `url`, or None when it has nothing (404)."""
    try:
        with urllib.request.urlopen(url, timeout=API_TIMEOUT) as answer:
            body: bytes = answer.read()
            return body
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 404:
            return None
        raise


def catalogue_index_source() -> type:
    """pywb's index source for `stablecopy+<API>/index`: the lines of a key range, from the
    catalogue (a class made once pywb is importable, and registered with pywb)."""
    from pywb.warcserver.index.cdxobject import CDXObject
    from pywb.warcserver.index.indexsource import BaseIndexSource

    class CatalogueIndexSource(BaseIndexSource):
        def __init__(self, api: str) -> None:
            self.api = api

        def load_index(self, params: dict[str, Any]) -> Iterable[Any]:
            asked = {"key": params["key"], "end_key": params["end_key"]}
            if params.get("closest"):  # a memento: the nearest captures, as pywb's remote
                asked["closest"] = params["closest"]  # CDX source asks (pywb sorts them)
                asked["limit"] = params.get("limit") or CLOSEST_LIMIT
            elif params.get("limit"):
                asked["limit"] = params["limit"]
            return self._lines(f"{self.api}?{urllib.parse.urlencode(asked)}")

        def _lines(self, url: str) -> Iterator[Any]:
            """Read as pywb consumes them: a long answer is never held whole."""
            with urllib.request.urlopen(url, timeout=API_TIMEOUT) as answer:
                for line in answer:
                    if line.strip():
                        yield CDXObject(line.rstrip(b"\r\n"))

        @classmethod
        def init_from_string(cls, value: str) -> Any:
            return cls(value[len(INDEX_SOURCE) :]) if value.startswith(INDEX_SOURCE) else None

        @classmethod
        def init_from_config(cls, config: Any) -> None:
            return None

        def __str__(self) -> str:
            return "stablecopy"

    return CatalogueIndexSource


def _plain(start_response: StartResponse, status: str, text: str) -> list[bytes]:
    body = text.encode("utf-8")
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"),
                            ("Content-Length", str(len(body))),
                            ("X-Content-Type-Options", "nosniff")])  # fmt: skip
    return [body]


class CitationIds:
    """WSGI middleware: a citation id redirects to `/{collection}/{timestamp}/{url}`, and
    `/{collection}/text/{citation id}` serves the capture's clean text."""

    def __init__(self, app: Any, api: str, collection: str, warcs: str) -> None:
        self.app = app
        self.api = api.rstrip("/")
        self.collection = collection
        self.warcs = Path(warcs)

    def lookup(self, short_id: str) -> dict[str, Any] | None:
        """What the catalogue says the citation id names: timestamp, url, and text (where the
        clean text of the capture holding its payload is archived, or None)."""
        body = _ask(f"{self.api}/citation/{short_id}")
        return json.loads(body) if body is not None else None

    def text(self, where: dict[str, Any] | None) -> str | None:
        """The clean text archived `where` the catalogue says, its SHA-256 checked; None when
        there is none (yet) or it does not read back as catalogued."""
        if where is None:
            return None
        from warcio.archiveiterator import ArchiveIterator

        try:
            with (self.warcs / Path(where["file"]).name).open("rb") as stream:
                stream.seek(int(where["offset"]))
                record = next(iter(ArchiveIterator(stream)))
                payload = record.content_stream().read()
        except (OSError, StopIteration, ValueError, KeyError):
            return None
        if hashlib.sha256(payload).hexdigest() != where.get("sha256"):
            return None
        return payload.decode("utf-8", "replace")

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        match = SHORT_ID.match(environ.get("PATH_INFO", ""))
        if not match or match.group("collection") not in (None, self.collection):
            return self.app(environ, start_response)
        bare = match.group("id").upper().replace("-", "")
        short_id = f"{bare[:4]}-{bare[4:]}"
        try:
            found = self.lookup(short_id)
        except (urllib.error.URLError, OSError, ValueError):
            return _plain(start_response, "503 Service Unavailable",
                          "The catalogue cannot be read.\n")  # fmt: skip
        if found is None:
            return _plain(start_response, "404 Not Found", "No capture has this citation id.\n")
        if match.group("text"):
            text = self.text(found.get("text"))
            if text is None:
                return _plain(start_response, "404 Not Found",
                              f"Capture {short_id} has no clean text in the archive.\n")  # fmt: skip
            return _plain(start_response, "200 OK", text)
        location = f"/{self.collection}/{found['timestamp']}/{found['url']}"
        start_response("302 Found", [("Location", location), ("Content-Length", "0")])
        return [b""]


class ContentSecurity:
    """WSGI middleware: every response without a Content-Security-Policy gets CSP (pywb sets one
    only on top-level replayed pages, not on the frames, scripts and raw copies they load)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        def secured(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            if not any(k.lower() == "content-security-policy" for k, _ in headers):
                headers = [*headers, ("Content-Security-Policy", CSP)]
            return start_response(status, headers, *rest)

        return self.app(environ, secured)


class LogForward:
    """WSGI middleware: `/log/...` (the capture log's tree heads and proofs, for witnesses) is
    answered by the stablecopy process's log API on loopback, so it shares the replay's address."""

    def __init__(self, app: Any, api: str) -> None:
        self.app = app
        self.api = api.rstrip("/")

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not self.api or not (path == "/log" or path.startswith("/log/")):
            return self.app(environ, start_response)
        query = environ.get("QUERY_STRING", "")
        target = self.api + path + (f"?{query}" if query else "")
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "HEAD"):
            return _plain(start_response, "405 Method Not Allowed", "The log is read-only.\n")
        try:
            with urllib.request.urlopen(target, timeout=60) as answer:
                status, kind, body = (
                    f"{answer.status} OK",
                    answer.headers.get_content_type(),
                    answer.read(),
                )
        except urllib.error.HTTPError as exc:
            status, kind, body = f"{exc.code} {exc.reason}", "application/json", exc.read()
        except (urllib.error.URLError, OSError):
            return _plain(start_response, "503 Service Unavailable", "The log is not available.\n")
        start_response(status, [("Content-Type", kind), ("Content-Length", str(len(body))),
                                ("Access-Control-Allow-Origin", "*"),
                                ("X-Content-Type-Options", "nosniff")])  # fmt: skip
        return [body] if method == "GET" else [b""]


MEMENTO = re.compile(r"^/[^/]+/(?P<ts>\d{14})(?:[a-z]{2}_)?/")


class MementoTimes:
    """WSGI middleware: a memento's Memento-Datetime (and its Link) is its capture's time, the
    timestamp in its URL. pywb takes the WARC-Date of the record it loads, which for a 304 revisit
    indexed at its original's record (export/cdxj.py) is the original's: one capture would show
    two times. pywb redirects every memento request to its exact timestamp (redirect_to_exact)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        match = MEMENTO.match(environ.get("PATH_INFO", ""))
        if match is None:
            return self.app(environ, start_response)
        stamp = match.group("ts")

        def timed(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            given = next((v for k, v in headers if k.lower() == "memento-datetime"), None)
            if given is not None and status.startswith("200"):
                moment = datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
                own = format_datetime(moment, usegmt=True)
                headers = [
                    (k, own if k.lower() == "memento-datetime" else v.replace(given, own))
                    if k.lower() in ("memento-datetime", "link")
                    else (k, v)
                    for k, v in headers
                ]
            return start_response(status, headers, *rest)

        return self.app(environ, timed)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--config", required=True)
    parser.add_argument("--api", required=True)
    parser.add_argument("--collection", required=True)
    parser.add_argument("--warcs", required=True)
    parser.add_argument("--ready-file", required=True)
    args = parser.parse_args(argv)
    from gevent import monkey

    monkey.patch_all()  # as pywb's own `wayback` does: cooperative I/O for concurrent requests
    from gevent.pywsgi import WSGIServer
    from pywb.apps.frontendapp import FrontEndApp
    from pywb.warcserver.warcserver import register_source

    register_source(catalogue_index_source())
    os.chdir(Path(args.config).resolve().parent)
    app = ContentSecurity(
        LogForward(
            CitationIds(
                MementoTimes(FrontEndApp(config_file=args.config)),
                args.api,
                args.collection,
                args.warcs,
            ),
            args.api,
        )
    )
    server = WSGIServer((args.host, args.port), app, log=None)
    server.start()
    host, port = server.address[:2]
    ready = Path(f"{args.ready_file}.tmp")
    ready.write_text(f"{host} {port} {os.getpid()}\n", encoding="utf-8")
    ready.replace(args.ready_file)
    print(f"pywb replaying {args.collection} on {host}:{port}", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

"""The replay process: pywb's FrontEndApp behind a citation-id redirect, served by gevent.

Runs under the Python that has pywb (its own environment: pywb pins libraries the crawler cannot
share), so it imports only pywb, gevent and the standard library, never stablecopy itself.
Citation ids (`/XXXX-XXXX` or `/{collection}/XXXX-XXXX`) redirect to their capture's replay URL,
looked up in an SQLite table the stablecopy process keeps in step with the catalogue.
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
SHORT_ID = re.compile(
    rf"^/(?:(?P<collection>[^/]+)/)?(?P<id>[{ALPHABET}]{{4}}-?[{ALPHABET}]{{4}})/?$", re.IGNORECASE
)
StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class CitationIds:
    """WSGI middleware: a citation id redirects to `/{collection}/{timestamp}/{url}`."""

    def __init__(self, app: Any, table: str, collection: str) -> None:
        self.app = app
        self.table = table
        self.collection = collection

    def lookup(self, short_id: str) -> tuple[str, str] | None:
        try:
            with sqlite3.connect(f"file:{self.table}?mode=ro", uri=True) as db:
                row = db.execute(
                    "SELECT timestamp, url FROM short_ids WHERE short_id = ?", (short_id,)
                ).fetchone()
        except sqlite3.Error:
            return None
        return (row[0], row[1]) if row else None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        match = SHORT_ID.match(environ.get("PATH_INFO", ""))
        if match and match.group("collection") in (None, self.collection):
            bare = match.group("id").upper().replace("-", "")
            found = self.lookup(f"{bare[:4]}-{bare[4:]}")
            if found is None:
                body = b"No capture has this citation id.\n"
                start_response("404 Not Found", [("Content-Type", "text/plain"),
                                                 ("Content-Length", str(len(body)))])  # fmt: skip
                return [body]
            timestamp, url = found
            location = f"/{self.collection}/{timestamp}/{url}"
            start_response("302 Found", [("Location", location), ("Content-Length", "0")])
            return [b""]
        return self.app(environ, start_response)


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
    parser.add_argument("--short-ids", required=True)
    parser.add_argument("--collection", required=True)
    parser.add_argument("--ready-file", required=True)
    args = parser.parse_args(argv)
    from gevent import monkey

    monkey.patch_all()  # as pywb's own `wayback` does: cooperative I/O for concurrent requests
    from gevent.pywsgi import WSGIServer
    from pywb.apps.frontendapp import FrontEndApp

    os.chdir(Path(args.config).resolve().parent)
    app = CitationIds(
        MementoTimes(FrontEndApp(config_file=args.config)), args.short_ids, args.collection
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

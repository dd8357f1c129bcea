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
    app = CitationIds(FrontEndApp(config_file=args.config), args.short_ids, args.collection)
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

"""The capture log's read-only HTTP interface, for witnesses: `/log/tree-head`, `/log/key`,
`/log/proof?from=N&to=M` and `/log/inclusion?index=I&size=N`.

A WSGI app served on loopback by `stablecopy serve`'s own process (replay/apiserver.py); pywb's
process forwards `/log/` to it, so the log is on the replay's address. It only reads the
catalogue.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from stablecopy.catalog import caplog
from stablecopy.evidence.keys import KeyFileError, KeyFiles, public_pem

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class LogApi:
    def __init__(self, engine: Engine, keys: KeyFiles) -> None:
        self.engine = engine
        self.keys = keys

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            return _answer(start_response, "405 Method Not Allowed", {"error": "read-only"})
        try:
            if path == "/log/key":
                return self._key(start_response)
            with Session(self.engine) as session:
                found = self._route(session, path, query)
        except (ValueError, caplog.LogError) as exc:
            return _answer(start_response, "400 Bad Request", {"error": str(exc)})
        except SQLAlchemyError:
            return _answer(start_response, "503 Service Unavailable",
                           {"error": "the catalogue cannot be read"})  # fmt: skip
        if found is None:
            return _answer(start_response, "404 Not Found", {"error": f"no such thing: {path}"})
        return _answer(start_response, "200 OK", found)

    def _key(self, start_response: StartResponse) -> Iterable[bytes]:
        try:
            pem = public_pem(self.keys.log_key().public_key()).encode("ascii")
        except KeyFileError:
            return _answer(start_response, "404 Not Found", {"error": "this archive has no key"})
        start_response("200 OK", [("Content-Type", "application/x-pem-file"),
                                  ("Content-Length", str(len(pem)))])  # fmt: skip
        return [pem]

    def _route(self, session: Session, path: str, query: dict[str, str]) -> Any:
        if path == "/log/tree-head":
            latest = caplog.latest_head(session)
            return caplog.tree_head(latest).as_json() if latest else None
        if path == "/log/proof":
            old = int(query["from"]) if "from" in query else 0
            latest = caplog.latest_head(session)
            new = int(query["to"]) if "to" in query else (latest.tree_size if latest else 0)
            path_ = caplog.consistency(session, old, new)
            return {"from": old, "to": new, "path": [node.hex() for node in path_]}
        if path == "/log/inclusion":
            index, size = int(query.get("index", "")), int(query.get("size", ""))
            proof = caplog.inclusion(session, index, size)
            leaf = caplog.leaf_at(session, index)
            return {"leaf_index": index, "tree_size": size, "leaf": leaf,
                    "path": [node.hex() for node in proof.path]}  # fmt: skip
        return None


def _answer(start_response: StartResponse, status: str, body: Any) -> Iterable[bytes]:
    data = json.dumps(body, indent=2).encode("utf-8")
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(data))),
                            ("Access-Control-Allow-Origin", "*")])  # fmt: skip
    return [data]

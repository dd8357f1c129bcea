"""The catalogue's loopback HTTP server in `stablecopy serve`'s process: the capture log's API
under `/log/` and replay's index everywhere else, a thread per request (pywb asks it concurrently).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from sqlalchemy import Engine

from stablecopy.evidence.keys import KeyFiles
from stablecopy.replay.indexapi import IndexApi
from stablecopy.replay.logapi import LogApi

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Routes:
    def __init__(self, log: LogApi, index: IndexApi) -> None:
        self.log = log
        self.index = index

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/log" or path.startswith("/log/"):
            return self.log(environ, start_response)
        return self.index(environ, start_response)


class CatalogueApiServer:
    """Both APIs on 127.0.0.1 (a free port), served from a daemon thread."""

    def __init__(self, engine: Engine, keys: KeyFiles) -> None:
        routes = _Routes(LogApi(engine, keys), IndexApi(engine))
        self.server: WSGIServer = make_server(
            "127.0.0.1", 0, routes, server_class=_ThreadingServer, handler_class=_Quiet
        )
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> str:
        self.thread.start()
        return self.url

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

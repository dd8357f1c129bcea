"""A raw-socket HTTP server on loopback: each path answers with exactly the bytes a test gives it,
however wrong (status lines, NUL bytes, ...), then closes the connection."""

from __future__ import annotations

import socketserver
import threading
from types import TracebackType
from typing import Self


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            head += chunk
        target = head.split(b"\r\n", 1)[0].split(b" ")[1].decode("latin-1")
        self.request.sendall(self.server.answers.get(target, NOT_FOUND))


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    answers: dict[str, bytes]


NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class Serving:
    """A socketserver served from a thread for the length of a `with` block, at `base`."""

    def __init__(self, server: socketserver.TCPServer) -> None:
        self._server = server
        self.base = f"http://127.0.0.1:{server.server_address[1]}"
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()


class RawServer(Serving):
    """`answers` maps a request target (`/path`) to the bytes sent back."""

    def __init__(self, answers: dict[str, bytes]) -> None:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.answers = {"/robots.txt": NOT_FOUND, **answers}
        super().__init__(server)
        self._answers = server.answers

    def url(self, path: str) -> str:
        return self.base + path

    def answer(self, path: str, data: bytes) -> None:
        """From now on, answer `path` with `data`."""
        self._answers[path] = data


def response(status_line: bytes, headers: list[bytes], body: bytes) -> bytes:
    """A response with the given status line and header lines, a Content-Length and the body."""
    lines = [status_line, *headers, b"Content-Length: %d" % len(body), b"Connection: close"]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body

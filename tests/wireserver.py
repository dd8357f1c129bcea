"""A raw-socket HTTP/1.1 server on loopback that logs the exact bytes of every exchange.

Each request (read to the end of its head, then its Content-Length body) is answered with the bytes
a test gives for its path, however they are framed; the connection stays open for the next request
unless the answer says it closes (`close=True`: an HTTP/1.0 body delimited by the close). The log
holds, per exchange, the connection it came on, the bytes received and the bytes sent.
"""

from __future__ import annotations

import socketserver
import threading
from dataclasses import dataclass

from tests.rawserver import Serving


@dataclass(frozen=True)
class Answer:
    data: bytes
    close: bool = False


@dataclass(frozen=True)
class Logged:
    connection: int
    received: bytes
    sent: bytes

    @property
    def target(self) -> str:
        return self.received.split(b"\r\n", 1)[0].split(b" ")[1].decode("latin-1")


NOT_FOUND = Answer(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        connection = self.server.next_connection()
        pending = b""
        while True:
            while b"\r\n\r\n" not in pending:
                chunk = self.request.recv(65536)
                if not chunk:
                    return
                pending += chunk
            end = pending.index(b"\r\n\r\n") + 4
            head, pending = pending[:end], pending[end:]
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            while len(pending) < length:
                chunk = self.request.recv(65536)
                if not chunk:
                    return
                pending += chunk
            received, pending = head + pending[:length], pending[length:]
            target = head.split(b"\r\n", 1)[0].split(b" ")[1].decode("latin-1")
            answer = self.server.answers.get(target, NOT_FOUND)
            self.request.sendall(answer.data)
            self.server.record(Logged(connection, received, answer.data))
            if answer.close:
                return


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, answers: dict[str, Answer]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answers = answers
        self.log: list[Logged] = []
        self._lock = threading.Lock()
        self._connections = 0

    def next_connection(self) -> int:
        with self._lock:
            self._connections += 1
            return self._connections

    def record(self, logged: Logged) -> None:
        with self._lock:
            self.log.append(logged)


class WireServer(Serving):
    def __init__(self, answers: dict[str, Answer]) -> None:
        self._wire = _Server({"/robots.txt": NOT_FOUND, **answers})
        super().__init__(self._wire)

    def url(self, path: str) -> str:
        return self.base + path

    @property
    def log(self) -> list[Logged]:
        return list(self._wire.log)

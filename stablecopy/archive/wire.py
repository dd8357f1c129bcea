"""WireExchange: the bytes of one HTTP/1.1 exchange as they crossed the connection (after TLS).

What was written (request line, headers, body) and the response's head as read: status line with
its own reason phrase, header names in their case and order, repeated and folded lines, and any
interim 1xx responses before it, kept apart. The body is not kept here: Scrapy has it already,
de-chunked, and that is what the archive stores (see records.wire_response_head). Pure bytes work,
no I/O and no Twisted: the download handler (crawl/wirehandler.py) feeds it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

MAX_HEAD = 1024 * 1024  # a response head larger than this is not a head: stop looking


@dataclass
class WireExchange:
    """One request written on a connection, and the response head read back for it."""

    sent: bytearray = field(default_factory=bytearray)
    received: bytearray = field(default_factory=bytearray)
    head: bytes | None = None  # the final response's status line and headers, blank line included
    interim: bytes = b""  # 1xx responses before it (Twisted skips them), as received
    ip_address: str | None = None
    # Over TLS: the peer's certificate chain, leaf first, as a JSON list of {sha256, subject,
    # issuer, not_after} (crawl/wirehandler.py reads it once the handshake is done).
    peer_certificates: str | None = None

    def wrote(self, data: bytes) -> None:
        self.sent += data

    def read(self, data: bytes) -> bool:
        """Take bytes read from the connection; True once the final response's head is whole."""
        if self.head is not None:
            return True
        self.received += data
        found = final_head(bytes(self.received))
        if found is not None:
            self.interim, self.head = found
            self.received = bytearray()  # the body is Scrapy's to keep
            return True
        if len(self.received) > MAX_HEAD:
            self.received = bytearray()
        return False

    @property
    def request_head(self) -> bytes:
        """The request line and headers as written (all of it, if no blank line ended them)."""
        sent = bytes(self.sent)
        end = _head_end(sent, 0)
        return sent if end is None else sent[:end]

    def request_line(self) -> bytes:
        return bytes(self.sent).split(b"\n", 1)[0].rstrip(b"\r")


def _head_end(data: bytes, start: int) -> int | None:
    """The offset just past the blank line that ends the head starting at `start` (lines end in
    CRLF or, leniently, LF alone), or None if it has not all arrived."""
    position = start
    while True:
        newline = data.find(b"\n", position)
        if newline < 0:
            return None
        line = data[position:newline].rstrip(b"\r")
        if not line and position > start:
            return newline + 1
        position = newline + 1


def final_head(data: bytes) -> tuple[bytes, bytes] | None:
    """(interim 1xx responses, the final response's head) at the start of `data`, once whole."""
    start = 0
    while True:
        end = _head_end(data, start)
        if end is None:
            return None
        status = data[start:end].split(b" ", 2)
        code = status[1][:3] if len(status) > 1 else b""
        if code.isdigit() and 100 <= int(code) < 200 and code != b"101":
            start = end
            continue
        return data[:start], data[start:end]


def head_lines(head: bytes) -> list[bytes]:
    """The lines of a head, each with its own line ending."""
    return head.splitlines(keepends=True)


def _named(line: bytes) -> bytes | None:
    """The lower-case name of a header line, or None for a line that is no header."""
    name, colon, _ = line.partition(b":")
    return name.strip().lower() if colon else None


def without_headers(head: bytes, names: Iterable[str]) -> bytes:
    """`head` less the header lines named (any case), with the folded lines that continue them."""
    dropped = {name.lower().encode("latin-1") for name in names}
    kept: list[bytes] = []
    dropping = False
    for number, line in enumerate(head_lines(head)):
        if number == 0:
            kept.append(line)
            continue
        if line[:1] in (b" ", b"\t") and line.strip():
            if not dropping:
                kept.append(line)
            continue
        name = _named(line)
        dropping = name is not None and name in dropped
        if not dropping:
            kept.append(line)
    return b"".join(kept)


def renamed_header(head: bytes, name: str, prefix: bytes) -> bytes:
    """`head` with every header line named `name` (any case) renamed to prefix + its own name."""
    wanted = name.lower().encode("latin-1")
    lines = head_lines(head)
    for number, line in enumerate(lines[1:], start=1):
        if _named(line) == wanted:
            lines[number] = prefix + line
    return b"".join(lines)

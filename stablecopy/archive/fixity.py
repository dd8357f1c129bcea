"""Reading WARC files for fixity: where each record is, what it says it is, and its digests recomputed.

Streams gzip members through ISA-L or zlib in bounded chunks, so memory stays flat whatever the size
of a file or a record. A damaged or truncated member is reported at its exact offset and the scan
resumes at the next readable member. Knows nothing of the catalogue.
"""

from __future__ import annotations

import hashlib
import multiprocessing
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Self

from stablecopy.archive import deflate
from stablecopy.crawl.processes import interrupts_ignored

READ_CHUNK = 1 << 20
# Records are read in smaller pieces: what follows the end of a member is copied out each time.
MEMBER_CHUNK = 1 << 16
INFLATE_CHUNK = 1 << 20
MIN_PIECE = 8 << 20  # a file is read in parallel in stretches of at least this many bytes
MAX_WARC_HEAD = 1 << 16
MAX_HTTP_HEAD = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b\x08"
_HTTP_TYPES = ("response", "request", "revisit")
_BLOCK_IS_PAYLOAD = ("conversion", "resource", "continuation")
ENDS_INSIDE = "the file ends inside this record (truncated)"


@dataclass(frozen=True)
class RecordFacts:
    """One record as found: its place, its identity, its digests as written and as recomputed."""

    offset: int
    length: int  # bytes of its gzip member
    record_type: str
    record_id: str
    target_uri: str | None
    refers_to: str | None  # WARC-Refers-To: a text record's response, a revisit's original
    date: str | None
    block_digest: str | None
    payload_digest: str | None
    block_sha256: str
    payload_sha256: str | None  # HTTP entity body, or the block of a conversion/resource record


@dataclass(frozen=True)
class Damage:
    """Bytes that do not read as a whole record: a broken gzip member, a cut-off file."""

    offset: int
    length: int
    reason: str


class _Malformed(ValueError):
    pass


class _RecordParser:
    """Consumes the decompressed bytes of one record, hashing its block and payload as they pass."""

    def __init__(self) -> None:
        self.head = bytearray()
        self.headers: dict[str, str] | None = None
        self.remaining = 0
        self.block = hashlib.sha256()
        self.payload: hashlib._Hash | None = None
        self.http_head: bytearray | None = None
        self.tail = bytearray()

    def feed(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if self.headers is None:
                view = self._feed_head(view)
            elif self.remaining:
                taken = view[: self.remaining]
                self.remaining -= len(taken)
                self.block.update(taken)
                self._feed_payload(taken)
                view = view[len(taken) :]
            else:
                if len(self.tail) < 8:
                    self.tail += view[:8]
                return

    def _feed_head(self, view: memoryview) -> memoryview:
        start = max(0, len(self.head) - 3)
        self.head += view
        end = self.head.find(b"\r\n\r\n", start)
        if end < 0:
            if len(self.head) > MAX_WARC_HEAD:
                raise _Malformed("no end to the WARC header")
            return memoryview(b"")
        rest = bytes(self.head[end + 4 :])
        lines = bytes(self.head[:end]).decode("utf-8", "replace").split("\r\n")
        if not lines[0].startswith("WARC/"):
            raise _Malformed("not a WARC record")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.setdefault(name.strip().lower(), value.strip())
        try:
            self.remaining = int(headers["content-length"])
        except (KeyError, ValueError) as exc:
            raise _Malformed("no readable Content-Length") from exc
        self.headers = headers
        record_type = headers.get("warc-type", "")
        content_type = headers.get("content-type", "")
        if record_type in _HTTP_TYPES and content_type.startswith("application/http"):
            self.http_head = bytearray()
            self.payload = hashlib.sha256() if record_type != "revisit" else None
        elif record_type in _BLOCK_IS_PAYLOAD:
            self.payload = hashlib.sha256()
        return memoryview(rest)

    def _feed_payload(self, view: memoryview) -> None:
        if self.http_head is None:
            if self.payload is not None:
                self.payload.update(view)
            return
        start = max(0, len(self.http_head) - 3)
        self.http_head += view
        end = self.http_head.find(b"\r\n\r\n", start)
        if end >= 0:
            body = bytes(self.http_head[end + 4 :])
            self.http_head = None
            if self.payload is not None:
                self.payload.update(body)
        elif len(self.http_head) > MAX_HTTP_HEAD:
            self.http_head = None
            self.payload = None  # no HTTP header end: no payload to speak of

    def finish(self, offset: int, length: int) -> RecordFacts:
        headers = self.headers
        if headers is None:
            raise _Malformed("the gzip member holds no whole WARC header")
        if self.remaining:
            raise _Malformed(f"the block is {self.remaining} bytes short of its Content-Length")
        if not bytes(self.tail).startswith(b"\r\n\r\n"):
            raise _Malformed("the block is not followed by CRLF CRLF")
        payload = self.payload
        if self.http_head is not None:  # the block ended inside the HTTP header
            payload = None
        return RecordFacts(
            offset=offset,
            length=length,
            record_type=headers.get("warc-type", ""),
            record_id=headers.get("warc-record-id", ""),
            target_uri=headers.get("warc-target-uri"),
            refers_to=headers.get("warc-refers-to"),
            date=headers.get("warc-date"),
            block_digest=headers.get("warc-block-digest"),
            payload_digest=headers.get("warc-payload-digest"),
            block_sha256=self.block.hexdigest(),
            payload_sha256=payload.hexdigest() if payload is not None else None,
        )


def _looks_like_member(handle: BinaryIO, offset: int) -> bool:
    handle.seek(offset)
    sample = handle.read(4096)
    try:
        start = deflate.decompressor().decompress(sample, 8)
    except deflate.ERRORS:
        return False
    return start.startswith(b"WARC/")


def _next_member(handle: BinaryIO, after: int, size: int) -> int:
    """The offset of the next readable gzip member after `after`, or `size` when there is none."""
    position = after
    while position < size:
        handle.seek(position)
        window = handle.read(READ_CHUNK + 2)
        if not window:
            break
        found = window.find(_GZIP_MAGIC)
        while found >= 0:
            candidate = position + found
            if _looks_like_member(handle, candidate):
                return candidate
            found = window.find(_GZIP_MAGIC, found + 1)
        position += READ_CHUNK
    return size


def _read_from(handle: BinaryIO, offset: int, stop: int) -> Iterator[RecordFacts | Damage]:
    """Records from `offset` until `stop`, reading the file once, resynchronising after damage."""
    position = offset  # where the current member starts
    handle.seek(offset)
    read_to = offset  # file offset just past the bytes read so far
    carry = b""  # bytes read but not yet used; they start at `position`
    while position < stop:
        inflater = deflate.decompressor()
        parser = _RecordParser()
        consumed = 0
        pending, carry = carry, b""
        problem: str | None = None
        while True:
            if not pending:
                pending = handle.read(min(MEMBER_CHUNK, max(0, stop - read_to)))
                read_to += len(pending)
                if not pending:
                    problem = ENDS_INSIDE
                    break
            try:
                parser.feed(inflater.decompress(pending, INFLATE_CHUNK))
            except deflate.ERRORS as exc:
                problem = f"damaged gzip member ({exc})"
                break
            except _Malformed as exc:
                problem = str(exc)
                break
            if inflater.eof:
                # At the end of a member zlib may report its leftover input twice, as
                # unconsumed_tail and as unused_data: only unused_data counts.
                consumed += len(pending) - len(inflater.unused_data)
                carry = inflater.unused_data
                break
            consumed += len(pending) - len(inflater.unconsumed_tail)
            pending = inflater.unconsumed_tail
        if problem is None:
            try:
                yield parser.finish(position, consumed)
            except _Malformed as exc:
                yield Damage(position, consumed, str(exc))
            position += consumed
            continue
        resume = _next_member(handle, position + 1, stop)
        yield Damage(position, resume - position, problem)
        position = read_to = resume
        handle.seek(resume)


def scan(path: Path) -> Iterator[RecordFacts | Damage]:
    """Every record of a WARC file in order (and every damaged stretch), streaming."""
    with path.open("rb") as handle:
        size = path.stat().st_size
        yield from _read_from(handle, 0, size)


def _scan_range(path: str, start: int, stop: int) -> list[RecordFacts | Damage]:
    with open(path, "rb") as handle:  # noqa: PTH123 (a worker process, given a plain path)
        return list(_read_from(handle, start, stop))


def _cuts(path: Path, size: int, pieces: int) -> list[int]:
    """Up to `pieces - 1` offsets that split the file into stretches of similar size, each where a
    gzip member holding a WARC record starts (found as a reader resynchronising after damage
    finds one)."""
    cuts: list[int] = []
    with path.open("rb") as handle:
        for piece in range(1, pieces):
            found = _next_member(
                handle, max(size * piece // pieces, cuts[-1] + 1 if cuts else 1), size
            )
            if found >= size:
                break
            cuts.append(found)
    return cuts


def _stretches(path: Path, workers: int, min_piece: int) -> list[tuple[int, int]]:
    size = path.stat().st_size
    pieces = min(workers * 4, size // max(min_piece, 1))
    if pieces > workers:
        pieces -= pieces % workers  # every process gets as many stretches as the others
    cuts = _cuts(path, size, pieces) if workers > 1 and pieces > 1 else []
    return list(zip([0, *cuts], [*cuts, size], strict=True))


def _ends_inside(stretch: list[RecordFacts | Damage]) -> bool:
    """Whether a stretch read apart stopped inside a record: it was cut where no record starts (a
    gzipped WARC kept uncompressed inside a record looks like one)."""
    return bool(stretch) and isinstance(stretch[-1], Damage) and stretch[-1].reason == ENDS_INSIDE


class Readers:
    """Processes that read WARC files, each file in stretches at once, from the moment a file is
    named with `start`: a caller names the next file before it works through the current one, and
    the first before its own start-up is done, so reading overlaps everything else.

    `scan(path)` yields what the module's `scan` yields for the file, in the same order.
    """

    def __init__(self, workers: int, min_piece: int = MIN_PIECE) -> None:
        self.workers = workers
        self.min_piece = min_piece
        self._pool: ProcessPoolExecutor | None = None
        # For each file begun: where each stretch starts, and its reading.
        self._started: dict[Path, list[tuple[int, Future[list[RecordFacts | Damage]]]]] = {}

    def start(self, path: Path) -> None:
        """Begin reading `path` in worker processes, unless it is begun, small, or gone."""
        if path in self._started or self.workers < 2:
            return
        try:
            stretches = _stretches(path, self.workers, self.min_piece)
        except OSError:
            return  # reported when the file is scanned
        if len(stretches) < 2:
            return
        with interrupts_ignored():  # the processes start here; Ctrl-C is the command's
            if self._pool is None:
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload([__name__])
                self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)
            self._started[path] = [
                (start, self._pool.submit(_scan_range, str(path), start, stop))
                for start, stop in stretches
            ]

    def scan(self, path: Path) -> Iterator[RecordFacts | Damage]:
        self.start(path)
        stretches = self._started.pop(path, None)
        if stretches is None:
            yield from scan(path)
            return
        for number, (start, future) in enumerate(stretches):
            stretch = future.result()
            if number + 1 < len(stretches) and _ends_inside(stretch):
                # Everything before `start` joined up: from there on, the file is read in one go.
                for _, later in stretches[number + 1 :]:
                    later.cancel()
                with path.open("rb") as handle:
                    yield from _read_from(handle, start, path.stat().st_size)
                return
            yield from stretch

    def close(self) -> None:
        for stretches in self._started.values():
            for _, future in stretches:
                future.cancel()
        self._started.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def read_member(path: Path, offset: int) -> RecordFacts | Damage:
    """The record whose gzip member starts at `offset`, read to the member's end (its length is
    part of what is found, to compare with what the catalogue says)."""
    with path.open("rb") as handle:
        size = path.stat().st_size
        if offset >= size:
            return Damage(offset, 0, "the file ends before this record (truncated)")
        found = next(_read_from(handle, offset, size), None)
    if found is None:
        return Damage(offset, 0, "no record here")
    return found


def file_sha256(path: Path) -> tuple[str, int]:
    """SHA-256 and size of a whole file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(READ_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size

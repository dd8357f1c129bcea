"""Reading one record back from a WARC file at a known offset (the catalogue's pointer)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from stablecopy.archive.digests import sha256_hex
from stablecopy.archive.writer import OPEN_SUFFIX

_HTTP_RESPONSES = ("response", "revisit")


class RecordReadError(OSError):
    """No readable record at that place (missing file, wrong offset, damaged gzip member)."""


@dataclass(frozen=True)
class ReadRecord:
    """A record's WARC headers and payload as stored: the HTTP entity body (still content-encoded)
    for response and request records, the whole block for the others."""

    record_type: str
    headers: dict[str, str]
    payload: bytes
    http_status: int | None = None  # response records: the HTTP status and headers, as received
    http_headers: tuple[tuple[str, str], ...] = ()

    @property
    def payload_sha256(self) -> str:
        return sha256_hex(self.payload)


def _readable_path(path: Path) -> Path:
    """Where a record catalogued in `path` can be read now: the file once closed, its `.open` name
    while it is still being written (by this process or another worker of a shared crawl)."""
    if path.exists():
        return path
    still_open = path.with_name(path.name + OPEN_SUFFIX)
    return still_open if still_open.exists() else path


def read_record(path: Path, offset: int) -> ReadRecord:
    """The record whose gzip member starts at `offset` in `path` (or in `path`'s `.open` file, while
    it is still being written)."""
    path = _readable_path(path)
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            for record in ArchiveIterator(handle):
                http = record.http_headers if record.rec_type in _HTTP_RESPONSES else None
                status = http.get_statuscode() if http is not None else None
                return ReadRecord(
                    record_type=record.rec_type,
                    headers=dict(record.rec_headers.headers),
                    payload=record.raw_stream.read(),
                    http_status=int(status) if status and status.isdigit() else None,
                    http_headers=tuple(http.headers) if http is not None else (),
                )
    except (OSError, ArchiveLoadFailed, ValueError, EOFError) as exc:
        raise RecordReadError(f"cannot read a record at {path}:{offset}: {exc}") from exc
    raise RecordReadError(f"no record at {path}:{offset}")

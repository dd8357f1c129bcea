"""Excerpts of WARC files: chosen gzip members copied byte for byte into a new WARC file."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from stablecopy.archive.fixity import READ_CHUNK, RecordFacts, read_member


def warcinfo_span(path: Path) -> tuple[int, int] | None:
    """Offset and length of the warcinfo record heading a file, if it has one."""
    first = read_member(path, 0)
    if isinstance(first, RecordFacts) and first.record_type == "warcinfo":
        return 0, first.length
    return None


def write_excerpt(source: Path, spans: Iterable[tuple[int, int]], target: Path) -> int:
    """Copy the members at `spans` (offset, length) of `source`, in offset order, with the source's
    warcinfo record first so every copied record's WARC-Warcinfo-ID still resolves. Returns the
    number of bytes written."""
    wanted = set(spans)
    heading = warcinfo_span(source)
    if heading is not None:
        wanted.add(heading)
    written = 0
    with source.open("rb") as reader, target.open("xb") as writer:
        for offset, length in sorted(wanted):
            reader.seek(offset)
            remaining = length
            while remaining:
                chunk = reader.read(min(READ_CHUNK, remaining))
                if not chunk:
                    raise OSError(f"{source} ends inside the record at offset {offset}")
                writer.write(chunk)
                remaining -= len(chunk)
            written += length
    return written

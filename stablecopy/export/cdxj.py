"""CDXJ index lines: written from the catalogue (no WARC file is read), or corrected after
cdxj-indexer, so that every capture replays.

Lines are `<SURT key> <14-digit UTC timestamp> <JSON>` in bytewise order, with the fields
cdxj-indexer writes for response and revisit records (url, mime, status, digest, length, offset,
filename), so pywb and other CDXJ readers take them as theirs. One difference, on purpose: a
`server-not-modified` revisit (the server answered 304) is indexed at its own time but at its
original's record, with the original's status and type. Replay tools play a revisit whose HTTP
status is 304 as an empty 304; indexed this way, the time the server confirmed the copy replays
that copy.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import PurePosixPath
from typing import IO

from stablecopy.catalog.models import Capture
from stablecopy.labels import timestamp14

REVISIT_MIME = "warc/revisit"


def cdxj_line(capture: Capture, citation: bool = False) -> str:
    """The capture's index line; `citation`: with its citation id (a field replay's banner shows,
    which other CDXJ readers ignore)."""
    source = capture
    if capture.revisit_profile == "server-not-modified" and capture.original is not None:
        source = capture.original
    if source.record_type == "revisit":
        mime = REVISIT_MIME  # what replay tools look for to resolve the original
    else:
        mime = (source.content_type or "unk").split(";")[0].strip().lower() or "unk"
    fields = {
        "url": capture.url,
        "mime": mime,
        "status": str(source.status),
        "digest": source.payload_digest,
        "length": str(source.warc_length),
        "offset": str(source.warc_offset),
        "filename": PurePosixPath(source.warc_file).name,
    }
    if citation and capture.short_id:
        fields["citation"] = capture.short_id
    stamp = timestamp14(capture.fetched_at)
    return f"{capture.url_key} {stamp} {json.dumps(fields)}"


def cdxj_lines(captures: Iterable[Capture], citations: bool = False) -> Iterator[str]:
    """The lines of captures given in SURT key and time order (see queries.captures_by_key), as
    they are read. Captures of one URL within the same second share key and 14-digit timestamp;
    their lines are sorted bytewise among themselves, as a sorted CDXJ file (and cdxj-indexer)
    has them."""
    prefix = ""
    tied: list[str] = []
    for capture in captures:
        line = cdxj_line(capture, citations)
        head = line[: line.index(" {")]
        if head != prefix:
            yield from sorted(tied)
            prefix, tied = head, []
        tied.append(line)
    yield from sorted(tied)


def write_cdxj(captures: Iterable[Capture], out: IO[str], citations: bool = False) -> int:
    """Write the lines of captures given in SURT key and time order; how many."""
    count = 0
    for line in cdxj_lines(captures, citations):
        out.write(f"{line}\n")
        count += 1
    return count


def resolve_not_modified(lines: Iterable[str]) -> Iterator[str]:
    """CDXJ lines (sorted, as cdxj-indexer writes them) with each 304 revisit pointed at the
    earlier response of the same URL with the same payload digest, when the index has it."""
    key = None
    originals: dict[str, dict[str, str]] = {}
    for line in lines:
        url_key, stamp, raw = line.rstrip("\n").split(" ", 2)
        if url_key != key:
            key, originals = url_key, {}
        fields = json.loads(raw)
        digest = fields.get("digest", "")
        if fields.get("mime") != REVISIT_MIME:
            if str(fields.get("status", "")).startswith("2"):
                originals[digest] = fields
        elif fields.get("status") == "304" and digest in originals:
            fields = {**originals[digest], "url": fields.get("url")}
            line = f"{url_key} {stamp} {json.dumps(fields)}"
        yield line.rstrip("\n")

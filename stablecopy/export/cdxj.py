"""A CDXJ index of captures, written from the catalogue (no WARC file is read).

Lines are `<SURT key> <14-digit UTC timestamp> <JSON>` in bytewise order, with the fields
cdxj-indexer writes for response records (url, mime, status, digest, length, offset, filename), so
pywb and other CDXJ readers take it as theirs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import IO

from stablecopy.catalog.models import Capture


def cdxj_line(capture: Capture) -> str:
    fields = {
        "url": capture.url,
        "mime": (capture.content_type or "unk").split(";")[0].strip().lower() or "unk",
        "status": str(capture.status),
        "digest": capture.payload_digest,
        "length": str(capture.warc_length),
        "offset": str(capture.warc_offset),
        "filename": PurePosixPath(capture.warc_file).name,
    }
    stamp = capture.fetched_at.strftime("%Y%m%d%H%M%S")
    return f"{capture.url_key} {stamp} {json.dumps(fields)}"


def write_cdxj(captures: Iterable[Capture], out: IO[str]) -> int:
    """Write the lines of captures already in CDXJ order (see queries.captures_by_key)."""
    count = 0
    for capture in captures:
        out.write(cdxj_line(capture) + "\n")
        count += 1
    return count

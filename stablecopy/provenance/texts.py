"""Clean text read back from its WARC conversion record, checked against the catalogue's SHA-256."""

from __future__ import annotations

from stablecopy.archive.reader import RecordReadError, read_record
from stablecopy.catalog.models import Capture
from stablecopy.layout import DataLayout, UnsafePathError


class TextUnavailable(LookupError):
    """A capture has no clean text, or its record cannot be read or no longer matches."""


def archived_text(layout: DataLayout, capture: Capture) -> str:
    """The clean text of `capture` (a revisit's is its original's), as archived."""
    extraction = capture.payload_capture.extraction
    if extraction is None or extraction.conversion_file is None:
        status = extraction.status if extraction else "not extracted"
        raise TextUnavailable(
            f"capture {capture.short_id or capture.id} has no clean text ({status})"
        )
    place = f"{extraction.conversion_file}:{extraction.conversion_offset}"
    try:
        path = layout.resolve(extraction.conversion_file)
        record = read_record(path, extraction.conversion_offset or 0)
    except (RecordReadError, UnsafePathError) as exc:
        raise TextUnavailable(str(exc)) from exc
    if record.payload_sha256 != extraction.text_sha256:
        raise TextUnavailable(
            f"the text record at {place} does not match the SHA-256 catalogued for it"
        )
    return record.payload.decode("utf-8")

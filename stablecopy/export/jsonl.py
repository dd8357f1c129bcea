"""The catalogue as JSON lines: one object per capture, with its clean-text metadata."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO, Any

from stablecopy.catalog.models import Capture


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with microseconds and a Z, as every export writes times."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def capture_json(capture: Capture) -> dict[str, Any]:
    """A capture as researchers' scripts get it (`captures --json`, `export --jsonl`)."""
    original = capture.original if capture.record_type == "revisit" else None
    extraction = capture.payload_capture.extraction
    return {
        "id": capture.id,
        "short_id": capture.short_id,
        "crawl_id": capture.crawl_id,
        "url": capture.url,
        "fetched_at": iso(capture.fetched_at),
        "status": capture.status,
        "content_type": capture.content_type,
        "payload_sha256": capture.payload_sha256,
        "payload_digest": capture.payload_digest,
        "block_digest": capture.block_digest,
        "payload_length": capture.payload_length,
        "truncated": capture.truncated,
        "ip_address": capture.ip_address,
        "redirect_to": capture.redirect_to,
        "warc_file": capture.warc_file,
        "warc_offset": capture.warc_offset,
        "warc_length": capture.warc_length,
        "record_id": capture.record_id,
        "request_record_id": capture.request_record_id,
        "record_type": capture.record_type,
        "revisit_profile": capture.revisit_profile,
        "refers_to_id": original.id if original else None,
        "refers_to_short_id": original.short_id if original else None,
        "refers_to_record_id": original.record_id if original else None,
        "title": extraction.title if extraction else None,
        "author": extraction.author if extraction else None,
        "published": extraction.published if extraction else None,
        "language": extraction.language if extraction else None,
        "site_name": extraction.site_name if extraction else None,
        "text_sha256": extraction.text_sha256 if extraction else None,
        "extraction_status": extraction.status if extraction else None,
        "fetched_as": capture.requisite or "page",
    }


def write_jsonl(captures: Iterable[Capture], out: IO[str]) -> int:
    count = 0
    for capture in captures:
        out.write(json.dumps(capture_json(capture), ensure_ascii=False) + "\n")
        count += 1
    return count

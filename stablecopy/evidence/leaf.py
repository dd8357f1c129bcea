"""What one entry of the capture log commits to, as canonical bytes anyone can rebuild.

A leaf is JSON with sorted keys, no spaces and ASCII escapes (so its bytes are one function of its
fields); its hash is SHA-256(0x00 || bytes), RFC 9162's leaf hash. Three kinds: a capture (its
response or revisit record), a clean text (its conversion and metadata records) and a closed WARC
file (its SHA-256).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from stablecopy.evidence.merkle import leaf_hash
from stablecopy.labels import warc_date

LEAF_VERSION = 1
CAPTURE = "capture"
TEXT = "text"
WARC_FILE = "warc-file"


def canonical(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


@dataclass(frozen=True)
class Leaf:
    kind: str
    subject: str  # what the log holds once: a record id, or a WARC file's path
    fields: dict[str, Any]

    @property
    def data(self) -> bytes:
        return canonical({"v": LEAF_VERSION, "kind": self.kind, **self.fields})

    @property
    def hash(self) -> bytes:
        return leaf_hash(self.data)


def capture_leaf(
    *,
    record_id: str,
    record_type: str,
    target_uri: str,
    fetched_at: datetime,
    payload_digest: str,
    block_digest: str,
    request_record_id: str,
    warc_file: str,
    offset: int,
    length: int,
) -> Leaf:
    return Leaf(CAPTURE, record_id, {
        "record_id": record_id, "record_type": record_type, "target_uri": target_uri,
        "warc_date": warc_date(fetched_at), "payload_digest": payload_digest,
        "block_digest": block_digest, "request_record_id": request_record_id,
        "warc_file": warc_file, "offset": offset, "length": length,
    })  # fmt: skip


def text_leaf(
    *,
    refers_to: str,
    metadata_record_id: str,
    conversion_record_id: str | None,
    text_sha256: str | None,
) -> Leaf:
    return Leaf(TEXT, metadata_record_id, {
        "refers_to": refers_to, "metadata_record_id": metadata_record_id,
        "conversion_record_id": conversion_record_id, "text_sha256": text_sha256,
    })  # fmt: skip


def file_leaf(*, path: str, sha256: str, size: int, records: int) -> Leaf:
    return Leaf(WARC_FILE, path, {"path": path, "sha256": sha256, "size": size, "records": records})


def parse(data: bytes) -> dict[str, Any]:
    """The fields of a leaf's bytes; ValueError when they are not a canonical leaf."""
    fields = json.loads(data)
    if not isinstance(fields, dict) or canonical(fields) != data:
        raise ValueError("not a canonical capture-log leaf")
    return fields

"""The strings stablecopy derives in many places, each built here once: `sha256:` digest labels
(WARC, WACZ, the catalogue), WARC-Dates, and 14-digit UTC timestamps (CDXJ, replay URLs,
citations)."""

from __future__ import annotations

from datetime import UTC, datetime

SHA256 = "sha256"


def sha256_label(hexdigest: str) -> str:
    """`sha256:<hex>`, the digest form written everywhere (WARC-*-Digest, WACZ hashes)."""
    return f"{SHA256}:{hexdigest}"


def label_hex(labelled: str) -> str:
    """The hex part of a labelled digest (`sha256:ab12` -> `ab12`); empty for an empty label."""
    return labelled.partition(":")[2]


def timestamp14(moment: datetime) -> str:
    """`YYYYMMDDhhmmss` in UTC: the CDX and Wayback timestamp of a capture."""
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%S")


def warc_date(moment: datetime) -> str:
    """WARC/1.1 date: UTC, W3C form, microseconds (every record and capture-log entry has it so)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

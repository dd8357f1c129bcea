"""Digests in the one form stablecopy writes everywhere: `sha256:` followed by lowercase hex.

Also reads the other labelled forms found in WARC files (sha1/sha256 in base16, base32 or base64,
with `sha-256:`-style labels) so digests written by other tools can be compared with ours.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import re

ALGORITHM = "sha256"
LABEL = "sha256"

_LABELS = {"sha1": "sha1", "sha-1": "sha1", "sha256": "sha256", "sha-256": "sha256"}
_HEX = re.compile(r"^[0-9a-fA-F]+$")


class Sha256Digester:
    """Incremental SHA-256 that prints as a WARC digest (`sha256:<hex>`); warcio's Digester shape."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()

    def update(self, data: bytes) -> None:
        self._hash.update(data)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()

    def __str__(self) -> str:
        return f"{LABEL}:{self._hash.hexdigest()}"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def warc_digest(data: bytes) -> str:
    """The WARC-*-Digest value of `data`."""
    return f"{LABEL}:{sha256_hex(data)}"


def parse_digest(value: str) -> tuple[str, bytes] | None:
    """Split a labelled digest into (algorithm, raw bytes); None when it cannot be read."""
    label, sep, encoded = value.strip().partition(":")
    algorithm = _LABELS.get(label.lower())
    if not sep or algorithm is None:
        return None
    size = hashlib.new(algorithm).digest_size
    candidates: list[bytes] = []
    if _HEX.match(encoded) and len(encoded) == size * 2:
        candidates.append(bytes.fromhex(encoded))
    with contextlib.suppress(binascii.Error, ValueError):
        candidates.append(base64.b32decode(encoded.upper() + "=" * (-len(encoded) % 8)))
    with contextlib.suppress(binascii.Error, ValueError):
        candidates.append(base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True))
    for raw in candidates:
        if len(raw) == size:
            return algorithm, raw
    return None


def digest_matches(value: str, data: bytes) -> bool:
    """Whether a labelled digest (any encoding stablecopy can read) is the digest of `data`."""
    parsed = parse_digest(value)
    if parsed is None:
        return False
    algorithm, raw = parsed
    return hashlib.new(algorithm, data).digest() == raw

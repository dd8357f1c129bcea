"""Digests in the one form stablecopy writes everywhere: `sha256:` followed by lowercase hex."""

from __future__ import annotations

import hashlib

from stablecopy.labels import sha256_label


class Sha256Digester:
    """Incremental SHA-256 that prints as a WARC digest (`sha256:<hex>`); warcio's Digester shape."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()

    def update(self, data: bytes) -> None:
        self._hash.update(data)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()

    def __str__(self) -> str:
        return sha256_label(self._hash.hexdigest())


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()

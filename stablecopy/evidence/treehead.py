"""Signed tree heads: the log's size, root and time, signed by the archive's Ed25519 key.

The signed bytes are RFC 6962's TreeHeadSignature structure (version 0, signature type 1, 64-bit
timestamp in milliseconds, 64-bit tree size, the 32-byte root), so a tree head can be checked with
`openssl pkeyutl -verify -rawin` and a few lines of any language. Its JSON form is CT's get-sth.
"""

from __future__ import annotations

import base64
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from stablecopy.evidence.keys import key_id, verify_ed25519

_HEAD = struct.Struct(">BBQQ")
VERSION_V1 = 0
TREE_HASH = 1


class TreeHeadError(ValueError):
    """A tree head that is malformed or whose signature does not verify."""


@dataclass(frozen=True)
class TreeHead:
    size: int
    root: bytes
    timestamp: int  # milliseconds since the epoch, UTC
    signature: bytes = b""
    key_id: str = ""

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp / 1000, UTC)

    def signed_bytes(self) -> bytes:
        return _HEAD.pack(VERSION_V1, TREE_HASH, self.timestamp, self.size) + self.root

    def signed(self, key: ed25519.Ed25519PrivateKey) -> TreeHead:
        return TreeHead(
            self.size, self.root, self.timestamp, key.sign(self.signed_bytes()),
            key_id(key.public_key()),
        )  # fmt: skip

    def verify(self, key: ed25519.Ed25519PublicKey) -> None:
        if not self.signature:
            raise TreeHeadError("the tree head is not signed")
        if self.key_id and self.key_id != key_id(key):
            raise TreeHeadError("the tree head was signed by another key")
        if not verify_ed25519(key, self.signature, self.signed_bytes()):
            raise TreeHeadError("the tree head's signature does not verify with the log's key")

    def as_json(self) -> dict[str, Any]:
        return {
            "tree_size": self.size,
            "timestamp": self.timestamp,
            "sha256_root_hash": base64.b64encode(self.root).decode("ascii"),
            "tree_head_signature": base64.b64encode(self.signature).decode("ascii"),
            "key_id": self.key_id,
            "time": self.time.isoformat().replace("+00:00", "Z"),
        }

    @classmethod
    def from_json(cls, data: Any) -> TreeHead:
        try:
            head = cls(
                size=int(data["tree_size"]),
                root=base64.b64decode(data["sha256_root_hash"], validate=True),
                timestamp=int(data["timestamp"]),
                signature=base64.b64decode(data.get("tree_head_signature", ""), validate=True),
                key_id=str(data.get("key_id", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise TreeHeadError(f"not a tree head: {exc}") from exc
        if len(head.root) != 32 or head.size < 0:
            raise TreeHeadError("not a tree head: its root is not a SHA-256 hash")
        return head

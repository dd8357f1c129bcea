"""Short citation ids (Perma-style `XXXX-XXXX`), derived from a capture's WARC-Record-ID.

The alphabet leaves out 0, O, 1, I and L, so an id read aloud or copied by hand stays unambiguous.
An id is derived from the record id, so a catalogue rebuilt from the WARC files gives the same ids;
on the rare collision the next attempt is taken. Never change `derive`: stored ids and published
citations depend on it.
"""

from __future__ import annotations

import hashlib
import re

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 8
_PATTERN = re.compile(rf"^[{ALPHABET}]{{4}}-?[{ALPHABET}]{{4}}$")


def derive(record_id: str, attempt: int = 0) -> str:
    """The id for `record_id` (attempt 1, 2, ... after a collision)."""
    seed = record_id if attempt == 0 else f"{record_id}#{attempt}"
    number = int.from_bytes(hashlib.sha256(seed.encode("utf-8")).digest()[:8], "big")
    chars = []
    for _ in range(LENGTH):
        number, index = divmod(number, len(ALPHABET))
        chars.append(ALPHABET[index])
    return "".join(chars[:4]) + "-" + "".join(chars[4:])


def normalise(text: str) -> str | None:
    """The canonical form of a typed id (any case, dash optional), or None if it is not one."""
    candidate = text.strip().upper()
    if not _PATTERN.match(candidate):  # 0, O, 1, I and L were never issued: no guessing
        return None
    bare = candidate.replace("-", "")
    return f"{bare[:4]}-{bare[4:]}"

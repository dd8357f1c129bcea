"""The characters of a page: its bytes decoded with the charset that fits them.

Servers get charsets wrong often enough (a UTF-8 header on Latin-1 bytes, no charset at all, a
`charset=utf-16` on ASCII, names of codecs that are not text encodings at all, such as `rot13`,
`zlib` or `undefined`) that trusting the declaration garbles or loses real articles. The byte-order
mark wins; then the charset the header declares, then the one the page declares in <meta>, each only
if the bytes decode under it; then charset-normalizer's guess. The archived bytes are never touched:
this is only for the text.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from charset_normalizer import from_bytes
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom

TOLERATED = 0.001  # undecodable bytes per character a declared charset may still have
# Markup is ASCII: under the page's real charset its `<` bytes are `<` characters. A false UTF-16
# or UTF-32 declaration decodes ASCII bytes without an error, but into CJK characters, no markup.
MARKUP_SAMPLE = 8


@dataclass(frozen=True)
class Reading:
    """How a page's bytes are read: `encoding`, and the declared charset set aside, if one was."""

    encoding: str
    rejected: str | None = None


def _text_codec(name: str) -> str | None:
    """Python's name for the text encoding `name`, or None for unknown or non-text codecs."""
    try:
        info = codecs.lookup(name)
        "".encode(info.name)  # rot13, zlib, base64, ...: codecs, but not between bytes and text
    except (LookupError, UnicodeError):
        return None
    return info.name


def _fits(body: bytes, encoding: str | None) -> str | None:
    """The text of `body` under `encoding`, if the bytes (all but a stray few) decode under it."""
    name = _text_codec(encoding) if encoding else None
    if name is None:
        return None
    try:
        text = body.decode(name, "replace")
    except UnicodeError:  # the `undefined` codec refuses every byte, even with "replace"
        return None
    bad = text.count("\ufffd") - body.count("\ufffd".encode())
    if bad > TOLERATED * max(len(text), 1):
        return None
    markup = body.count(b"<", 0, 1 << 16)
    if markup >= MARKUP_SAMPLE and text.count("<", 0, 1 << 16) < markup // 2:
        return None
    return text


def _read(body: bytes, content_type: str | None) -> tuple[Reading, str]:
    bom, _ = read_bom(body)
    declared = (http_content_type_encoding(content_type or ""), html_body_declared_encoding(body))
    rejected: str | None = None
    for encoding in (bom, *declared):
        text = _fits(body, encoding)
        if text is not None:
            assert encoding is not None
            return Reading(encoding, rejected), text
        rejected = rejected or encoding
    guess = from_bytes(body[: 1 << 20]).best()
    encoding = guess.encoding if guess is not None and guess.encoding else "utf-8"
    return Reading(encoding, rejected), body.decode(encoding, "replace")


def reading(body: bytes, content_type: str | None) -> Reading:
    """How `body` is read (see module): the encoding, and a declared charset that did not fit."""
    return _read(body, content_type)[0]


def page_text(body: bytes, content_type: str | None) -> str:
    """`body` as text: BOM, then the header's charset, then <meta>, then a guess (see module)."""
    return _read(body, content_type)[1]

"""The characters of a page: its bytes decoded with the charset that fits them.

Servers get charsets wrong often enough (a UTF-8 header on Latin-1 bytes, no charset at all) that
trusting the header alone garbles real articles. The byte-order mark wins; then the charset the
header declares, then the one the page declares in <meta>, each only if the bytes decode under it;
then charset-normalizer's guess. The archived bytes are never touched: this is only for the text.
"""

from __future__ import annotations

import codecs

from charset_normalizer import from_bytes
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom

TOLERATED = 0.001  # undecodable bytes per character a declared charset may still have


def _fits(body: bytes, encoding: str | None) -> str | None:
    """The text of `body` under `encoding`, if the bytes (all but a stray few) decode under it."""
    if not encoding:
        return None
    try:
        codecs.lookup(encoding)
    except LookupError:
        return None
    text = body.decode(encoding, "replace")
    bad = text.count("\ufffd") - body.count("\ufffd".encode())
    return text if bad <= TOLERATED * max(len(text), 1) else None


def page_text(body: bytes, content_type: str | None) -> str:
    """`body` as text: BOM, then the header's charset, then <meta>, then a guess (see module)."""
    bom, _ = read_bom(body)
    for encoding in (
        bom,
        http_content_type_encoding(content_type or ""),
        html_body_declared_encoding(body),
    ):
        text = _fits(body, encoding)
        if text is not None:
            return text
    guess = from_bytes(body[: 1 << 20]).best()
    if guess is not None and guess.encoding:
        return body.decode(guess.encoding, "replace")
    return body.decode("utf-8", "replace")

"""Requisite: one URL a document needs to render, what kind of thing it is, and why it is not fetched."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from w3lib.url import safe_url_string

# Kinds: what the URL is to the document that needs it.
STYLESHEET = "stylesheet"  # <link rel=stylesheet>, @import: read for requisites of its own
EMBED = "embed"  # <iframe>, <frame>: a document with requisites of its own
SCRIPT = "script"
IMAGE = "image"
FONT = "font"
ICON = "icon"
MANIFEST = "manifest"
OBJECT = "object"  # <object data>, <embed src>
TRACK = "track"  # <track src>: captions and subtitles
MEDIA = "media"  # <video>/<audio> sources: streams, never fetched
PRELOAD = "preload"  # <link rel=preload> of a kind it does not say

# Why a requisite is not fetched (set when it is found; a fetch can be skipped later too).
SKIPPED_MEDIA = "media stream"
SKIPPED_BLOCKED = "ad or tracker host"
SKIPPED_EMBED_DEPTH = "embed depth"

_HTML_SPACE = " \t\n\f\r"
_URL_TABS = re.compile("[\t\n\r]")
_NOT_FETCHED = ("data:", "blob:", "javascript:", "about:", "mailto:", "tel:", "#")


@dataclass(frozen=True)
class Requisite:
    url: str  # absolute, percent-encoded as it will be fetched, without fragment
    kind: str
    skipped: str | None = None


def resolved(base: str, raw: str, encoding: str = "utf-8") -> str | None:
    """`raw` (an attribute value or CSS URL) as an absolute http(s) URL to fetch, or None for an
    in-page reference, inline data or another scheme."""
    value = _URL_TABS.sub("", raw.strip(_HTML_SPACE))
    if not value or value.lower().startswith(_NOT_FETCHED):
        return None
    try:
        url = urljoin(base, value).split("#", 1)[0]
        if urlsplit(url).scheme.lower() not in ("http", "https") or not urlsplit(url).hostname:
            return None
    except ValueError:  # an invalid IPv6 literal, a port out of range
        return None
    return safe_url_string(url, encoding)

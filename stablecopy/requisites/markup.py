"""The requisites of an HTML document: what its elements load to render it, read from its parsed tree.

Stylesheets, icons, preloads and the manifest (`<link>`), scripts, images (`src`, `srcset`,
`<picture><source>`, the `data-*` attributes lazy loaders use, `poster`, `<input type=image>`,
SVG `<image>`/`<use>`, legacy `background`), objects and embeds, caption tracks, frames and
iframes (documents with requisites of their own), and the CSS of `<style>` blocks and `style`
attributes. `<video>`/`<audio>` sources are streams: found, never fetched.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lxml import etree

from stablecopy.requisites import stylesheet
from stablecopy.requisites.requisite import (
    EMBED,
    FONT,
    ICON,
    IMAGE,
    MANIFEST,
    MEDIA,
    OBJECT,
    PRELOAD,
    SCRIPT,
    SKIPPED_MEDIA,
    STYLESHEET,
    TRACK,
    Requisite,
    resolved,
)
from stablecopy.requisites.srcset import candidate_urls

_LINK_KINDS = {
    "stylesheet": STYLESHEET,
    "icon": ICON,
    "shortcut": ICON,
    "apple-touch-icon": ICON,
    "apple-touch-icon-precomposed": ICON,
    "mask-icon": ICON,
    "manifest": MANIFEST,
    "modulepreload": SCRIPT,
    "preload": PRELOAD,
}
_PRELOADED = {"style": STYLESHEET, "script": SCRIPT, "font": FONT, "image": IMAGE}
# Where lazy loaders keep an image's real source until it scrolls into view (lazysizes, lozad,
# WordPress plugins, jQuery lazyload, Drupal's blazy ...), and its srcset.
LAZY_SOURCES = (
    "data-src", "data-lazy-src", "data-original", "data-lazy", "data-echo", "data-hi-res-src",
    "data-full-src", "data-img-src", "data-orig-file", "data-large-file",
)  # fmt: skip
LAZY_SRCSETS = ("data-srcset", "data-lazy-srcset", "data-original-set")
LAZY_BACKGROUNDS = ("data-bg", "data-background", "data-background-image")
_MEDIA_PARENTS = ("video", "audio")
# The elements that may need something, in document order, found by libxml2 in one pass (a news
# page has a few thousand elements; visiting each from Python would cost more than the rest).
# (Elements with a style, background or data- attribute are found by their attributes: asking
# each element for seventeen attributes by name takes eight times as long.)
_CANDIDATES = etree.XPath(
    "//link[@href or @imagesrcset] | //script[@src] | //img | //source | //video | //audio"
    " | //track[@src] | //input[@src] | //object[@data] | //embed[@src] | //iframe | //frame"
    " | //image | //use | //style"
    " | //@*[starts-with(local-name(), 'data-') or local-name()='style'"
    " or local-name()='background']/.."
)


def in_markup(root: Any, base: str, encoding: str = "utf-8") -> Iterator[Requisite]:
    """Requisites of the document whose lxml tree is `root`, fetched from `base`, in document
    order, each URL once; relative URLs are resolved against its `<base href>`, if it has one."""
    declared = next(iter(root.xpath("/html/head/base[@href][1]/@href")), None)  # only in <head>
    if declared:
        base = resolved(base, str(declared), encoding) or base
    seen: set[str] = set()
    for found in _found(root, base, encoding):
        if found.url not in seen:
            seen.add(found.url)
            yield found


def _found(root: Any, base: str, encoding: str) -> Iterator[Requisite]:
    def one(raw: str | None, kind: str, skipped: str | None = None) -> Iterator[Requisite]:
        if raw:
            url = resolved(base, raw, encoding)
            if url:
                yield Requisite(url, kind, skipped)

    def several(raw: str | None, kind: str, skipped: str | None = None) -> Iterator[Requisite]:
        for candidate in candidate_urls(raw or ""):
            yield from one(candidate, kind, skipped)

    for element in _CANDIDATES(root):
        tag = element.tag
        if not isinstance(tag, str):
            continue
        tag = tag.rsplit("}", 1)[-1].lower()
        get = element.get
        if tag == "link":
            rels = (get("rel") or "").lower().split()
            kinds = [_LINK_KINDS[rel] for rel in rels if rel in _LINK_KINDS]
            if kinds:
                kind = kinds[0]
                if kind == PRELOAD:
                    kind = _PRELOADED.get((get("as") or "").lower(), PRELOAD)
                yield from one(get("href"), kind)
                yield from several(get("imagesrcset"), IMAGE)
        elif tag == "script":
            yield from one(get("src"), SCRIPT)
        elif tag in ("img", "source"):
            in_media = tag == "source" and _inside(element, _MEDIA_PARENTS)
            if in_media:
                yield from one(get("src"), MEDIA, SKIPPED_MEDIA)
                continue
            yield from one(get("src"), IMAGE)
            yield from several(get("srcset"), IMAGE)
            yield from _lazy(element, one, several)
        elif tag in ("video", "audio"):
            yield from one(get("poster"), IMAGE)
            yield from one(get("src"), MEDIA, SKIPPED_MEDIA)
        elif tag == "track":
            yield from one(get("src"), TRACK)
        elif tag == "input" and (get("type") or "").lower() == "image":
            yield from one(get("src"), IMAGE)
        elif tag == "object":
            yield from one(get("data"), OBJECT)
        elif tag == "embed":
            yield from one(get("src"), OBJECT)
        elif tag in ("iframe", "frame"):
            yield from one(get("src") or get("data-src") or get("data-lazy-src"), EMBED)
        elif tag in ("image", "use"):  # SVG; a <use> of "#id" is in the page
            yield from one(get("href") or get("{http://www.w3.org/1999/xlink}href")
                           or get("xlink:href"), IMAGE)  # fmt: skip
        elif tag == "style" and element.text:
            yield from stylesheet.in_style_text(element.text, base)
        else:
            yield from _lazy(element, one, several)
        yield from one(get("background"), IMAGE)
        style = get("style")
        if style and "(" in style:
            yield from stylesheet.in_declarations(style, base)


def _lazy(element: Any, one: Any, several: Any) -> Iterator[Requisite]:
    get = element.get
    for name in LAZY_SOURCES:
        value = get(name)
        if value and _url_like(value):
            yield from one(value, IMAGE)
    for name in LAZY_SRCSETS:
        yield from several(get(name), IMAGE)
    for name in LAZY_BACKGROUNDS:
        value = get(name)
        if value and _url_like(value):
            yield from one(value.removeprefix("url(").removesuffix(")").strip("'\""), IMAGE)


def _url_like(value: str) -> bool:
    """Not a JSON blob or a sentence: a lazy attribute holding something else is not fetched."""
    text = value.strip()
    return bool(text) and text[0] not in "{[" and not any(c.isspace() for c in text)


def _inside(element: Any, tags: tuple[str, ...]) -> bool:
    parent = element.getparent()
    return parent is not None and isinstance(parent.tag, str) and parent.tag.lower() in tags

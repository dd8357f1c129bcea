"""The requisites of CSS: `@import`ed stylesheets, fonts and every other `url()`, read by tinycss2.

Stylesheets (bytes, with `@charset` and BOM honoured), `<style>` blocks and `style` attributes are
tokenized as browsers do; URLs come from url tokens, `url()`/`src()` functions and the strings of
`image-set()`, wherever they are nested (`@media`, `@supports`, `@layer`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import tinycss2

from stablecopy.requisites.requisite import FONT, IMAGE, STYLESHEET, Requisite, resolved

_URL_FUNCTIONS = ("url", "src")
_IMAGE_SETS = ("image-set", "-webkit-image-set")


def in_stylesheet(
    css: bytes, base: str, protocol_encoding: str | None = None
) -> Iterator[Requisite]:
    """The requisites of a stylesheet file fetched from `base`."""
    rules, _encoding = tinycss2.parse_stylesheet_bytes(
        css, protocol_encoding=protocol_encoding, skip_comments=True, skip_whitespace=True
    )
    yield from _in_rules(rules, base)


def in_style_text(css: str, base: str) -> Iterator[Requisite]:
    """The requisites of a `<style>` block of a document whose base URL is `base`."""
    yield from _in_rules(
        tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True), base
    )


def in_declarations(css: str, base: str) -> Iterator[Requisite]:
    """The requisites of a `style` attribute (declarations only)."""
    for url in _urls(tinycss2.parse_component_value_list(css, skip_comments=True)):
        found = resolved(base, url)
        if found:
            yield Requisite(found, IMAGE)


def _in_rules(rules: Iterable[Any], base: str) -> Iterator[Requisite]:
    for rule in rules:
        if rule.type == "at-rule" and rule.lower_at_keyword == "import":
            imported = next(iter(_urls(rule.prelude, strings=True)), None)
            found = resolved(base, imported) if imported else None
            if found:
                yield Requisite(found, STYLESHEET)
            continue
        kind = FONT if rule.type == "at-rule" and rule.lower_at_keyword == "font-face" else IMAGE
        for part in (getattr(rule, "prelude", None), getattr(rule, "content", None)):
            for url in _urls(part or ()):
                found = resolved(base, url)
                if found:
                    yield Requisite(found, kind)


def _urls(tokens: Iterable[Any], strings: bool = False) -> Iterator[str]:
    """URLs in `tokens`, depth first; `strings`: bare strings are URLs too (`@import "a.css"`)."""
    for token in tokens:
        kind = token.type
        if kind == "url" or (kind == "string" and strings):
            yield token.value
        elif kind == "function":
            name = token.lower_name
            if name in _URL_FUNCTIONS:
                text = next((t.value for t in token.arguments if t.type == "string"), None)
                if text is not None:
                    yield text
                continue
            yield from _urls(token.arguments, strings=name in _IMAGE_SETS)
        elif kind in ("() block", "[] block", "{} block"):
            yield from _urls(token.content)

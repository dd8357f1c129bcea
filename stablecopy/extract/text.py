"""Clean text of a page with trafilatura, after removing consent banners. The only trafilatura import.

`extract_text` never returns a bare None: every outcome, including "no text" and "not markup", is an
ExtractResult with a status. It is a plain function of picklable arguments, so it runs in worker
processes.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit

import trafilatura
from lxml import etree
from lxml.html import HtmlElement

from stablecopy.extract.consent import load_rules, remove_banners, unmask_article_parts
from stablecopy.extract.options import ExtractOptions, failed, stamped
from stablecopy.extract.result import ExtractResult, ExtractStatus

logger = logging.getLogger(__name__)

_LANGUAGE_XPATH = etree.XPath(
    "string((//html/@lang | //html/@xml:lang"
    " | //meta[translate(@http-equiv, 'CONTENT-LANGUAGE', 'content-language')"
    "='content-language']/@content | //meta[@property='og:locale']/@content)[1])"
)
# Share of control characters (other than whitespace) and U+FFFD above which a body is not markup.
_BINARY_SHARE = 0.05
_ODD_CHARACTER = re.compile("[\x00-\x08\x0b\x0e-\x1f\ufffd]")
# In fast mode, a text shorter than this (characters) is extracted again with the fallbacks.
_FALLBACK_BELOW = 500


def _looks_binary(html: str) -> bool:
    sample = html[:8192]
    if not sample:
        return False
    return "\x00" in sample or len(_ODD_CHARACTER.findall(sample)) / len(sample) > _BINARY_SHARE


def _declared_language(tree: HtmlElement) -> str | None:
    value = str(_LANGUAGE_XPATH(tree)).strip().replace("_", "-")
    return value or None


def _extract(tree: HtmlElement, url: str, options: ExtractOptions, fast: bool) -> Any:
    return trafilatura.bare_extraction(
        tree,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=options.include_tables,
        favor_precision=options.favor_precision,
        deduplicate=False,
        fast=fast,
    )


def _text(document: Any) -> str:
    return (getattr(document, "text", None) or "").strip() if document is not None else ""


def extract_text(html: str, url: str, options: ExtractOptions) -> ExtractResult:
    """Extract the main text and metadata of one HTML page.

    Args:
        html: the page, decoded to text.
        url: its URL (used by trafilatura for metadata, and for site-specific consent rules).
        options: what to keep.

    Returns:
        An ExtractResult whose status says whether text was found.
    """
    if _looks_binary(html):
        return stamped(ExtractStatus.NOT_HTML, options)
    rules = load_rules(options.consent_selector_files, options.consent_phrase_files)
    try:
        host = (urlsplit(url).hostname or "").lower()
        tree = trafilatura.load_html(html)
        if tree is None:
            return stamped(ExtractStatus.EMPTY, options)
        language = _declared_language(tree)
        removed = remove_banners(tree, rules, host)
        unmask_article_parts(tree)
        document = _extract(tree, url, options, fast=options.fast)
        if options.fast and len(_text(document)) < _FALLBACK_BELOW:
            # Little or no text from the main algorithm alone: trafilatura's fallback extractors
            # (readability, jusText) have a go on a fresh tree, as they do by default.
            tree = trafilatura.load_html(html)
            removed = remove_banners(tree, rules, host)
            unmask_article_parts(tree)
            document = _extract(tree, url, options, fast=False)
    except Exception as exc:  # noqa: BLE001 (any extractor failure is a recorded outcome)
        logger.warning("extraction failed for %s: %s", url, exc)
        return failed(repr(exc), options)
    text = _text(document)
    return stamped(
        ExtractStatus.OK if text else ExtractStatus.EMPTY,
        options,
        text=text,
        title=getattr(document, "title", None) or None,
        author=getattr(document, "author", None) or None,
        published=getattr(document, "date", None) or None,
        language=language,
        site_name=getattr(document, "sitename", None) or None,
        description=getattr(document, "description", None) or None,
        removed_consent_elements=len(removed),
        consent_removals=tuple(removal.describe() for removal in removed),
    )

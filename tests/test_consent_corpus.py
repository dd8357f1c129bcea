"""The consent corpus (tests/consentcorpus.py), page by page: every banner leaves the clean text,
and every article, the traps' included, stays whole (recall of its words 0.99 or more). The one
exception is a page where our consent layer removed nothing and our text is plain trafilatura's,
word for word: what trafilatura alone leaves out of the story (a list, in the layout whose
teasers are the `<article>`s) is not a banner removal; such pages are counted, and must stay few."""

from __future__ import annotations

import pytest
import trafilatura

from stablecopy.extract.options import ExtractOptions
from stablecopy.extract.text import extract_text
from tests.consentcorpus import CorpusPage, banner_left, pages, recall

PAGES = {f"{page.group}/{page.name}": page for page in pages()}
OPTIONS = ExtractOptions()


def test_the_corpus_has_what_the_issue_asks_for() -> None:
    groups: dict[str, list[CorpusPage]] = {}
    for page in PAGES.values():
        groups.setdefault(page.group, []).append(page)
    managers = {page.name.rsplit("-", 1)[0] for page in groups["unseen-manager"]}
    languages = {page.name.split("-", 1)[0] for page in groups["unseen-language"]}
    traps = {page.name.rsplit("-", 1)[0] for page in groups["trap"]}
    assert len(managers) >= 10
    assert len(languages) >= 10
    assert len(traps) >= 10
    assert len(groups["in-article"]) >= 10


TRAFILATURA_ALONE: set[str] = set()  # pages whose loss is plain trafilatura's own


@pytest.mark.parametrize("key", sorted(PAGES))
def test_banner_goes_and_article_stays(key: str) -> None:
    page = PAGES[key]
    result = extract_text(page.html, f"https://corpus.example/{page.name}", OPTIONS)
    assert not banner_left(page, result.text), result.text
    if recall(page, result.text) >= 0.99:
        return
    plain = trafilatura.extract(page.html, include_comments=False) or ""
    assert not result.consent_removals, result.consent_removals
    assert result.text.strip() == plain.strip(), (result.text, plain)
    TRAFILATURA_ALONE.add(key)
    assert len(TRAFILATURA_ALONE) <= 2, sorted(TRAFILATURA_ALONE)


def test_every_removal_is_recorded_with_its_rule_and_score() -> None:
    from stablecopy.archive.warcinfo import extraction_fields

    page = PAGES["unseen-language/sl-inside"]  # no rule names it: found by structure
    result = extract_text(page.html, "https://corpus.example/a", OPTIONS)
    assert result.removed_consent_elements == len(result.consent_removals) == 1
    (removal,) = result.consent_removals
    assert removal.startswith("div.site-strip rule=structure:consent-control+compact+placed")
    assert " score=" in removal
    assert " chars=" in removal
    fields = extraction_fields(result, None, None)
    assert ("removed-consent-element", removal) in fields
    assert ("removed-consent-elements", "1") in fields


def test_outside_the_article_counts_only_outside_it() -> None:
    from lxml import html as lxml_html

    from stablecopy.extract.consent import scored_candidates

    banner = (
        '<div class="bnr"><p>يستخدم هذا الموقع ملفات تعريف الارتباط لتحسين تجربتك.</p>'
        '<button>موافق</button><a href="/privacy">سياسة الخصوصية</a></div>'
    )
    story = "<p>" + "The pier opens in spring after two years of work. " * 4 + "</p>"
    for place, outside in (("after", True), ("inside", False)):
        body = f"<main><article>{story}{banner if place == 'inside' else ''}</article></main>"
        page = f"<html><body>{body}{banner if place == 'after' else ''}</body></html>"
        ((_, _, evidence),) = [c for c in scored_candidates(lxml_html.fromstring(page)) if c[1]]
        assert ("outside-article" in evidence) is outside, (place, evidence)

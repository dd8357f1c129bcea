"""Banners the rule files do not name: consent managers absent from consent-selectors.txt and
hand-made banners in languages absent from consent-phrases.txt, found by their structure (a
dialog or fixed bar with its own controls, about cookies, consent or tracking in the lexicon's
languages). Each goes; every paragraph of the article around it stays."""

from __future__ import annotations

from importlib.resources import files

import pytest
from lxml import html as lxml_html

from stablecopy.extract.consent import load_rules, remove_banners
from stablecopy.extract.options import ExtractOptions
from stablecopy.extract.text import extract_text
from stablecopy.samplesite import pages
from tests.consentcorpus import PLACEMENTS, UNSEEN_LANGUAGES, UNSEEN_MANAGERS

PHRASES_TEXT = (
    files("stablecopy.extract").joinpath("rules").joinpath("consent-phrases.txt").read_text()
)

OPTIONS = ExtractOptions()


def _language_banner(code: str) -> str:
    text, button = UNSEEN_LANGUAGES[code]
    placement = PLACEMENTS[sorted(UNSEEN_LANGUAGES).index(code) % len(PLACEMENTS)]
    return f'<div {placement}><p>{text}</p><button type="button">{button}</button></div>'


def _removed_and_article_kept(banner: str, first_words: str, position: str) -> None:
    article = pages.seed_article()
    page = pages.render_article(article, banner, position)
    root = lxml_html.fromstring(page)
    assert len(remove_banners(root, load_rules())) >= 1
    left = " ".join(root.text_content().split())
    assert first_words not in left
    for paragraph in article.paragraphs:
        assert " ".join(paragraph.split()) in left
    result = extract_text(page, "https://unseen.example/a", OPTIONS)
    assert first_words not in (result.text or "")
    for paragraph in article.paragraphs:
        assert " ".join(paragraph.split()) in " ".join((result.text or "").split())


@pytest.mark.parametrize("name", sorted(UNSEEN_MANAGERS))
@pytest.mark.parametrize("position", ["before", "after", "inside"])
def test_consent_managers_no_rule_names_are_removed(name: str, position: str) -> None:
    banner = UNSEEN_MANAGERS[name].replace("{P}", "partners")
    first = " ".join(lxml_html.fromstring(banner).text_content().split())[:25]
    _removed_and_article_kept(banner, first, position)


def test_no_selector_rule_matches_them() -> None:
    rules = load_rules()
    for banner in UNSEEN_MANAGERS.values():
        root = lxml_html.fromstring(f"<html><body>{banner}</body></html>")
        element = root.body[0]
        element_id, classes = element.get("id") or "", (element.get("class") or "").split()
        assert element_id not in rules.ids, element_id
        assert rules.classes.isdisjoint(classes), classes
        assert not (rules.id_parts and element_id and rules.id_parts.search(element_id))
        assert not (rules.class_parts and rules.class_parts.search(" ".join(classes)))
        assert rules.xpath is None or not rules.xpath(root), banner[:40]


@pytest.mark.parametrize("code", sorted(UNSEEN_LANGUAGES))
@pytest.mark.parametrize("position", ["before", "after", "inside"])
def test_hand_made_banners_in_languages_the_phrases_lack_are_removed(
    code: str, position: str
) -> None:
    _removed_and_article_kept(_language_banner(code), UNSEEN_LANGUAGES[code][0][:25], position)


def test_those_languages_are_not_in_the_phrases() -> None:
    for text, _ in UNSEEN_LANGUAGES.values():
        opening = " ".join(text.split()[:2]).lower()
        assert opening not in PHRASES_TEXT.lower(), opening


def test_a_newsletter_box_or_a_modal_about_something_else_stays() -> None:
    """Structure alone is not enough: a dialog with buttons that is not about cookies, consent
    or tracking is left to trafilatura."""
    root = lxml_html.fromstring(
        "<html><body><article><p>The story.</p></article>"
        '<div role="dialog" class="newsletter-popup"><p>Get our morning briefing in your inbox.'
        "</p><button>Subscribe</button><button>No thanks</button></div></body></html>"
    )
    assert len(remove_banners(root, load_rules())) == 0

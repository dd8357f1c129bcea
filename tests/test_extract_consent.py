"""Consent rules as data: the rule syntax, and the guard rails that protect article text."""

from __future__ import annotations

from pathlib import Path

import pytest
from cssselect import HTMLTranslator
from lxml import html as lxml_html

from stablecopy.extract.consent import load_rules, remove_banners


def tree(markup: str) -> lxml_html.HtmlElement:
    return lxml_html.document_fromstring(markup)


def text_of(root: lxml_html.HtmlElement) -> str:
    return " ".join(" ".join(root.itertext()).split())


def test_easylist_syntax_is_read_and_unsupported_rules_are_skipped(tmp_path: Path) -> None:
    rules_file = tmp_path / "rules.txt"
    rules_file.write_text(
        "[Adblock Plus 2.0]\n"
        "! comment\n"
        "##.generic-banner\n"
        "news.example##.site-banner\n"
        "~news.example##.excluded\n"
        "##.banner:has-text(cookies)\n"
        "example.org#@#.generic-banner\n"
        "##+js(set-cookie, x)\n"
        "##[[[not a selector\n",
        "utf-8",
    )
    rules = load_rules((str(rules_file),))
    assert "generic-banner" in rules.classes
    assert rules.site_selectors.keys() == {"news.example"}
    root = tree(
        '<html><body><div class="generic-banner">A</div><div class="site-banner">B</div>'
        "<p>Kept</p></body></html>"
    )
    assert len(remove_banners(root, rules, "www.news.example")) == 2
    assert text_of(root) == "Kept"


def test_text_after_a_removed_banner_is_kept() -> None:
    root = tree(
        '<html><body><p>Before <span id="cookie-notice">We use cookies.</span> after.</p>'
        "</body></html>"
    )
    remove_banners(root, load_rules())
    assert text_of(root) == "Before after."


def test_page_body_main_and_article_are_never_removed() -> None:
    root = tree(
        '<html class="cookie-banner-open"><body class="cookie-consent-shown">'
        '<main class="cookie-notice-visible"><article><p>The story.</p></article></main>'
        '<div class="cookie-consent-wrapper"><article><p>Another story.</p></article></div>'
        "</body></html>"
    )
    assert len(remove_banners(root, load_rules())) == 0
    assert text_of(root) == "The story. Another story."


def test_loose_selectors_never_take_most_of_the_page() -> None:
    story = "A long story about consent law. " * 200
    root = tree(
        f'<html><body><div class="cookie-consent-article"><p>{story}</p></div></body></html>'
    )
    assert len(remove_banners(root, load_rules())) == 0


def test_banner_phrases_remove_the_banner_and_its_buttons_only() -> None:
    root = tree(
        "<html><body><div class='content'><p>First paragraph of the news.</p>"
        "<div class='x1'><p>Wir verwenden Cookies, um Ihnen das beste Erlebnis zu bieten.</p>"
        "<button>Alle akzeptieren</button></div>"
        "<p>Second paragraph of the news.</p></div></body></html>"
    )
    assert len(remove_banners(root, load_rules())) == 1
    assert text_of(root) == "First paragraph of the news. Second paragraph of the news."


def test_articles_that_quote_a_banner_keep_the_quote() -> None:
    sentence = (
        "Regulators said the notice, which begins 'we use cookies', misled readers about "
        "tracking and consent."
    )
    root = tree(f"<html><body><article><p>{sentence}</p></article></body></html>")
    assert len(remove_banners(root, load_rules())) == 0
    assert text_of(root) == sentence


def test_phrase_without_a_banner_word_is_left_alone() -> None:
    root = tree(
        "<html><body><p>By using satellite images, researchers found the camp.</p></body></html>"
    )
    assert len(remove_banners(root, load_rules())) == 0


SELECTORS = (
    '[aria-label*="cookie"]', '[aria-label*="Consent"]', 'div[class^="cmp-"]', '[data-hook="cb"]',
    'div[class~="gdpr"]', '[data-x$="-end"]', '[lang|="en"]', '[id^="Consent" i]',
    '[data-a="1"][data-b="2"]', "section:first-child", 'div:not([role="main"])', '[title="a.b"]',
)  # fmt: skip
PROBE = """<html><body>
<div aria-label="cookie settings">a</div><div aria-label="Our Consent tool">b</div>
<div class="cmp-root x">c</div><span class="cmp-root">d</span><p data-hook="cb">e</p>
<div class="x gdpr y">f</div><div class="gdpr-like">g</div><i data-x="a-end">h</i>
<i lang="en-GB">i</i><i lang="eng">j</i><i id="CONSENT-box">k</i><i data-a="1" data-b="2">l</i>
<i data-a="1">m</i><section>n</section><div role="main">o</div><i title="a.b">p</i>
</body></html>"""


def test_merged_selectors_match_what_each_matches_alone(tmp_path: Path) -> None:
    """The rules' one XPath (selectors about one attribute share its lookup) finds exactly the
    elements the selectors find one by one."""
    rules_file = tmp_path / "rules.txt"
    rules_file.write_text("".join(f"##{selector}\n" for selector in SELECTORS), "utf-8")
    merged = load_rules((str(rules_file),)).xpath
    assert merged is not None
    root = tree(PROBE)
    paths = root.getroottree().getpath
    translator = HTMLTranslator()
    expected = {
        paths(element)
        for selector in SELECTORS
        for element in root.xpath(translator.css_to_xpath(selector, prefix="descendant-or-self::"))
    }
    bundled = load_rules().xpath  # the bundled selectors come along with the extra file
    also = {paths(element) for element in (bundled(root) if bundled is not None else [])}
    assert len(expected) > 10
    assert {paths(element) for element in merged(root)} == expected | also


# Articles whose own text looks like a banner: it opens like one, it is about cookies and consent,
# it sits in a section whose name a loose rule matches. Removing a banner never removes any of it.
RUNNING = (
    "The court heard from three regulators and a dozen readers over two days of hearings, "
    "and the judgment runs to more than two hundred pages with annexes."
)
TRAPS = {
    "en": "By using cookies to follow readers across sites, the publisher broke the law, the "
    "court said on Tuesday, in a ruling on consent that could reach hundreds of news sites.",
    "fr": "En cliquant sur « accepter », des millions d'internautes ont consenti aux cookies "
    "sans le savoir, selon le rapport de la CNIL publié mardi sur le consentement en ligne.",
    "de": "Mit dem Klick auf „Akzeptieren“ stimmen Nutzer der Verarbeitung durch Cookies zu, "
    "kritisierte der Verbraucherschutz in seinem Bericht über die Einwilligung im Netz.",
    "statement": "Our website uses cookies, the company's lawyer told the court, but only for "
    "what the law allows; the regulator disagreed, citing its own audit of the consent flow.",
}


@pytest.mark.parametrize("language", sorted(TRAPS))
def test_a_paragraph_that_opens_like_a_banner_stays_in_its_article(language: str) -> None:
    paragraphs = [RUNNING, TRAPS[language], RUNNING.replace("court", "panel")]
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    root = tree(f"<html><body><article>{body}</article></body></html>")
    assert len(remove_banners(root, load_rules())) == 0
    assert text_of(root) == " ".join(paragraphs)


def test_a_paragraph_that_opens_like_a_banner_stays_even_without_an_article_tag() -> None:
    body = "".join(f"<p>{p}</p>" for p in (RUNNING, TRAPS["en"], RUNNING))
    root = tree(f"<html><body><div class='content'>{body}</div></body></html>")
    assert len(remove_banners(root, load_rules())) == 0


def test_a_section_a_loose_rule_names_inside_an_article_stays() -> None:
    recipe = "Cream the butter and sugar, add the eggs one by one, then fold in the flour. " * 4
    root = tree(
        "<html><body><article><h1>Grandmother's biscuits</h1>"
        f'<section class="cookie-consent-recipe"><h2>Method</h2><p>{recipe}</p></section>'
        f"<p>{RUNNING}</p></article></body></html>"
    )
    assert len(remove_banners(root, load_rules())) == 0
    assert "Cream the butter" in text_of(root)


def test_a_post_a_loose_rule_names_is_not_taken_for_a_banner() -> None:
    post = (
        "What the new cookie-consent rules mean for small publishers, and why the banners "
        "readers click through every day rarely ask for what the law requires. "
    ) * 8
    root = tree(
        f'<html><body><div class="cookie-banner-explainer"><h1>Explainer</h1><p>{post}</p>'
        "</div><footer><p>About us</p></footer></body></html>"
    )
    assert len(remove_banners(root, load_rules())) == 0


def test_a_banner_inside_an_article_still_goes_with_its_buttons() -> None:
    banner = (
        '<div class="notice"><p>We use cookies to improve your experience and for advertising.'
        '</p><button type="button">Accept</button> <a href="/privacy">Settings</a></div>'
    )
    root = tree(
        f"<html><body><article><p>{RUNNING}</p>{banner}<p>{RUNNING}</p></article></body></html>"
    )
    assert len(remove_banners(root, load_rules())) == 1
    assert text_of(root) == f"{RUNNING} {RUNNING}"

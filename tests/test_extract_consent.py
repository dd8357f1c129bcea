"""Consent rules as data: the rule syntax, and the guard rails that protect article text."""

from __future__ import annotations

from pathlib import Path

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
    assert remove_banners(root, rules, "www.news.example") == 2
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
    assert remove_banners(root, load_rules()) == 0
    assert text_of(root) == "The story. Another story."


def test_loose_selectors_never_take_most_of_the_page() -> None:
    story = "A long story about consent law. " * 200
    root = tree(
        f'<html><body><div class="cookie-consent-article"><p>{story}</p></div></body></html>'
    )
    assert remove_banners(root, load_rules()) == 0


def test_banner_phrases_remove_the_banner_and_its_buttons_only() -> None:
    root = tree(
        "<html><body><div class='content'><p>First paragraph of the news.</p>"
        "<div class='x1'><p>Wir verwenden Cookies, um Ihnen das beste Erlebnis zu bieten.</p>"
        "<button>Alle akzeptieren</button></div>"
        "<p>Second paragraph of the news.</p></div></body></html>"
    )
    assert remove_banners(root, load_rules()) == 1
    assert text_of(root) == "First paragraph of the news. Second paragraph of the news."


def test_articles_that_quote_a_banner_keep_the_quote() -> None:
    sentence = (
        "Regulators said the notice, which begins 'we use cookies', misled readers about "
        "tracking and consent."
    )
    root = tree(f"<html><body><article><p>{sentence}</p></article></body></html>")
    assert remove_banners(root, load_rules()) == 0
    assert text_of(root) == sentence


def test_phrase_without_a_banner_word_is_left_alone() -> None:
    root = tree(
        "<html><body><p>By using satellite images, researchers found the camp.</p></body></html>"
    )
    assert remove_banners(root, load_rules()) == 0


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

"""Clean text: article kept whole, page chrome and consent banners gone, outcomes always stated."""

from __future__ import annotations

import re

import pytest

from stablecopy.extract.result import ExtractStatus
from stablecopy.extract.text import ExtractOptions, extract_text
from stablecopy.samplesite import pages

OPTIONS = ExtractOptions()
POSITIONS = ("before", "inside", "after")


def words(html: str) -> list[str]:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split()).split()


def normalised(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("article", pages.articles(), ids=lambda a: a.slug)
@pytest.mark.parametrize("banner", pages.banner_names())
@pytest.mark.parametrize("position", POSITIONS)
def test_banner_never_survives_and_the_article_always_does(
    article: pages.Article, banner: str, position: str
) -> None:
    html = pages.render_article(article, pages.banner(banner), position, pages.articles()[:2])
    result = extract_text(html, f"https://news.example{article.path}", OPTIONS)
    assert result.status is ExtractStatus.OK
    text = normalised(result.text)
    for paragraph in article.paragraphs:
        assert normalised(paragraph) in text
    banner_words = words(pages.banner(banner))
    for start in range(max(1, len(banner_words) - 4)):
        assert " ".join(banner_words[start : start + 5]) not in text
    assert result.removed_consent_elements >= 1


def test_seed_page_chrome_is_dropped_and_the_disclaimer_kept() -> None:
    article = pages.seed_article()
    html = pages.render_article(article, pages.banner("cookie-notice-en"), "after")
    result = extract_text(html, "https://news.example/a", OPTIONS)
    for chrome in pages.SEED_BOILERPLATE + pages.CHROME_STRINGS:
        assert chrome not in result.text
    assert "#Iran" not in result.text
    assert normalised(article.disclaimer) in normalised(result.text)  # the publisher may stay


def test_metadata_comes_from_the_page() -> None:
    article = pages.seed_article()
    result = extract_text(pages.render_article(article), "https://news.example/a", OPTIONS)
    assert result.title == article.title
    assert result.author == article.author
    assert result.published == "2023-03-24"
    assert result.language == "en"
    assert result.site_name == pages.SITE_NAME
    assert result.extractor == "trafilatura"
    assert result.extractor_version
    assert result.options["consent_rules"].startswith("sha256:")


def test_page_without_main_text_gets_a_status_not_silence() -> None:
    page = "<html><head><title>T</title></head><body><img src='a.jpg'><script>x=1</script></body></html>"
    result = extract_text(page, "u", OPTIONS)
    assert result.status is ExtractStatus.EMPTY
    assert result.text == ""


@pytest.mark.parametrize("body", ["", "   ", "<<<>>>"])
def test_empty_or_broken_markup_is_empty(body: str) -> None:
    assert extract_text(body, "u", OPTIONS).status is ExtractStatus.EMPTY


def test_binary_served_as_html_is_not_extracted() -> None:
    garbage = bytes(range(256)).decode("latin-1") * 20
    assert extract_text(garbage, "u", OPTIONS).status is ExtractStatus.NOT_HTML


def test_extra_rule_files_extend_the_bundled_rules(tmp_path: pytest.TempPathFactory) -> None:
    article = pages.translated_article()
    house_banner = (
        '<div class="paywall-and-privacy-wall"><p>Our partners and we process your data for '
        "advertising on this site. Agree and continue reading for free.</p></div>"
    )
    html = pages.render_article(article, house_banner, "inside")
    default = extract_text(html, "https://paper.example/a", OPTIONS)
    assert "Agree and continue reading" in default.text
    rules = tmp_path / "house.txt"  # type: ignore[operator]
    rules.write_text("! our own\npaper.example##.paywall-and-privacy-wall\n", "utf-8")
    tuned = ExtractOptions(consent_selector_files=(str(rules),))
    assert (
        "Agree and continue reading"
        not in extract_text(html, "https://paper.example/a", tuned).text
    )
    # A site-specific rule stays on its site.
    assert "Agree and continue reading" in extract_text(html, "https://other.example/a", tuned).text

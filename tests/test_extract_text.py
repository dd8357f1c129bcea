"""Clean text: article kept whole, page chrome and consent banners gone, outcomes always stated."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from stablecopy.extract.options import ExtractOptions
from stablecopy.extract.result import ExtractStatus
from stablecopy.extract.text import extract_text
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


HAND_MADE = {
    "it": "Utilizziamo i cookie per garantire la migliore esperienza sul nostro sito web.",
    "nl": "Deze website maakt gebruik van cookies om uw ervaring te verbeteren.",
    "pt": "Este site utiliza cookies para melhorar a sua experiência de navegação.",
    "pl": "Ta strona używa plików cookie w celu świadczenia usług na najwyższym poziomie.",
    "sv": "Vi använder cookies för att ge dig den bästa upplevelsen av vår webbplats.",
    "da": "Denne hjemmeside bruger cookies til statistik og tilpasning af indhold.",
    "fi": "Käytämme evästeitä parantaaksemme sivuston käyttökokemusta.",
    "cs": "Tento web používá soubory cookies k poskytování služeb a analýze návštěvnosti.",
    "ru": "Мы используем файлы cookie, чтобы сделать сайт удобнее для вас.",
    "tr": "Bu web sitesi çerezler kullanmaktadır; siteyi kullanarak çerezleri kabul edersiniz.",
    "ja": "当サイトではサービス向上のためにクッキー（Cookie）を使用しています。",
    "en-statement": "Our website uses cookies to improve its performance and your experience.",
    "de-statement": "Unsere Webseite nutzt Cookies, damit wir Ihnen das beste Angebot machen.",
    "fr-statement": "Notre site utilise des cookies pour mesurer l'audience et vous proposer des offres.",
}


@pytest.mark.parametrize("language", sorted(HAND_MADE))
def test_hand_made_banners_in_many_languages_are_removed(language: str) -> None:
    banner = (
        f'<div class="notice-{language}"><p>{HAND_MADE[language]}</p>'
        '<a href="/privacy">Info</a> <button type="button">OK</button></div>'
    )
    article = pages.translated_article()
    result = extract_text(
        pages.render_article(article, banner, "inside"), "https://x.example/a", OPTIONS
    )
    assert HAND_MADE[language][:30] not in result.text
    for paragraph in article.paragraphs:
        assert normalised(paragraph) in normalised(result.text)


@pytest.mark.parametrize(
    "banner",
    [
        # Placed inside the article, so each has its controls, as real ones do (a container
        # without any, inside an article, is never removed: it may be the article's own text).
        (
            '<div id="footer_tc_privacy"><div id="footer_tc_privacy_text">Avec votre accord, nos '
            "partenaires et nous utilisons des cookies pour stocker des informations.</div>"
            "<button>Accepter</button></div>"
        ),
        (
            '<div id="fides-overlay"><div id="fides-banner">Your data choices: this site shares '
            'personal information with partners for advertising.</div><a href="#">OK</a></div>'
        ),
        (
            '<div class="sqs-cookie-banner-v2"><p>Diese Website sammelt Statistiken zur Nutzung.'
            "</p><button>OK</button></div>"
        ),
        (
            '<section aria-label="Cookie consent"><p>Partners and we process data for ads.</p>'
            '<input type="button" value="Accept"></section>'
        ),
    ],
    ids=["commanders-act", "fides", "squarespace", "aria-label"],
)
def test_more_consent_managers_are_removed_by_their_containers(banner: str) -> None:
    article = pages.seed_article()
    result = extract_text(
        pages.render_article(article, banner, "inside"), "https://x.example/a", OPTIONS
    )
    assert result.removed_consent_elements == 1
    inner = words(banner)
    assert " ".join(inner[:5]) not in normalised(result.text)


@pytest.mark.parametrize(
    "text",
    ["저희는 더 나은 서비스를 위해 쿠키를 사용합니다.", "我们使用cookie来改善您的浏览体验。"],
    ids=["ko", "zh"],
)
def test_banners_in_scripts_without_spaces_are_removed(text: str) -> None:
    banner = f'<div class="n"><p>{text}</p><button>OK</button></div>'
    html = pages.render_article(pages.seed_article(), banner, "before")
    assert text not in extract_text(html, "https://x.example/a", OPTIONS).text


def test_the_mode_used_is_recorded_with_the_text() -> None:
    article = pages.articles()[0]
    html = pages.render_article(article, pages.banner("cookie-notice-en"))
    fast = extract_text(html, "http://news.test/a", OPTIONS)
    full = extract_text(html, "http://news.test/a", ExtractOptions(fast=False))
    assert fast.options["fast"] is True
    assert full.options["fast"] is False
    for paragraph in article.paragraphs:
        assert normalised(paragraph) in normalised(fast.text or "")
        assert normalised(paragraph) in normalised(full.text or "")


def test_results_name_the_trafilatura_that_made_them() -> None:
    import trafilatura

    result = extract_text("<html><body><p>x</p></body></html>", "https://news.example/", OPTIONS)
    assert (result.extractor, result.extractor_version) == ("trafilatura", trafilatura.__version__)


def test_the_crawl_process_leaves_trafilatura_to_its_workers() -> None:
    """The pipeline hands pages to worker processes; the crawl process itself never loads it."""
    probe = (
        "import sys, stablecopy.pipelines.extraction; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'trafilatura'))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"

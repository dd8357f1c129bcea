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

PHRASES_TEXT = (
    files("stablecopy.extract").joinpath("rules").joinpath("consent-phrases.txt").read_text()
)

# Consent managers and plugins no rule names. The markup is ours, written after each one's kind of
# container (a dialog, a fixed bar, a named box); no selector rule matches any of it
# (test_no_selector_rule_matches_them checks).
UNSEEN_MANAGERS = {
    "admiral": '<div class="admiral-cmp-wrapper" role="dialog"><p>Admiral asks: we and {P} use '
    "cookies to personalise ads.</p><button>Accept</button><button>Reject</button></div>",
    "secure-privacy": '<div id="sp-privacy-box" class="secure-privacy-popup"><p>Diese Seite '
    'nutzt Cookies für Statistik.</p><button>Zustimmen</button><a href="/datenschutz">Mehr</a></div>',
    "enzuzo": '<div class="enzuzo-consent-box"><p>Sitio web con cookies de terceros para '
    'analítica.</p><button>Aceptar</button><a href="/privacidad">Política</a></div>',
    "orejime": '<div class="orejime-Notice" aria-modal="true"><p>Nous utilisons des traceurs '
    "pour mesurer l'audience.</p><button>Accepter</button><button>Refuser</button></div>",
    "clickio": '<div id="cl-consent" class="cl-dialog" role="dialog"><p>Your data rights: this '
    "site uses tracking cookies.</p><button>Accept</button><button>Settings</button></div>",
    "pandectes": '<div class="pd-cp-ui pd-cp-ui-banner"><p>Questo negozio usa cookie per '
    'migliorare il servizio.</p><button>Accetto</button><a href="/policies/privacy-policy">Info'
    "</a></div>",
    "illow": '<div id="illow-banner"><p>Deze winkel gebruikt cookies voor statistieken.</p>'
    '<button>Akkoord</button><a href="/privacy">Meer</a></div>',
    "consentmo": '<div class="isense-cc-window" style="position: fixed; bottom: 0"><p>Avec '
    "votre consentement, nos partenaires mesurent l'audience.</p><button>Accepter</button></div>",
    "faktor": '<div id="faktor-box" class="fktr-bottom" style="position: fixed; bottom: '
    '0"><p>Vos choix de consentement pour ce site.</p><button>Tout accepter</button>'
    "<button>Paramétrer</button></div>",
    "termsfeed": '<div class="termsfeed-com---nb termsfeed-com---nb-simple" role="dialog"><p>We use '
    'tracking to understand how the site is used.</p><button>Agree</button><a href="/privacy-'
    'policy">Privacy</a></div>',
    "elfsight": '<div class="eapps-privacy-popup" role="alertdialog"><p>Käytämme '
    "evästeitä sivuston kehittämiseen.</p><button>Hyväksy</button><button>Hylkää</button></div>",
}
# Hand-made banners in languages the phrase file has no phrases for, each placed a different way.
UNSEEN_LANGUAGES = {
    "sl": ("Ta spletna stran uporablja piškotke za boljšo uporabniško izkušnjo.", "Sprejmi"),
    "hr": ("Ova stranica koristi kolačiće kako bi poboljšala vaše iskustvo.", "Prihvati"),
    "sk": ("Táto webová stránka používa súbory cookie na zlepšenie služieb.", "Súhlasím"),
    "bg": ("Този сайт използва бисквитки, за да подобри вашето изживяване.", "Приемам"),
    "lt": ("Ši svetainė naudoja slapukus, kad pagerintų jūsų naršymo patirtį.", "Sutinku"),
    "lv": ("Šī vietne izmanto sīkdatnes, lai uzlabotu lietošanas pieredzi.", "Piekrītu"),
    "et": ("See veebileht kasutab küpsiseid, et parandada teie kasutuskogemust.", "Nõustun"),
    "ca": ("Aquest lloc web utilitza galetes per millorar la vostra experiència.", "Accepto"),
    "he": ("אתר זה משתמש בעוגיות כדי לשפר את חוויית הגלישה שלך.", "אישור"),
    "id": ("Situs web ini menggunakan cookie untuk meningkatkan pengalaman Anda.", "Setuju"),
}
PLACEMENTS = (
    'style="position:fixed;bottom:0;left:0;right:0"',
    'role="dialog" aria-label="x"',
    'aria-modal="true"',
    'class="site-strip" style="position: sticky; top: 0"',
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
    assert remove_banners(root, load_rules()) >= 1
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
    assert remove_banners(root, load_rules()) == 0

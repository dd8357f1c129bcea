"""The consent corpus: pages no rule file was written for, each with the banner text that must go
and the article text that must stay, in five groups.

- `unseen-manager`: consent managers and plugins absent from consent-selectors.txt (markup ours,
  after each one's kind of container; test_consent_unseen checks no selector rule matches it);
- `unseen-language`: hand-made banners in languages absent from consent-phrases.txt;
- `bare-bar`: a banner with no name, no role and no placement (its CSS elsewhere), one button,
  before or after the page's text, in a language the phrase file lacks;
- `in-article`: hand-made banners of many shapes placed inside the article (no names, no roles,
  fixed by the page's own CSS, a form, links instead of buttons, a close button only);
- `trap`: articles about cookies, consent, tracking and privacy, some laid out like banners
  (a sticky key-points box, a recipe card with buttons, an article shown in a dialog, a quoted
  banner, a how-to naming the buttons), whose text must survive whole.

Each page is rendered in one of several layouts (semantic HTML5, div soup without article or main,
a WordPress-like theme; traps also in a page whose teasers are `<article>`s but whose story is
not), so no rule can lean on one template. The article texts are ours.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

GROUPS = ("unseen-manager", "unseen-language", "bare-bar", "in-article", "trap")


@dataclass(frozen=True)
class CorpusPage:
    group: str
    name: str
    html: str
    banner: str  # a sentence of the banner that must not be in the clean text ("" for traps)
    article: tuple[str, ...]  # every paragraph of the article: each must be in the clean text


@dataclass(frozen=True)
class Story:
    title: str
    paragraphs: tuple[str, ...]
    lang: str = "en"


NEUTRAL = (
    Story(
        "Council approves a smaller budget for the coming year",
        (
            (
                "The city council voted on Tuesday evening to approve a budget that is four percent "
                "smaller than last year's, after a debate that lasted well past midnight."
            ),
            (
                "Most of the savings come from delaying the renovation of two libraries and from "
                "merging the parks and the roads departments into a single office."
            ),
            (
                "Opposition members argued that the delays would cost more in the long run, pointing "
                "to leaking roofs and heating systems that are nearly forty years old."
            ),
            (
                "The mayor said the decision was painful but necessary, and promised that the library "
                "works would be the first to resume once tax receipts recover."
            ),
            (
                "Residents will be able to comment on the spending plan at three public meetings "
                "next month, before the final vote scheduled for the end of the quarter."
            ),
        ),
    ),
    Story(
        "River levels fall as the flood warning is lifted downstream",
        (
            (
                "Water levels on the lower river fell steadily overnight, and the regional agency "
                "lifted its flood warning for the towns downstream on Thursday morning."
            ),
            (
                "Volunteers spent the day clearing mud from the market square, where the water had "
                "reached the first step of the town hall for the first time in twelve years."
            ),
            (
                "Farmers along the valley said the damage to winter crops was limited, although "
                "several fields near the bridge will stay under water for another week."
            ),
            (
                "Engineers will inspect the embankments once the ground has dried, and the agency has "
                "asked people to keep away from the riverbanks until the inspection is complete."
            ),
        ),
    ),
    Story(
        "The maritime museum reopens after three years of repairs",
        (
            (
                "After three years behind scaffolding, the maritime museum opened its doors again "
                "on Saturday with a restored hall and a new gallery devoted to coastal trade."
            ),
            (
                "The centrepiece is a fishing boat built in 1911, brought in through the roof by crane "
                "and now suspended above visitors' heads in the main hall."
            ),
            (
                "Curators spent months cataloguing letters and logbooks donated by local families, "
                "some of which are displayed for the first time in the new gallery."
            ),
            (
                "Entry will remain free for children and students, and the museum plans evening "
                "openings on the first Friday of every month during the summer."
            ),
            (
                "The director thanked the volunteers who kept the collection safe while the building "
                "was closed, many of whom were present at the reopening ceremony."
            ),
        ),
    ),
)

TRAPS = {
    "gdpr-fine-quoting-a-banner": (
        Story(
            "Regulator fines publisher over its cookie banner",
            (
                (
                    "The data protection authority fined a national publisher on Monday for a cookie "
                    "banner that, it said, made refusing consent far harder than accepting it."
                ),
                (
                    "We use cookies to personalise content and ads. By clicking Accept you agree to "
                    "our use of cookies. That was the whole banner, the decision notes, with a large "
                    "Accept button and no Reject button on the first screen."
                ),
                (
                    "The authority found that readers who wanted to refuse had to open the settings, "
                    "untick eleven purposes one by one and confirm their choice twice."
                ),
                (
                    "The publisher said it would appeal, arguing that its consent rate was no higher "
                    "than its competitors' and that the settings page had always been available."
                ),
            ),
        ),
        "blockquote",
    ),
    "how-to-clear-cookies": (
        Story(
            "How to clear cookies and site data in your browser",
            (
                (
                    "Cookies are small files that websites store in your browser to remember your "
                    "login, your language and, often, what you looked at and for how long."
                ),
                (
                    "Open the browser settings, choose Privacy and security, then select Clear "
                    "browsing data and tick the box for cookies and other site data."
                ),
                (
                    "If a site keeps asking for your consent after you clear cookies, that is "
                    "expected: the banner stores your choice in a cookie of its own."
                ),
                (
                    "To block third-party cookies for good, open the same settings page and turn on "
                    "the option that blocks third-party cookies in every window."
                ),
            ),
        ),
        "steps",
    ),
    "cookie-recipe-card": (
        Story(
            "Brown butter chocolate chip cookies",
            (
                (
                    "These cookies take a little longer than the classic recipe because the butter is "
                    "browned first, but the nutty flavour is worth every minute."
                ),
                (
                    "Melt the butter over medium heat and keep stirring until it smells toasted and "
                    "small brown flecks appear at the bottom of the pan."
                ),
                (
                    "Let the dough rest in the fridge for at least an hour; cold dough spreads less and "
                    "gives thicker cookies with crisp edges and soft centres."
                ),
                (
                    "Bake the cookies for eleven minutes, until the edges are golden, and leave them on "
                    "the tray for five minutes before moving them to a rack."
                ),
            ),
        ),
        "recipe-card",
    ),
    "sticky-key-points": (
        Story(
            "What the new consent rules mean for websites",
            (
                (
                    "The new guidance says that consent to tracking cookies must be as easy to "
                    "withdraw as it was to give, and that refusing must never cost more clicks."
                ),
                (
                    "Websites will have to show a reject button on the first layer of their cookie "
                    "banners, next to the accept button and just as visible."
                ),
                (
                    "Analytics cookies that only count visits may be exempt from consent if the data "
                    "stays with the site and is never shared with advertisers."
                ),
                (
                    "Regulators expect most large sites to comply within six months, after which "
                    "they say they will start checking banners automatically."
                ),
            ),
        ),
        "sticky-box",
    ),
    "article-in-a-dialog": (
        Story(
            "Court backs users in tracking consent case",
            (
                (
                    "A court ruled on Wednesday that consent to tracking cookies given through a "
                    "pre-ticked box is not valid consent under the law."
                ),
                (
                    "The judges said users must take a clear action to agree, and that silence or "
                    "inactivity cannot be read as acceptance of cookies."
                ),
                (
                    "Consumer groups welcomed the ruling and said they would ask regulators to check "
                    "the banners of the hundred most visited sites in the country."
                ),
            ),
        ),
        "dialog",
    ),
    "privacy-policy-news": (
        Story(
            "Messaging app rewrites its privacy policy after criticism",
            (
                (
                    "The messaging company published a new privacy policy on Friday, three weeks after "
                    "users complained that the previous one allowed data sharing with advertisers."
                ),
                (
                    "The new policy says message contents are never shared, and that cookies on the "
                    "company's website are used only to keep people logged in."
                ),
                (
                    "Privacy researchers said the changes were a step forward but noted that the "
                    "policy still allows the company to share contact lists with partners."
                ),
                (
                    "The company said users would be asked for their consent again when they next "
                    "open the app, with a clear option to refuse."
                ),
            ),
        ),
        "notice",
    ),
    "tracker-investigation": (
        Story(
            "Investigation finds dozens of trackers on health websites",
            (
                (
                    "An investigation of two hundred health websites found an average of thirty-one "
                    "trackers on each, many of them loaded before the visitor gave any consent."
                ),
                (
                    "Several sites sent the names of the pages visitors read, including pages about "
                    "specific illnesses, to advertising companies through tracking cookies."
                ),
                (
                    "Researchers used a modified browser that recorded every request a page made, and "
                    "compared the requests made before and after the cookie banner was accepted."
                ),
                (
                    "Most sites kept loading the same trackers even after visitors clicked reject, "
                    "the researchers found, which they say breaks the consent rules."
                ),
            ),
        ),
        "widget",
    ),
    "french-cookie-law": (
        Story(
            "La CNIL sanctionne trois sites pour leurs bandeaux cookies",
            (
                (
                    "En cliquant sur accepter, l'internaute donne son consentement, mais refuser doit "
                    "être aussi simple, rappelle la CNIL dans sa décision publiée jeudi."
                ),
                (
                    "Les trois sites sanctionnés n'offraient pas de bouton pour refuser les cookies "
                    "sur le premier écran, selon le communiqué de l'autorité."
                ),
                (
                    "Nous utilisons des cookies, affichaient les bandeaux, sans préciser que le refus "
                    "était possible, ce que la CNIL juge contraire à la loi."
                ),
                (
                    "Les éditeurs disposent de trois mois pour modifier leurs bandeaux, faute de quoi "
                    "une astreinte journalière sera appliquée."
                ),
            ),
            "fr",
        ),
        "blockquote",
    ),
    "german-consent-ruling": (
        Story(
            "Gericht: Cookie-Banner brauchen einen Ablehnen-Knopf",
            (
                (
                    "Mit dem Klick auf Akzeptieren willigen Nutzer in das Setzen von Cookies ein, "
                    "doch die Ablehnung muss ebenso einfach sein, entschied das Landgericht."
                ),
                (
                    "Die Einwilligung sei nur wirksam, wenn Nutzer eine echte Wahl hätten, heißt es "
                    "in der Begründung des Urteils vom Dienstag."
                ),
                (
                    "Wir verwenden Cookies, stand auf dem beanstandeten Banner, darunter nur ein "
                    "Knopf zum Zustimmen und ein kleiner Link zu den Einstellungen."
                ),
                (
                    "Der Betreiber kündigte an, das Banner bis Ende des Monats zu ändern und einen "
                    "Knopf zum Ablehnen auf der ersten Ebene anzuzeigen."
                ),
            ),
            "de",
        ),
        "steps",
    ),
    "spanish-privacy-column": (
        Story(
            "Por qué deberías rechazar las cookies de terceros",
            (
                (
                    "Al continuar navegando aceptas las cookies, decían muchos avisos hace unos años, "
                    "pero hoy la ley exige un consentimiento claro y expreso."
                ),
                (
                    "Las cookies de terceros permiten a las empresas de publicidad seguir tu rastro "
                    "de una web a otra y construir un perfil de tus intereses."
                ),
                (
                    "Rechazarlas no rompe casi ninguna web: el carrito de la compra y el inicio de "
                    "sesión usan cookies propias, que no necesitan tu consentimiento."
                ),
                (
                    "Si una web no ofrece un botón para rechazar, puedes bloquear las cookies de "
                    "terceros en la configuración del navegador."
                ),
            ),
            "es",
        ),
        "recipe-card",
    ),
    "short-brief-on-tracking": (
        Story(
            "Browser to block tracking cookies by default",
            (
                (
                    "The browser maker said on Tuesday that its next version will block third-party "
                    "tracking cookies by default for every user, not only in private windows."
                ),
                (
                    "Advertisers will have to ask for consent through the site itself, the company "
                    "said, and sites that rely on cross-site tracking may see fewer ad sales."
                ),
            ),
        ),
        "dialog",
    ),
    "consent-faq": (
        Story(
            "Your questions about cookie consent, answered",
            (
                (
                    "Do I have to accept cookies to read a website? No: a site may not make access "
                    "depend on accepting tracking cookies, though it may offer a paid alternative."
                ),
                (
                    "Can I change my mind? Yes, and withdrawing consent must be as easy as giving it, "
                    "usually through a settings link at the bottom of every page."
                ),
                (
                    "What happens if I click reject? The site may still use cookies that are strictly "
                    "necessary, such as the one that remembers your refusal."
                ),
                (
                    "Who checks the banners? National data protection authorities, which can fine "
                    "sites that make refusing harder than accepting."
                ),
            ),
        ),
        "faq",
    ),
}

# Consent managers and plugins no rule names (`{P}`: a word to vary the text).
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
# Hand-made banners in languages the phrase file has no phrases for.
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
    "is": ("Þessi vefur notar vafrakökur til að bæta upplifun þína.", "Samþykkja"),
    "cy": ("Mae'r wefan hon yn defnyddio cwcis i wella eich profiad.", "Derbyn"),
}
PLACEMENTS = (
    'style="position:fixed;bottom:0;left:0;right:0"',
    'role="dialog" aria-label="x"',
    'aria-modal="true"',
    'class="site-strip" style="position: sticky; top: 0"',
)
# Hand-made banners of many shapes, each placed inside the article: (banner html, its sentence).
IN_ARTICLE = {
    "plain-div-buttons": (
        (
            "<div><p>We use cookies to understand how you use this site.</p>"
            "<button>Accept</button><button>Reject</button></div>"
        ),
        "We use cookies to understand how you use this site.",
    ),
    "css-fixed-bar": (
        (
            '<div class="bottom-strip"><span>This website stores cookies on your device.</span> '
            '<a href="#" class="btn">Got it</a></div>'
        ),
        "This website stores cookies on your device.",
    ),
    "form-submit": (
        (
            '<form method="post" action="/consent"><p>Help us improve: allow analytics cookies on '
            'this site?</p><input type="submit" value="Allow"> <input type="submit" value="Decline">'
            "</form>"
        ),
        "Help us improve: allow analytics cookies on this site?",
    ),
    "links-not-buttons": (
        (
            '<div class="msg"><p>Our partners and we use cookies and similar tracking for ads.</p>'
            '<p><a href="#ok">I agree</a> | <a href="/cookie-settings">Manage settings</a></p></div>'
        ),
        "Our partners and we use cookies and similar tracking for ads.",
    ),
    "section-with-heading": (
        (
            "<section><h3>Your privacy</h3><p>With your consent we use cookies to measure audiences "
            'and show relevant ads.</p><button type="button">Accept all</button>'
            '<button type="button">Customise</button></section>'
        ),
        "With your consent we use cookies to measure audiences and show relevant ads.",
    ),
    "role-button-spans": (
        (
            '<div class="note"><p>Cookies help us deliver our services. By using them you consent.'
            '</p><span role="button">OK</span><span role="button">More options</span></div>'
        ),
        "Cookies help us deliver our services. By using them you consent.",
    ),
    "aside-banner": (
        (
            '<aside><p>This site uses tracking cookies for statistics.</p><a href="/privacy">Privacy '
            "policy</a> <button>Accept</button></aside>"
        ),
        "This site uses tracking cookies for statistics.",
    ),
    "nested-wrappers": (
        (
            '<div class="w1"><div class="w2"><div class="w3"><p>We and selected third parties use '
            "cookies for technical purposes and, with your consent, for other purposes.</p></div>"
            '<div class="w4"><button>Reject</button><button>Accept</button></div></div></div>'
        ),
        "We and selected third parties use cookies for technical purposes",
    ),
}
CSS = "<style>.bottom-strip{position:fixed;bottom:0;left:0;right:0;background:#222}</style>"


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _paragraphs(story: Story) -> list[str]:
    return [f"<p>{_esc(p)}</p>" for p in story.paragraphs]


CHROME_TOP = (
    '<a class="skip" href="#main">Skip to content</a>'
    '<ul class="menu"><li><a href="/">Home</a></li><li><a href="/news/">News</a></li>'
    '<li><a href="/sport/">Sport</a></li><li><a href="/about/">About us</a></li></ul>'
)
CHROME_BOTTOM = (
    '<p>© 2026 The Daily Example. <a href="/privacy/">Privacy policy</a> · '
    '<a href="/cookies/">Cookie policy</a> · <a href="/contact/">Contact</a></p>'
)


def render(story: Story, body: list[str], outside: str = "", layout: int = 0) -> str:
    """A page in one of three layouts; `body` is the article's blocks, `outside` a banner placed
    after the article (before the footer)."""
    title = _esc(story.title)
    head = f'<html lang="{story.lang}"><head><meta charset="utf-8"><title>{title}</title>{CSS}'
    head += "</head><body>"
    blocks = "".join(body)
    if layout == 0:  # semantic HTML5
        page = (
            f"<header>{CHROME_TOP}</header><main id='main'><article><h1>{title}</h1>"
            f"<p class='byline'>By Staff Writer</p>{blocks}</article></main>{outside}"
            f"<footer>{CHROME_BOTTOM}</footer>"
        )
    elif layout == 1:  # div soup: no article, no main
        page = (
            f"<div id='top'>{CHROME_TOP}</div><div id='content'><div class='post'>"
            f"<h1 class='headline'>{title}</h1><div class='post-body'>{blocks}</div></div>"
            f"<div class='sidebar'><h4>Most read</h4><ul><li><a href='/a'>Storm closes port"
            f"</a></li><li><a href='/b'>Election date set</a></li></ul></div></div>{outside}"
            f"<div id='bottom'>{CHROME_BOTTOM}</div>"
        )
    elif layout == 3:  # the story in a plain div, its teasers in <article>s
        teasers = "".join(
            f"<article class='teaser'><h3><a href='/t{n}'>{_esc(other.title)}</a></h3>"
            f"<p>{_esc(other.paragraphs[0])}</p></article>"
            for n, other in enumerate(NEUTRAL)
        )
        page = (
            f"<header>{CHROME_TOP}</header><div class='story'><h1>{title}</h1>{blocks}</div>"
            f"{outside}<section class='more'><h2>More news</h2>{teasers}</section>"
            f"<footer>{CHROME_BOTTOM}</footer>"
        )
    else:  # WordPress-like theme
        page = (
            f"<div class='site'><header class='site-header'>{CHROME_TOP}</header>"
            f"<div class='site-content'><div class='entry'><h1 class='entry-title'>{title}</h1>"
            f"<div class='entry-content'>{blocks}</div><div class='sharedaddy'><a href='#'>"
            f"Share on X</a> <a href='#'>Share by email</a></div></div></div>{outside}"
            f"<footer class='site-footer'>{CHROME_BOTTOM}</footer></div>"
        )
    return f"{head}{page}</body></html>"


def _middle(blocks: list[str], banner: str) -> list[str]:
    return [*blocks[:2], banner, *blocks[2:]]


def _trap_body(story: Story, shape: str) -> tuple[list[str], str]:
    """The article's blocks laid out as `shape`, and what wraps the whole article (if anything)."""
    blocks = _paragraphs(story)
    if shape == "blockquote":
        blocks[1] = f"<blockquote>{blocks[1]}</blockquote>"
    elif shape == "steps":
        steps = "".join(f"<li>{_esc(step)}</li>" for step in story.paragraphs[1].split(", "))
        blocks[1] = f"<ol>{steps}</ol>"
        blocks.insert(2, '<div class="tip"><button class="copy">Copy link</button></div>')
    elif shape == "recipe-card":
        card = "".join(blocks[1:3])
        blocks[1:3] = [
            (
                f'<div class="cookie-recipe-card">{card}<button>Print recipe</button>'
                "<button>Save</button></div>"
            )
        ]
    elif shape == "sticky-box":
        blocks[0] = (
            f'<div class="key-points" style="position: sticky; top: 0">{blocks[0]}'
            '<button>Share</button><a href="#more">Read more</a> <a href="/topics/">Topics</a></div>'
        )
    elif shape == "notice":
        blocks[2] = (
            f'<div class="editor-notice">{blocks[2]}<a href="/privacy/">Read the privacy policy</a></div>'
        )
    elif shape == "widget":
        blocks.insert(
            2,
            '<div class="tracker-check" role="region"><label>Check a site</label>'
            '<input type="text" name="site"><button>Check</button></div>',
        )
    elif shape == "faq":
        blocks = [
            f"<details open><summary>Question {i + 1}</summary>{block}</details>"
            for i, block in enumerate(blocks)
        ]
    return blocks, shape


def pages() -> Iterator[CorpusPage]:
    """Every page of the corpus."""
    layouts = 3
    for i, name in enumerate(sorted(UNSEEN_MANAGERS)):
        banner = UNSEEN_MANAGERS[name].replace("{P}", "partners")
        story = NEUTRAL[i % len(NEUTRAL)]
        sentence = " ".join(_text(banner).split())[:40]
        for position in ("before", "inside", "after"):
            blocks = _paragraphs(story)
            if position == "inside":
                blocks = _middle(blocks, banner)
            elif position == "before":
                blocks = [banner, *blocks]
            outside = banner if position == "after" else ""
            page = render(story, blocks, outside, layout=(i + len(position)) % layouts)
            yield CorpusPage("unseen-manager", f"{name}-{position}", page, sentence,
                             story.paragraphs)  # fmt: skip
    for i, code in enumerate(sorted(UNSEEN_LANGUAGES)):
        text, button = UNSEEN_LANGUAGES[code]
        placement = PLACEMENTS[i % len(PLACEMENTS)]
        banner = (
            f'<div {placement}><p>{_esc(text)}</p><button type="button">{button}</button></div>'
        )
        story = NEUTRAL[i % len(NEUTRAL)]
        for position in ("inside", "after"):
            blocks = _paragraphs(story)
            if position == "inside":
                blocks = _middle(blocks, banner)
            outside = banner if position == "after" else ""
            page = render(story, blocks, outside, layout=i % layouts)
            yield CorpusPage("unseen-language", f"{code}-{position}", page, text[:40],
                             story.paragraphs)  # fmt: skip
    for i, code in enumerate(sorted(UNSEEN_LANGUAGES)):
        text, button = UNSEEN_LANGUAGES[code]
        banner = f"<div><p>{_esc(text)}</p><button>{button}</button></div>"
        story = NEUTRAL[i % len(NEUTRAL)]
        for layout in (0, 1):
            position = ("before", "after")[(i + layout) % 2]
            body = _paragraphs(story)
            if position == "before" and layout == 1:
                page = render(story, body, layout=layout).replace("<body>", f"<body>{banner}", 1)
            elif position == "before":
                page = render(story, body, layout=layout).replace(
                    "<header>", f"{banner}<header>", 1
                )
            else:
                page = render(story, body, banner, layout=layout)
            yield CorpusPage("bare-bar", f"{code}-{position}-{layout}", page, text[:40],
                             story.paragraphs)  # fmt: skip
    for i, (name, (banner, sentence)) in enumerate(sorted(IN_ARTICLE.items())):
        story = NEUTRAL[i % len(NEUTRAL)]
        for layout in range(layouts):
            page = render(story, _middle(_paragraphs(story), banner), layout=layout)
            yield CorpusPage("in-article", f"{name}-{layout}", page, sentence, story.paragraphs)
    for i, (name, (story, shape)) in enumerate(sorted(TRAPS.items())):
        blocks, _ = _trap_body(story, shape)
        for layout in range(layouts + 1):  # and the layout whose teasers are the <article>s
            if shape == "dialog":
                blocks_here = [
                    (
                        '<div role="dialog" aria-modal="true" class="story-viewer">'
                        f"{''.join(blocks)}<button>Close</button></div>"
                    )
                ]
            else:
                blocks_here = blocks
            page = render(story, blocks_here, layout=(i + layout) % (layouts + 1))
            yield CorpusPage("trap", f"{name}-{layout}", page, "", story.paragraphs)


def _text(markup: str) -> str:
    from lxml import html as lxml_html

    return str(lxml_html.fromstring(markup).text_content())


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def recall(page: CorpusPage, text: str) -> float:
    """The share of the article's words (counted with repeats) that the clean text holds."""
    wanted = Counter(word for paragraph in page.article for word in _words(paragraph))
    found = Counter(_words(text))
    kept = sum(min(count, found[word]) for word, count in wanted.items())
    return kept / max(sum(wanted.values()), 1)


def banner_left(page: CorpusPage, text: str) -> bool:
    """Whether the banner's sentence is in the clean text (never, for a trap)."""
    if not page.banner:
        return False
    return " ".join(page.banner.split()).lower() in " ".join(text.split()).lower()

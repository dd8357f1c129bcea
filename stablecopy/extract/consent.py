"""Cookie and consent banners: rules kept as data (rules/*.txt), applied to a parsed page (lxml).

Two kinds of rule, both in files rather than code: element selectors in EasyList cosmetic syntax
(known consent-manager containers), and the phrases banners open with, in several languages (for
hand-made banners without a known container). Knows nothing of trafilatura.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from pathlib import Path

from cssselect import HTMLTranslator, SelectorError
from lxml import etree
from lxml.html import HtmlElement

from stablecopy.labels import sha256_label

logger = logging.getLogger(__name__)

BUNDLED_SELECTORS = "consent-selectors.txt"
BUNDLED_PHRASES = "consent-phrases.txt"
BUNDLED_WORDS = "consent-words.txt"
BUNDLED_CONTROLS = "consent-controls.txt"

# Elements never removed, whatever a rule says: the page itself and its main content.
_PROTECTED_TAGS = {"html", "head", "body", "main", "article"}
_CONTENT_INSIDE = etree.XPath("boolean(.//article | .//main)")
_HEADLINE_INSIDE = etree.XPath("boolean(.//h1)")
_NAMED = etree.XPath("//*[@id or @class]")
_WITH_TEXT = etree.XPath("//*[text()]")  # some text of its own
_SIMPLE = re.compile(r"^(?:[a-zA-Z][\w-]*)?([#.])([\w-]+)$")
_SUBSTRING = re.compile(r'^\[(id|class)\*="([^"]+)"\]$')
# cssselect's translation of a one-step selector: an element test and one predicate.
_ONE_STEP = re.compile(r"^descendant-or-self::(\*|[a-zA-Z][\w-]*)\[(.*)\]$")
_LITERALS = re.compile(r"""('[^']*'|"[^"]*")""")
_ATTRIBUTE = re.compile(r"@([\w:-]+)")
_FUNCTION = re.compile(r"([\w-]+)\s*\(")
# What cssselect writes for attribute selectors; a test made of these and one attribute means the
# same with the attribute as its context node.
_STRING_FUNCTIONS = {"starts-with", "contains", "concat", "normalize-space", "substring",
                     "string-length", "translate"}  # fmt: skip
_UNSUPPORTED = ("#?#", "#$#", "#@#", "#%#", "##+js", ":-abp-", ":has-text(", ":style(", ":xpath(")
# A banner talks about cookies, trackers or consent (in the languages the phrase list covers).
_BANNER_WORDS = re.compile(
    r"cookie|クッキー|쿠키|куки|tracker|traceur|rastreador|consent|einwilligung|zustimmung"
    r"|consentement|consentimiento|consenso|toestemming|consentimento|datenschutz|evästei"
    r"|informasjonskapsl|kakor|çerez|süti|ciasteczk|zgod",
    re.IGNORECASE,
)
_MAX_BANNER_TEXT = 1500
_MIN_BANNER_TEXT = 24  # "Cookie policy" in a footer is a link, not a banner
_LINK_TAGS = {"a", "button", "label", "option", "li", "title", "input", "select", "textarea"}
# Inside a banner's wrapper: controls and labels ("OK", "Learn more"), never article prose.
_CONTROL_TAGS = {"a", "button", "input", "select", "label", "img", "svg", "br", "hr", "script",
                 "style", "noscript", "form", "ul"}  # fmt: skip
_PROSE_TAGS = {"p", "li", "blockquote", "h1", "h2", "h3", "table", "pre"}
_LABEL_LENGTH = 30
_SEPARATOR_LENGTH = 3  # loose text between a banner's parts: "|", "·", "or"
# Where a page's article is, when it says so; an element holding more than this share of its text
# is never removed, whichever rule matched it.
_ARTICLE_ROOTS = etree.XPath(
    "//*[@itemprop='articleBody'] | //article | //main | //*[@role='main']"
)
_ARTICLE_SHARE = 0.2
# A banner's own controls: what a reader clicks to accept, refuse or learn more.
_CONTROLS = etree.XPath(
    "boolean(descendant-or-self::*[self::button or self::input or self::select or self::a"
    " or @role='button' or @onclick])"
)
_RUNNING_TEXT = 80  # a sibling paragraph this long, not about cookies, is the article going on
# Banners found by their structure, for consent managers no rule names: where they sit (a dialog,
# a fixed or sticky bar, a container named like one) and what they hold (controls, a policy link).
_PLACED = etree.XPath(
    "//dialog | //*[@role='dialog' or @role='alertdialog' or @aria-modal='true'"
    " or contains(translate(@style, 'FIXEDSTICKY', 'fixedsticky'), 'fixed')"
    " or contains(translate(@style, 'FIXEDSTICKY', 'fixedsticky'), 'sticky')]"
)
_HINT_TOKENS = ("banner", "consent", "cookie", "gdpr", "dsgvo", "rgpd", "lgpd", "privacy",
                "notice", "modal", "popup", "overlay", "cmp", "tracking")  # fmt: skip
_NAME_HINTS = re.compile("|".join(_HINT_TOKENS), re.IGNORECASE)
# Names an extractor takes for a banner's whatever the element holds (trafilatura discards them).
_MASKING_TOKENS = ("cookie", "consent", "permission", "modal-content")
_BANNER_NAMES = re.compile("|".join(_MASKING_TOKENS), re.IGNORECASE)
_POLICY_LINK = etree.XPath(
    "boolean(.//a[contains(translate(@href, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',"
    " 'abcdefghijklmnopqrstuvwxyz'), 'privacy') or contains(@href, 'cookie')"
    " or contains(@href, 'datenschutz') or contains(@href, 'confidentialit')"
    " or contains(@href, 'privacidad') or contains(@href, 'privacidade') or contains(@href, 'gdpr')"
    " or contains(@href, 'rgpd') or contains(@href, 'dsgvo') or contains(@href, 'policy')"
    " or contains(@href, 'polityka') or contains(@href, 'privat')])"
)
_BUTTONS = etree.XPath(
    "count(.//button | .//input[@type='button' or @type='submit' or @type='checkbox']"
    " | .//*[@role='button'])"
)
_LINK_LABELS = etree.XPath("count(.//a[string-length(normalize-space(.)) <= 30])")
_CHROME_TAGS = {"header", "nav", "footer", "form", "ul", "ol", "table"}
_CONTROLS_TEXT = 80  # a block of a banner's buttons and links: "Accept", "Learn more", "Settings"
# What structure never takes for a banner: the page, its chrome, controls (a consent form may be).
_NOT_BANNERS = (_PROTECTED_TAGS | _CHROME_TAGS | _CONTROL_TAGS) - {"form"}
# A banner's controls, and how long a label is (longer is a sentence, not a button).
_CONTROL_ELEMENTS = etree.XPath(
    "descendant-or-self::*[self::button or self::a or @role='button'"
    " or self::input[@type='button' or @type='submit']]"
)
_ALL_CONTROLS = etree.XPath(
    "//button | //a | //*[@role='button'] | //input[@type='button' or @type='submit']"
)
_CONTROL_LABEL = 40
_CONTROL_CLIMB = 6  # levels from a consent control up to the banner holding it
# Structural evidence that an element is a consent banner, and its weight. An element about
# cookies, consent or tracking (the lexicon), 24-1,500 characters long, with controls of its own,
# is a banner when its evidence weighs BANNER_SCORE or more; then the guards decide (_guarded).
# Weights and threshold are those that separate the consent corpus's banners from its trap
# articles with room on both sides (bench/consent.py prints every page's scores).
_WEIGHTS = {
    "placed": 2,  # a dialog, alertdialog, aria-modal, or fixed/sticky (inline or page CSS)
    "consent-control": 2,  # a control saying accept / reject / settings (consent-controls.txt)
    "consent-choices": 1,  # two or more such controls saying different things
    "control": 1,  # other controls only: buttons, or two short links
    "compact": 1,  # at most _COMPACT characters: a notice, not a story
    "named": 1,  # an id or class like a banner's (banner, consent, cookie, gdpr, notice, ...)
    "policy-link": 1,  # a link to a privacy or cookie policy
    "outside-article": 1,  # outside the page's article; where it names none, before or after its text
    "cookies-and-consent": 1,  # two different lexicon words (cookies and consent, tracking...)
}
BANNER_SCORE = 4
_COMPACT = 600
_RAW_SLACK = 8  # raw text (indentation and all) this many times a limit is past it for sure
_ARTICLE_PROSE = 3  # paragraphs of running text (_RUNNING_TEXT characters) that make an article
_LONG_PROSE = etree.XPath(
    "count(descendant-or-self::*[self::p or self::li or self::blockquote]"
    f"[string-length(normalize-space(.)) >= {_RUNNING_TEXT}])"
)
# `selector { ... position: fixed|sticky ... }` in the page's own <style> blocks.
_STYLE_TEXT = etree.XPath("//style/text()")
_FIXED = re.compile(r"position\s*:\s*(?:fixed|sticky)", re.IGNORECASE)
_SELECTOR_NAMES = re.compile(r"([.#])(-?[_a-zA-Z][\w-]*)")


@dataclass(frozen=True)
class ConsentRules:
    """Compiled rules: ids and classes for a fast pass, the rest as one XPath, and opening phrases."""

    ids: frozenset[str]
    classes: frozenset[str]
    id_parts: re.Pattern[str] | None
    class_parts: re.Pattern[str] | None
    xpath: etree.XPath | None
    phrases: re.Pattern[str] | None
    site_selectors: dict[str, tuple[str, ...]] = field(default_factory=dict)
    fingerprint: str = ""


@dataclass(frozen=True)
class Removal:
    """One element removed, for the metadata record: what it was, which rule found it, its
    structural score (when structure found it) and how many characters of text it held."""

    what: str
    rule: str
    characters: int
    score: int | None = None

    def describe(self) -> str:
        score = f" score={self.score}" if self.score is not None else ""
        return f"{self.what} rule={self.rule}{score} chars={self.characters}"


def _read_sources(extra: Iterable[str], bundled: str) -> list[tuple[str, str]]:
    """The bundled rule file, then each extra file, as (name, text)."""
    sources = [
        (
            bundled,
            files("stablecopy.extract").joinpath("rules").joinpath(bundled).read_text("utf-8"),
        )
    ]
    sources.extend((path, Path(path).read_text("utf-8")) for path in extra)
    return sources


def _selector_lines(text: str) -> Iterable[tuple[tuple[str, ...], str]]:
    """(domains, selector) for each supported cosmetic rule; other lines are skipped."""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("!", "[")) or any(u in line for u in _UNSUPPORTED):
            continue
        domains, sep, selector = line.partition("##")
        if not sep or not selector:
            continue
        names = tuple(d.strip().lower() for d in domains.split(",") if d.strip())
        if any(name.startswith("~") for name in names):
            continue
        yield names, selector


@cache
def load_rules(
    selector_files: tuple[str, ...] = (), phrase_files: tuple[str, ...] = ()
) -> ConsentRules:
    """Compile the bundled rule files plus any extra ones. Cached per process."""
    translator = HTMLTranslator()
    ids: set[str] = set()
    classes: set[str] = set()
    parts: dict[str, list[str]] = {"id": [], "class": []}
    xpaths: list[str] = []
    site: dict[str, list[str]] = {}
    digest = hashlib.sha256()
    for name, text in _read_sources(selector_files, BUNDLED_SELECTORS):
        digest.update(text.encode("utf-8"))
        for domains, selector in _selector_lines(text):
            try:
                xpath = translator.css_to_xpath(selector, prefix="descendant-or-self::")
            except SelectorError:
                logger.warning("%s: skipping selector it cannot read: %s", name, selector)
                continue
            if domains:
                for domain in domains:
                    site.setdefault(domain, []).append(xpath)
                continue
            simple = _SIMPLE.match(selector)
            substring = _SUBSTRING.match(selector)
            if simple and simple.group(1) == "#":
                ids.add(simple.group(2))
            elif simple:
                classes.add(simple.group(2))
            elif substring:
                parts[substring.group(1)].append(re.escape(substring.group(2)))
            else:
                xpaths.append(xpath)
    phrases: list[str] = []
    for _, text in _read_sources(phrase_files, BUNDLED_PHRASES):
        digest.update(text.encode("utf-8"))
        phrases.extend(
            line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
        )
    return ConsentRules(
        ids=frozenset(ids),
        classes=frozenset(classes),
        id_parts=re.compile("|".join(parts["id"])) if parts["id"] else None,
        class_parts=re.compile("|".join(parts["class"])) if parts["class"] else None,
        xpath=_merged_xpath(xpaths),
        phrases=re.compile(r"^(?:" + "|".join(phrases) + ")", re.IGNORECASE) if phrases else None,
        site_selectors={domain: tuple(paths) for domain, paths in site.items()},
        fingerprint=sha256_label(digest.hexdigest()),
    )


def _attribute_test(predicate: str) -> tuple[str, str] | None:
    """(attribute, the same test with that attribute as its context node) for a predicate that
    looks at one attribute of the element and nothing else; None for any other predicate."""
    parts = _LITERALS.split(predicate)  # string literals at odd positions, left as they are
    code = "".join(parts[::2])
    names = set(_ATTRIBUTE.findall(code))
    if len(names) != 1 or not _STRING_FUNCTIONS.issuperset(_FUNCTION.findall(code)):
        return None
    if any(mark in code for mark in (".", "/", "[", "$", "*")):  # other nodes, other contexts
        return None
    name = names.pop()
    parts[::2] = [_ATTRIBUTE.sub(".", part) for part in parts[::2]]
    return name, "".join(parts)


def _merged_xpath(xpaths: list[str]) -> etree.XPath | None:
    """One XPath for many selectors: one-step selectors share a single pass over the tree, and
    those about the same attribute look it up once (`@aria-label[contains(., 'cookie') or ...]`)."""
    conditions, others = [], []
    by_attribute: dict[tuple[str, str], list[str]] = {}
    for xpath in xpaths:
        step = _ONE_STEP.match(xpath)
        if step is None:
            others.append(xpath)
            continue
        tag, predicate = step.groups()
        on_attribute = _attribute_test(predicate)
        if on_attribute is None:
            conditions.append(_on_tag(tag, f"({predicate})"))
        else:
            by_attribute.setdefault((tag, on_attribute[0]), []).append(on_attribute[1])
    for (tag, attribute), tests in by_attribute.items():
        conditions.append(_on_tag(tag, f"@{attribute}[{' or '.join(f'({t})' for t in tests)}]"))
    if conditions:
        others.insert(0, "descendant-or-self::*[" + " or ".join(conditions) + "]")
    return etree.XPath(" | ".join(others)) if others else None


def _on_tag(tag: str, condition: str) -> str:
    return condition if tag == "*" else f"(self::{tag} and {condition})"


def _drop(element: HtmlElement) -> None:
    """Remove an element but keep the text that follows it (lxml would drop its tail)."""
    parent = element.getparent()
    if parent is None:
        return
    if element.tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


def _removable(element: HtmlElement) -> bool:
    tag = element.tag if isinstance(element.tag, str) else ""
    return tag.lower() not in _PROTECTED_TAGS and not _CONTENT_INSIDE(element)


def _normalised_text(element: HtmlElement) -> str:
    return " ".join(element.text_content().split())


_NOT_PROSE = {"a", "button", "script", "style", "noscript", "select", "option", "template"}


def _prose(element: HtmlElement) -> str:
    """The element's own statement: its text outside links, buttons and scripts (a footer's
    "Cookie policy · Privacy options" links say nothing; a banner says something)."""
    parts: list[str] = []

    def walk(node: HtmlElement) -> None:
        parts.append(node.text or "")
        for child in node:
            tag = child.tag.lower() if isinstance(child.tag, str) else ""
            if tag and tag not in _NOT_PROSE and child.get("role") != "button":
                walk(child)
            parts.append(child.tail or "")

    walk(element)
    return " ".join(" ".join(parts).split())


def _short_text(element: HtmlElement, limit: int) -> str | None:
    """The element's normalised text when it may be at most `limit` characters long, else None
    (a wrapper of the whole page is not normalised only to be found too long)."""
    raw = element.text_content()
    if len(raw) > _RAW_SLACK * limit:
        return None
    text = " ".join(raw.split())
    return text if len(text) <= limit else None


def _matched_by_names(
    named: list[HtmlElement], rules: ConsentRules
) -> tuple[list[HtmlElement], list[HtmlElement]]:
    """One pass over ids and classes: exact names of consent containers, and name fragments."""
    exact: list[HtmlElement] = []
    loose: list[HtmlElement] = []
    for element in named:
        element_id = element.get("id")
        names = element.get("class")
        if element_id in rules.ids or (names and not rules.classes.isdisjoint(names.split())):
            exact.append(element)
        elif (element_id and rules.id_parts and rules.id_parts.search(element_id)) or (
            names and rules.class_parts and rules.class_parts.search(names)
        ):
            loose.append(element)
    return exact, loose


def _matched_by_site(tree: HtmlElement, rules: ConsentRules, host: str) -> list[HtmlElement]:
    """The matches of the rules written for this site (`example.com##selector`)."""
    found: list[HtmlElement] = []
    for domain, xpaths in rules.site_selectors.items():
        if host == domain or host.endswith("." + domain):
            for xpath in xpaths:
                found.extend(tree.xpath(xpath))
    return found


def _matched_by_patterns(
    tree: HtmlElement, rules: ConsentRules, found: list[HtmlElement]
) -> list[HtmlElement]:
    """Add the matches of the other selectors; these may be loose, so never keep most of the page."""
    if rules.xpath is not None:
        found.extend(rules.xpath(tree))
    kept: list[HtmlElement] = []
    long: list[HtmlElement] = []
    for element in found:
        (kept if len(_normalised_text(element)) <= _MAX_BANNER_TEXT else long).append(element)
    if long:
        half_page = len(_normalised_text(tree)) // 2
        kept.extend(e for e in long if len(_normalised_text(e)) <= half_page)
    return kept


def _is_banner_part(element: HtmlElement) -> bool:
    """Whether a sibling of banner text belongs to the banner: controls, labels, or banner text."""
    tag = element.tag.lower() if isinstance(element.tag, str) else ""
    if not tag or tag in _CONTROL_TAGS:
        return True
    text = _normalised_text(element)
    if not text or _BANNER_WORDS.search(text):
        return True
    return len(text) <= _LABEL_LENGTH and tag not in _PROSE_TAGS


def _loose_text(element: HtmlElement) -> str:
    """Text directly inside an element, not inside its children."""
    parts = [element.text or ""] + [child.tail or "" for child in element]
    return " ".join(" ".join(parts).split())


def _banner_envelope(start: HtmlElement) -> HtmlElement:
    """Grow from the element a banner phrase opens to the wrapper holding nothing but the banner."""
    current = start
    parent = current.getparent()
    while parent is not None and _removable(parent) and not _HEADLINE_INSIDE(parent):
        loose = _loose_text(parent)
        if len(loose) > _SEPARATOR_LENGTH and not _BANNER_WORDS.search(loose):
            break
        if not all(_is_banner_part(child) for child in parent if child is not current):
            break
        if len(_normalised_text(parent)) > _MAX_BANNER_TEXT:
            break
        if _LONG_PROSE(parent) >= _ARTICLE_PROSE:
            break  # paragraphs of running text beside it: the article, not the banner
        current, parent = parent, parent.getparent()
    return current


def _matched_by_phrases(tree: HtmlElement, rules: ConsentRules) -> list[HtmlElement]:
    """Banners found by how they open: a statement about cookies, not a link labelled 'Cookies'."""
    if rules.phrases is None:
        return []
    found = []
    for element in _WITH_TEXT(tree):
        if element.tag.lower() in _LINK_TAGS:
            continue
        if not element.text or not rules.phrases.match(element.text.strip()):
            continue
        text = _normalised_text(element)
        if not _MIN_BANNER_TEXT <= len(text) <= _MAX_BANNER_TEXT or not _BANNER_WORDS.search(text):
            continue
        if _removable(element) and not _HEADLINE_INSIDE(element):
            found.append(_banner_envelope(element))
    return found


def _running_text(element: HtmlElement) -> bool:
    """A paragraph of the article going on: prose, long, not about cookies."""
    if not isinstance(element.tag, str) or element.tag.lower() not in _PROSE_TAGS:
        return False
    text = _normalised_text(element)
    return len(text) >= _RUNNING_TEXT and not _BANNER_WORDS.search(text)


def _self_contained(element: HtmlElement) -> bool:
    """A banner stands on its own: controls of its own (buttons, links, inputs), in it or in a
    short block beside it ("Accept · Learn more"), and, if it is a paragraph, no paragraph of
    running text beside it (the article going on around it: it is part of the article)."""
    siblings = [*element.itersiblings(preceding=True), *element.itersiblings()]
    tag = element.tag.lower() if isinstance(element.tag, str) else ""
    if tag in _PROSE_TAGS and any(_running_text(sibling) for sibling in siblings):
        return False
    return _CONTROLS(element) or any(
        _CONTROLS(sibling) and len(_normalised_text(sibling)) <= _CONTROLS_TEXT
        for sibling in siblings
    )


def _story_roots(tree: HtmlElement) -> list[HtmlElement]:
    """The elements the page names as its article (`articleBody`, `<article>`, `<main>`,
    `role=main`) that hold its story: the largest, and those at least half its size, nested in one
    another; none when several stand side by side (teasers, cards) or when they hold under half
    the page's paragraphs of running text (a page whose teasers are `<article>`s but whose story
    is not names no article, as far as the banner evidence is concerned)."""
    roots = _ARTICLE_ROOTS(tree)
    if not roots:
        return []
    sizes = [len(root.text_content()) for root in roots]
    largest = max(sizes)
    kept = [root for root, size in zip(roots, sizes, strict=True) if size * 2 >= largest]
    outermost = [r for r in kept if not any(a in kept for a in r.iterancestors())]
    if len(outermost) > 1:
        return []  # several side by side: a list of cards or teasers, not one story
    page_prose = int(_LONG_PROSE(tree))
    story_prose = sum(int(_LONG_PROSE(root)) for root in outermost)
    if page_prose and story_prose * 2 < page_prose:
        return []
    return kept


def _guarded(
    tree: HtmlElement,
    exact: list[HtmlElement],
    others: list[HtmlElement],
    site: list[HtmlElement],
    roots: list[HtmlElement],
) -> list[HtmlElement]:
    """The candidates whose removal cannot take article text. Whatever a rule says: nothing holding
    more than a small share of the article's text goes, and inside the article only what stands
    on its own (its own controls, not a paragraph among paragraphs). A consent manager's own
    container outside the article goes as its rule says; so does what an archivist's rule for
    this site names, anywhere (short of the share of the article)."""
    article = max((len(_normalised_text(root)) for root in roots), default=0)
    article = article or len(_normalised_text(tree))
    limit = max(_MAX_BANNER_TEXT, int(_ARTICLE_SHARE * article))
    inside_roots = {id(root) for root in roots}
    exact_ids = {id(element) for element in exact}
    site_ids = {id(element) for element in site}
    kept = []
    for element in [*exact, *site, *others]:
        inside = any(id(ancestor) in inside_roots for ancestor in element.iterancestors())
        if id(element) in exact_ids and not inside:
            kept.append(element)
            continue
        if len(_normalised_text(element)) > limit:
            continue
        if id(element) in site_ids:
            kept.append(element)
            continue
        if (inside or id(element) not in exact_ids) and not _self_contained(element):
            continue
        kept.append(element)
    return kept


def _lexicon(name: str) -> list[str]:
    """The stems of a lexicon file (rules/NAME): the part of each line before `#`."""
    text = files("stablecopy.extract").joinpath("rules").joinpath(name).read_text("utf-8")
    return [stem for line in text.splitlines() if (stem := line.split("#", 1)[0].strip())]


@cache
def consent_words() -> re.Pattern[str]:
    """The consent lexicon (rules/consent-words.txt): cookies, consent and tracking, in many
    languages, as one case-insensitive pattern."""
    return re.compile("|".join(re.escape(stem) for stem in _lexicon(BUNDLED_WORDS)), re.IGNORECASE)


def _spaced(stem: str) -> bool:
    """Whether the stem's script separates words with spaces (not CJK, kana, Hangul or Thai)."""
    first = ord(stem[0])
    return not (0x0E00 <= first < 0x0E80 or first >= 0x2E80)


@dataclass(frozen=True)
class ControlLexicon:
    """The control lexicon (rules/consent-controls.txt), split for fast matching: stems matched at
    the start of a word, short stems that must be a word of their own, and stems of scripts that
    do not separate words (matched anywhere)."""

    starts: tuple[str, ...]
    words: frozenset[str]
    anywhere: re.Pattern[str]

    def says(self, label: str) -> bool:
        """Whether a control's label says one of the lexicon's things."""
        lowered = label.lower()
        if self.anywhere.search(lowered):
            return True
        tokens = _WORD.findall(lowered)
        if self.words.intersection(tokens):
            return True
        return any(
            lowered.startswith(self.starts, match.start()) for match in _WORD.finditer(lowered)
        )


_WORD = re.compile(r"\w+")


@cache
def consent_controls() -> ControlLexicon:
    starts, words, anywhere = [], set(), []
    for stem in _lexicon(BUNDLED_CONTROLS):
        lowered = stem.lower()
        if not _spaced(stem):
            anywhere.append(lowered)
        elif len(stem) <= 3:
            words.add(lowered)
        else:
            starts.append(lowered)
    return ControlLexicon(
        tuple(starts), frozenset(words), re.compile("|".join(map(re.escape, anywhere)))
    )


def _label(control: HtmlElement) -> str:
    return _normalised_text(control) or (control.get("value") or "").strip()


def _consent_controls(element: HtmlElement) -> int:
    """How many different things the element's controls offer among accept, reject and settings
    (in any language): 0, 1, or 2 for a choice."""
    labels = consent_controls()
    said = set()
    for control in _CONTROL_ELEMENTS(element):
        label = _label(control)
        if label and len(label) <= _CONTROL_LABEL and labels.says(label):
            said.add(label.lower())
    return min(len(said), 2)


def _css_placed(tree: HtmlElement) -> tuple[set[str], set[str]]:
    """The ids and classes the page's own <style> blocks make fixed or sticky (the last compound
    selector of each rule: `.cc-bar .inner` places `.inner`)."""
    ids: set[str] = set()
    classes: set[str] = set()
    for css in _STYLE_TEXT(tree):
        if "fixed" not in css and "sticky" not in css:
            continue
        for found in _FIXED.finditer(css):
            # The rule's selector: from the `{` opening its block back to the end of the rule
            # (or the at-rule) before it.
            opening = css.rfind("{", 0, found.start())
            if opening < 0 or css.rfind("}", 0, found.start()) > opening:
                continue  # not inside a block
            start = (
                max(
                    css.rfind("}", 0, opening),
                    css.rfind("{", 0, opening),
                    css.rfind(";", 0, opening),
                )
                + 1
            )
            for selector in css[start:opening].split(","):
                compound = selector.strip().split()[-1] if selector.strip() else ""
                for kind, name in _SELECTOR_NAMES.findall(compound):
                    (ids if kind == "#" else classes).add(name)
    return ids, classes


def _placed(element: HtmlElement, css: tuple[set[str], set[str]]) -> bool:
    tag = element.tag.lower() if isinstance(element.tag, str) else ""
    style = (element.get("style") or "").lower()
    if tag == "dialog" or element.get("role") in ("dialog", "alertdialog"):
        return True
    if element.get("aria-modal") == "true" or "fixed" in style or "sticky" in style:
        return True
    ids, classes = css
    return element.get("id") in ids or not classes.isdisjoint((element.get("class") or "").split())


def _around_consent_controls(tree: HtmlElement) -> list[HtmlElement]:
    """For each control saying accept, reject or settings, the nearest element around it that
    talks about cookies, consent or tracking: where an unnamed, unplaced banner is."""
    labels, words = consent_controls(), consent_words()
    found = []
    for control in _ALL_CONTROLS(tree):
        label = _label(control)
        if not label or len(label) > _CONTROL_LABEL or not labels.says(label):
            continue
        for level, ancestor in enumerate(control.iterancestors()):
            if level >= _CONTROL_CLIMB or not isinstance(ancestor.tag, str):
                break
            text = _short_text(ancestor, _MAX_BANNER_TEXT)
            if text is None or _LONG_PROSE(ancestor) >= _ARTICLE_PROSE:
                break  # past the banner: its container, or the article around it
            if ancestor.tag.lower() in _CONTROL_TAGS - {"form"}:
                continue
            if len(text) >= _MIN_BANNER_TEXT and words.search(text):
                found.append(ancestor)
                break
    return found


# Running text before and after an element: where the page names no article, an element with none
# on one side sits before or after the page's text, as banners do (top bar, bottom bar).
_PROSE_BEFORE = etree.XPath(
    "boolean(preceding::*[self::p or self::li or self::blockquote]"
    f"[string-length(normalize-space(.)) >= {_RUNNING_TEXT}])"
)
_PROSE_AFTER = etree.XPath(
    "boolean(following::*[self::p or self::li or self::blockquote]"
    f"[string-length(normalize-space(.)) >= {_RUNNING_TEXT}])"
)


def _at_page_edge(element: HtmlElement) -> bool:
    return not _PROSE_BEFORE(element) or not _PROSE_AFTER(element)


def banner_score(
    element: HtmlElement, css: tuple[set[str], set[str]], inside_article: bool | None
) -> tuple[int, list[str]]:
    """The structural evidence that `element` is a consent banner: its weight and its names
    (0 and none when it is not about cookies, consent or tracking, is too short or too long, or
    has no controls). `inside_article`: None when the page names no article."""
    tag = element.tag.lower() if isinstance(element.tag, str) else ""
    if not tag or tag in _NOT_BANNERS:
        return 0, []
    text = _short_text(element, _MAX_BANNER_TEXT)
    if text is None or len(text) < _MIN_BANNER_TEXT:
        return 0, []
    prose = _prose(element)  # what it says, outside its links and buttons
    said = {match.lower() for match in consent_words().findall(prose)}
    if len(prose) < _MIN_BANNER_TEXT or not said:
        return 0, []
    if _LONG_PROSE(element) >= _ARTICLE_PROSE:
        return 0, []  # paragraphs of running text: an article, or a part of one
    evidence = []
    choices = _consent_controls(element)
    if choices:
        evidence += ["consent-control", "consent-choices"][:choices]
    elif inside_article is not False:
        # In the article, or where the page names none: only a control that says accept,
        # reject or settings tells a banner from a box of the story (its Share or Close).
        return 0, []
    elif _BUTTONS(element) >= 1 or _LINK_LABELS(element) >= 2:
        evidence.append("control")
    else:
        return 0, []
    if len(text) <= _COMPACT:
        evidence.append("compact")
    if _placed(element, css):
        evidence.append("placed")
    if _NAME_HINTS.search(f"{element.get('id') or ''} {element.get('class') or ''}"):
        evidence.append("named")
    if _POLICY_LINK(element):
        evidence.append("policy-link")
    if inside_article is False or (inside_article is None and _at_page_edge(element)):
        evidence.append("outside-article")
    if len(said) >= 2:
        evidence.append("cookies-and-consent")
    return sum(_WEIGHTS[name] for name in evidence), evidence


def scored_candidates(
    tree: HtmlElement,
    named: list[HtmlElement] | None = None,
    story: list[HtmlElement] | None = None,
) -> list[tuple[HtmlElement, int, list[str]]]:
    """Every structural candidate of the page with its weight and evidence (banner_score):
    the page's dialogs and fixed or sticky elements, elements named like a banner, and what
    holds a control saying accept, reject or settings. `named` and `story` (_NAMED, _story_roots)
    when the caller has them already."""
    named = _NAMED(tree) if named is None else named
    story = _story_roots(tree) if story is None else story
    css = _css_placed(tree)
    candidates = {id(e): e for e in _PLACED(tree)}
    ids, classes = css
    hinted = _NAME_HINTS.search
    for element in named:
        element_id, names = element.get("id") or "", element.get("class") or ""
        if hinted(f"{element_id} {names}") or (
            (ids or classes) and (element_id in ids or not classes.isdisjoint(names.split()))
        ):
            candidates.setdefault(id(element), element)
    for element in _around_consent_controls(tree):
        candidates.setdefault(id(element), element)
    # The roots stay referenced while their ids are compared: lxml keeps one Python object per
    # node only as long as something holds it, so the id of a dropped one may be reused.
    roots = {id(root) for root in story}
    scored = []
    for element in candidates.values():
        inside = any(id(a) in roots for a in element.iterancestors()) if roots else None
        score, evidence = banner_score(element, css, inside)
        scored.append((element, score, evidence))
    return scored


def _matched_by_structure(
    tree: HtmlElement, named: list[HtmlElement], story: list[HtmlElement]
) -> list[tuple[HtmlElement, int, list[str]]]:
    """Banners no rule names, found by the evidence any consent banner shows whatever its
    language: the candidates weighing BANNER_SCORE or more. Each then passes the guards like
    any other match (_guarded)."""
    scored = scored_candidates(tree, named, story)
    return [found for found in scored if found[1] >= BANNER_SCORE]


def _describe(element: HtmlElement) -> str:
    tag = element.tag.lower() if isinstance(element.tag, str) else "?"
    element_id = f"#{element.get('id')}" if element.get("id") else ""
    classes = "".join(f".{name}" for name in (element.get("class") or "").split()[:3])
    return f"{tag}{element_id}{classes}"[:120]


def unmask_article_parts(tree: HtmlElement) -> int:
    """Take banner-like names (`cookie-recipe-card`, `consent-explainer`) off the parts of a story
    that hold its running text and offer no consent choice, so that the extractor does not drop
    them for their name; run after remove_banners, on the working copy only (the archived bytes
    are never touched). How many elements it unmasked."""
    unmasked = 0
    for element in _NAMED(tree):
        names = f"{element.get('id') or ''} {element.get('class') or ''}"
        if not _BANNER_NAMES.search(names) or not isinstance(element.tag, str):
            continue
        if element.tag.lower() in _PROTECTED_TAGS or _LONG_PROSE(element) < 2:
            continue
        if _consent_controls(element):
            continue
        for attribute in ("id", "class"):
            value = element.get(attribute)
            if value and _BANNER_NAMES.search(value):
                del element.attrib[attribute]
        unmasked += 1
    return unmasked


def remove_banners(tree: HtmlElement, rules: ConsentRules, host: str = "") -> list[Removal]:
    """Remove consent banners from a parsed page in place; returns what went, and why."""
    named = _NAMED(tree)  # one pass over the elements with an id or a class, for both matchers
    exact, loose = _matched_by_names(named, rules)
    site = _matched_by_site(tree, rules, host)
    story = _story_roots(tree)  # held for the whole removal (ids of its elements are compared)
    structured = _matched_by_structure(tree, named, story)
    why: dict[int, tuple[str, int | None]] = {}
    for element in loose:
        why[id(element)] = ("selector", None)
    patterned = _matched_by_patterns(tree, rules, loose)
    for element in patterned:
        why.setdefault(id(element), ("selector", None))
    phrased = _matched_by_phrases(tree, rules)
    for element in phrased:
        why.setdefault(id(element), ("opening-phrase", None))
    for element, score, evidence in structured:
        why.setdefault(id(element), ("structure:" + "+".join(evidence), score))
    for element in site:
        why[id(element)] = ("site-rule", None)
    for element in exact:
        why[id(element)] = ("consent-manager", None)
    others = patterned + phrased + [element for element, _, _ in structured]
    candidates = _guarded(tree, exact, others, site, story)
    unique = {id(element): element for element in candidates if _removable(element)}
    outermost = [
        element
        for element in unique.values()
        if not any(id(ancestor) in unique for ancestor in element.iterancestors())
    ]
    removed = []
    for element in outermost:
        rule, weight = why.get(id(element), ("selector", None))
        removed.append(Removal(_describe(element), rule, len(_normalised_text(element)), weight))
        _drop(element)
    return removed

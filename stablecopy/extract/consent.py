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
_NAME_HINTS = re.compile(
    r"banner|consent|cookie|gdpr|dsgvo|rgpd|lgpd|privacy|notice|modal|popup|overlay|cmp|tracking",
    re.IGNORECASE,
)
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


def _guarded(
    tree: HtmlElement,
    exact: list[HtmlElement],
    others: list[HtmlElement],
    site: list[HtmlElement],
) -> list[HtmlElement]:
    """The candidates whose removal cannot take article text. Whatever a rule says: nothing holding
    more than a small share of the article's text goes, and inside the article only what stands
    on its own (its own controls, not a paragraph among paragraphs). A consent manager's own
    container outside the article goes as its rule says; so does what an archivist's rule for
    this site names, anywhere (short of the share of the article)."""
    roots = _ARTICLE_ROOTS(tree)
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


@cache
def consent_words() -> re.Pattern[str]:
    """The consent lexicon (rules/consent-words.txt): cookies, consent and tracking, in many
    languages, as one case-insensitive pattern."""
    text = files("stablecopy.extract").joinpath("rules").joinpath(BUNDLED_WORDS).read_text("utf-8")
    stems = []
    for line in text.splitlines():
        stem = line.split("#", 1)[0].strip()
        if stem:
            stems.append(re.escape(stem))
    return re.compile("|".join(stems), re.IGNORECASE)


def _matched_by_structure(tree: HtmlElement, named: list[HtmlElement]) -> list[HtmlElement]:
    """Banners no rule names, found by what any consent dialog is: short, about cookies, consent
    or tracking (in any language the lexicon has), with its own controls, and either placed as
    a dialog or a fixed bar, or named like one, or linking to a privacy or cookie policy. Each
    match then passes the guards like any other (_guarded)."""
    words = consent_words()
    candidates = {id(e): e for e in _PLACED(tree)}
    hinted = set()
    for element in named:
        if _NAME_HINTS.search(f"{element.get('id') or ''} {element.get('class') or ''}"):
            candidates.setdefault(id(element), element)
            hinted.add(id(element))
    found = []
    for element in candidates.values():
        tag = element.tag.lower() if isinstance(element.tag, str) else ""
        if not tag or tag in _PROTECTED_TAGS or tag in _CHROME_TAGS or tag in _CONTROL_TAGS:
            continue
        text = _normalised_text(element)
        if not _MIN_BANNER_TEXT <= len(text) <= _MAX_BANNER_TEXT or not words.search(text):
            continue
        if _BUTTONS(element) < 1 and _LINK_LABELS(element) < 2:
            continue
        style = (element.get("style") or "").lower()
        placed = (
            tag == "dialog" or element.get("role") in ("dialog", "alertdialog")
            or element.get("aria-modal") == "true" or "fixed" in style or "sticky" in style
        )  # fmt: skip
        hint = id(element) in hinted
        if placed or (hint and _POLICY_LINK(element)) or (hint and _BUTTONS(element) >= 2):
            found.append(element)
    return found


def remove_banners(tree: HtmlElement, rules: ConsentRules, host: str = "") -> int:
    """Remove consent banners from a parsed page in place; returns how many elements went."""
    named = _NAMED(tree)  # one pass over the elements with an id or a class, for both matchers
    exact, loose = _matched_by_names(named, rules)
    site = _matched_by_site(tree, rules, host)
    others = (
        _matched_by_patterns(tree, rules, loose)
        + _matched_by_phrases(tree, rules)
        + _matched_by_structure(tree, named)
    )
    candidates = _guarded(tree, exact, others, site)
    unique = {id(element): element for element in candidates if _removable(element)}
    outermost = [
        element
        for element in unique.values()
        if not any(id(ancestor) in unique for ancestor in element.iterancestors())
    ]
    for element in outermost:
        _drop(element)
    return len(outermost)

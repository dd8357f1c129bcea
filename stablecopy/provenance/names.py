"""Author names as reference managers want them: a person split into family and given names, an
organisation (a desk, an agency, "Staff") or a name unsafe to split (CJK, one word) kept whole.

APA, Harvard and Chicago print `Garnier, É.`, which needs the family name; a desk byline ("Foreign
Desk", "AFP") must not come out as `Desk, F.`. Splitting is nameparser's (maintained, handles
particles, titles and suffixes); what is an organisation is decided from the words it uses.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from nameparser import HumanName

# Words that make a byline an organisation, in the languages of the news most archived. Matched
# as whole words, any case.
_ORGANISATION_WORDS = frozenset(
    [
        "staff",
        "desk",
        "desks",
        "team",
        "newsroom",
        "editors",
        "editorial",
        "editorial-board",
        "board",
        "agency",
        "agencies",
        "wire",
        "wires",
        "bureau",
        "service",
        "services",
        "press",
        "news",
        "media",
        "reporters",
        "correspondents",
        "correspondent",
        "contributors",
        "writers",
        "network",
        "group",
        "foundation",
        "institute",
        "university",
        "council",
        "ministry",
        "office",
        "redaktion",
        "redaktionen",
        "nachrichtenagentur",
        "rédaction",
        "redaccion",
        "redacción",
        "redazione",
        "redactie",
        "agence",
        "agencia",
        "agenzia",
        "service-public",
        "équipe",
        "equipo",
        "staff-writer",
        "desk-report",
        "reuters",
        "afp",
        "ap",
        "dpa",
        "ansa",
        "efe",
        "apa",
        "sda",
        "kyodo",
        "xinhua",
        "tass",
        "pa",
        "upi",
        "bloomberg",
        "associated",
    ]
)
_WORD = re.compile(r"[\w'’-]+", re.UNICODE)
_SEPARATORS = re.compile(r"\s*(?:;|\band\b|\bund\b|\bet\b|\by\b|&)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Author:
    """One author: `family` and `given` for a person, `literal` for anything else."""

    family: str = ""
    given: str = ""
    literal: str = ""
    suffix: str = ""  # Jr., III

    @property
    def is_person(self) -> bool:
        return not self.literal

    @property
    def display(self) -> str:
        return self.literal or " ".join(p for p in (self.given, self.family, self.suffix) if p)


def _is_cjk(name: str) -> bool:
    return any(
        unicodedata.name(char, "").startswith(("CJK", "HANGUL", "HIRAGANA", "KATAKANA"))
        for char in name
    )


def _organisation(name: str) -> bool:
    words = [w.lower() for w in _WORD.findall(name)]
    if any(word in _ORGANISATION_WORDS for word in words):
        return True
    letters = [c for c in name if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters)  # an acronym: AFP, BBC


def author(name: str) -> Author:
    """One name, split when it is a person's."""
    name = " ".join(name.split())
    if not name or _is_cjk(name) or any(c.isdigit() for c in name) or _organisation(name):
        return Author(literal=name)
    parsed = HumanName(name)
    family, suffix = parsed.last, parsed.suffix
    given = " ".join(part for part in (parsed.first, parsed.middle) if part)
    if not family or not given:
        return Author(literal=name)  # one word: a pen name, a mononym
    return Author(family=family, given=given, suffix=suffix)


def authors(byline: str | None) -> list[Author]:
    """The authors of a byline: names separated by `;`, `and` (or und, et, y, &)."""
    if not byline:
        return []
    byline = re.sub(r"^\s*(by|von|par|por|di|door)\s+", "", byline, flags=re.IGNORECASE)
    return [author(part) for part in _SEPARATORS.split(byline) if part.strip()]

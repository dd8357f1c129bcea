"""Citations of a capture in the formats researchers' tools take: text, BibTeX, CSL-JSON, RIS, Robust Link.

Pure functions of a CitationFacts: the same capture always gives the same citation, byte for byte
(nothing here reads the clock). Every format carries the title, author, site, publication date,
original URL, archived URL, capture time (UTC), the payload's and the clean text's SHA-256, and the
capture's citation id.

Where a format has one URL, it is the archived copy's, as APA 7 asks of an archived page and as
common styles print it (Harvard prints `URL` and drops `archive_location`); the original URL goes
with it in the note. The archive is named by its configured name, the access date is the capture
date, and a year is always given (the publication's, else the capture's), so reference managers
and BibTeX styles print one. Authors are split into family and given names (names.py).
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from stablecopy.labels import timestamp14
from stablecopy.provenance.names import Author, authors

FORMATS = ("text", "bibtex", "csl-json", "ris", "robust-link")
_LATEX_SPECIALS = re.compile(r"([&%$#_{}])|(~)|(\^)|(\\)")
_ISO_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?")


@dataclass(frozen=True)
class CitationFacts:
    """What a citation says about one capture."""

    short_id: str
    url: str
    fetched_at: datetime
    payload_sha256: str
    record_id: str
    archive_base: str
    collection: str
    title: str | None = None
    author: str | None = None
    site_name: str | None = None
    published: str | None = None
    text_sha256: str | None = None
    archive_name: str = ""  # the archive's name as citations print it; default: its host
    # Where the capture log proves it (`cite --evidence`): entry, tree head, time-stamp time.
    log_evidence: str | None = None

    @property
    def timestamp(self) -> str:
        """The 14-digit UTC timestamp of replay URLs (YYYYMMDDhhmmss)."""
        return timestamp14(self.fetched_at)

    @property
    def archived_url(self) -> str:
        return f"{self.archive_base.rstrip('/')}/{self.collection}/{self.timestamp}/{self.url}"

    @property
    def captured(self) -> str:
        return self.fetched_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    @property
    def display_title(self) -> str:
        return self.title or self.url

    @property
    def site(self) -> str:
        return self.site_name or urlsplit(self.url).hostname or self.url

    @property
    def authors(self) -> list[Author]:
        return authors(self.author)

    @property
    def archive(self) -> str:
        return self.archive_name or urlsplit(self.archive_base).hostname or self.archive_base

    @property
    def year(self) -> int:
        """The publication's year, else the capture's: every format gives one."""
        issued = _date_parts(self.published)
        return issued[0] if issued else self.fetched_at.year

    def digests(self) -> str:
        text = f"; clean text SHA-256 {self.text_sha256}" if self.text_sha256 else ""
        logged = f"; {self.log_evidence}" if self.log_evidence else ""
        return f"payload SHA-256 {self.payload_sha256}{text}{logged}"


def _date_parts(value: str | None) -> list[int] | None:
    match = _ISO_DATE.match(value or "")
    if not match:
        return None
    return [int(part) for part in match.groups() if part]


def text(facts: CitationFacts) -> str:
    parts = []
    if facts.authors:
        parts.append(", ".join(a.display for a in facts.authors) + ".")
    parts.append(f"“{facts.display_title.rstrip('.')}.”")
    published = f", {facts.published}" if facts.published else ""
    parts.append(f"{facts.site}{published}. {facts.url}.")
    parts.append(
        f"Archived {facts.captured} at {facts.archived_url} "
        f"(citation id {facts.short_id}; {facts.digests()})."
    )
    return " ".join(parts)


def _latex(value: str) -> str:
    def escape(match: re.Match[str]) -> str:
        special, tilde, caret, _backslash = match.groups()
        if special == "{":  # not \{: BibTeX tools that count braces (pybtex) take it for one
            return "\\textbraceleft{}"
        if special == "}":
            return "\\textbraceright{}"
        if special:
            return "\\" + special
        if tilde:
            return "\\textasciitilde{}"
        if caret:
            return "\\textasciicircum{}"
        return "\\textbackslash{}"

    return _LATEX_SPECIALS.sub(escape, value)


def _braced_url(value: str) -> str:
    """A URL inside a BibTeX field: braces balanced, nothing else touched."""
    return value.replace("{", "%7B").replace("}", "%7D")


def _bibtex_name(author: Author) -> str:
    if not author.is_person:
        return "{" + _latex(author.literal) + "}"  # braced: BibTeX never splits it
    family = "{" + _latex(author.family) + "}" if " " in author.family else _latex(author.family)
    parts = [family, _latex(author.suffix)] if author.suffix else [family]
    return ", ".join([*parts, _latex(author.given)])


def bibtex(facts: CitationFacts) -> str:
    """A biblatex `@online` entry (BibTeX's styles read it too): url is the archived copy,
    urldate the capture date, date the publication's and year always there."""
    fields = [("title", "{" + _latex(facts.display_title) + "}")]
    if facts.authors:
        fields.append(("author", " and ".join(_bibtex_name(a) for a in facts.authors)))
    fields.append(("organization", _latex(facts.site)))
    if facts.published:
        fields.append(("date", facts.published))
    fields.append(("year", str(facts.year)))
    fields.append(("url", _braced_url(facts.archived_url)))
    fields.append(("urldate", facts.captured[:10]))
    original = _latex(
        facts.url
    )  # text, not \\url: tools that parse fields as LaTeX take % for a comment
    note = (
        f"Original URL {original}; archived {facts.captured} by {_latex(facts.archive)}, "
        f"citation id {facts.short_id}"
    )
    fields.append(("note", f"{note}; {_latex(facts.digests())}"))
    body = "".join(f"  {name} = {{{value}}},\n" for name, value in fields)
    return f"@online{{stablecopy-{facts.short_id},\n{body}}}"


def _csl_name(author: Author) -> dict[str, str]:
    if not author.is_person:
        return {"literal": author.literal}
    name = {"family": author.family, "given": author.given}
    if author.suffix:
        name["suffix"] = author.suffix
    return name


def csl_json(facts: CitationFacts) -> str:
    """CSL-JSON, as Zotero and citation-js read it: URL is the archived copy (what styles print),
    archive the archive's name, archive_location the citation id, accessed the capture date."""
    item: dict[str, object] = {
        "id": facts.short_id,
        "type": "article-newspaper" if facts.published else "webpage",
        "title": facts.display_title,
        "container-title": facts.site,
        "URL": facts.archived_url,
        "accessed": {
            "date-parts": [[facts.fetched_at.year, facts.fetched_at.month, facts.fetched_at.day]],
            "raw": facts.captured,
        },
        "archive": facts.archive,
        "archive_location": facts.short_id,
        "note": (
            f"Original URL: {facts.url}; archived {facts.captured}; citation id "
            f"{facts.short_id}; {facts.digests()}; WARC-Record-ID {facts.record_id}"
        ),
    }
    if facts.authors:
        item["author"] = [_csl_name(a) for a in facts.authors]
    issued = _date_parts(facts.published)
    item["issued"] = {"date-parts": [issued or [facts.fetched_at.year]]}
    return json.dumps([item], ensure_ascii=False, indent=2, sort_keys=True)


def _ris_name(author: Author) -> str:
    if not author.is_person:
        return author.literal  # no comma: one field, as Zotero reads an institution
    return ", ".join(p for p in (author.family, author.given, author.suffix) if p)


def ris(facts: CitationFacts) -> str:
    lines = [("TY", "NEWS" if facts.published else "ELEC"), ("TI", facts.display_title)]
    lines.extend(("AU", _ris_name(a)) for a in facts.authors)
    lines.append(("T2", facts.site))
    issued = _date_parts(facts.published)
    lines.append(("PY", str(facts.year)))
    if issued:
        lines.append(("DA", "/".join(f"{part:02d}" for part in issued) + "/"))
    lines.append(("UR", facts.archived_url))
    lines.append(("Y2", facts.captured[:10].replace("-", "/") + "/"))
    lines.append(("DB", facts.archive))
    lines.append(("DP", "stablecopy"))
    lines.append(("AN", facts.short_id))
    lines.append(("N1", f"Original URL: {facts.url}; archived {facts.captured}; {facts.digests()}"))
    lines.append(("ER", ""))
    return "\n".join(f"{tag}  - {value}".rstrip() for tag, value in lines)


def robust_link(facts: CitationFacts) -> str:
    attributes = {
        "href": facts.archived_url,
        "data-originalurl": facts.url,
        "data-versionurl": facts.archived_url,
        "data-versiondate": facts.captured,
        "data-citation-id": facts.short_id,
        "data-payload-sha256": facts.payload_sha256,
        "data-text-sha256": facts.text_sha256 or "",
    }
    if facts.log_evidence:
        attributes["data-capture-log"] = facts.log_evidence
    names = ", ".join(a.display for a in facts.authors)
    byline = ", ".join(part for part in (facts.site, names, facts.published) if part)
    rendered = " ".join(
        f'{name}="{html.escape(value, quote=True)}"' for name, value in attributes.items()
    )
    label = html.escape(f"{facts.display_title} — {byline}", quote=False)
    return f"<a {rendered}>{label}</a>"


def render(facts: CitationFacts, fmt: str) -> str:
    renderers = {
        "text": text,
        "bibtex": bibtex,
        "csl-json": csl_json,
        "ris": ris,
        "robust-link": robust_link,
    }
    if fmt not in renderers:
        raise ValueError(f"unknown citation format {fmt!r} (one of {', '.join(FORMATS)})")
    return renderers[fmt](facts)

"""Full-text search over clean texts, titles, authors and URLs: SQLite's FTS5 or PostgreSQL's
text search (migration 0009 builds both and triggers keep them in step with `search_texts`),
with snippets, filters and pages.

The words a person types are never FTS syntax: on SQLite each word or "quoted phrase" becomes a
quoted FTS5 phrase (all must match); on PostgreSQL `websearch_to_tsquery` reads them.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from stablecopy.catalog.models import Capture, Extraction, SearchText
from stablecopy.catalog.types import UTCDateTime

PER_PAGE = 20
# On SQLite, when every word of a query is in more texts than this, hits come newest first: BM25
# would score every match (a word in each of a million texts: 4-5 s), the newest are read at once.
BROAD = 20_000
MAX_PAGE = 50  # deeper than this, a person refines the query; offsets stay cheap
START, STOP = "\x02", "\x03"  # snippet marks, never in text (control characters are not kept)
_TOKENS = re.compile(r'"[^"]*"|\S+')


@dataclass(frozen=True)
class SearchFilter:
    query: str
    site: str | None = None  # a host name
    since: datetime | None = None
    until: datetime | None = None
    crawl_id: int | None = None
    language: str | None = None
    changed_only: bool = False
    page: int = 1


@dataclass(frozen=True)
class Hit:
    capture_id: int
    short_id: str | None
    url: str
    title: str | None
    author: str | None
    fetched_at: datetime
    crawl_id: int
    snippet_html: str  # escaped, with <mark> around the matched words


def fts5_query(words: str) -> str:
    """A person's words as an FTS5 query: every word or quoted phrase, each a quoted phrase."""
    phrases = []
    for token in _TOKENS.findall(words):
        bare = token.strip('"').strip()
        if bare:
            phrases.append('"' + bare.replace('"', '""') + '"')
    return " ".join(phrases)


def _broad(session: Session, words: str, broad: int) -> bool:
    """Whether every word of the query is in more than `broad` texts (FTS5's own term counts)."""
    terms = {word.lower() for word in re.findall(r"\w+", words)}
    if not terms:
        return False
    found: dict[str, int] = dict(session.execute(
        text("SELECT term, doc FROM search_fts_vocab WHERE term IN "
             f"({', '.join(f':t{n}' for n in range(len(terms)))})"),
        {f"t{n}": term for n, term in enumerate(sorted(terms))},
    ).all())  # fmt: skip
    return len(found) == len(terms) and min(found.values()) > broad


def _marked(snippet: str | None) -> str:
    escaped = html.escape(snippet or "", quote=False)
    return escaped.replace(START, "<mark>").replace(STOP, "</mark>")


def search(session: Session, wanted: SearchFilter, broad: int = BROAD) -> tuple[list[Hit], bool]:
    """One page of hits, best first (on SQLite, newest first when every word is in more than
    `broad` texts), and whether there is a next page."""
    dialect = session.get_bind().dialect.name
    page = min(max(wanted.page, 1), MAX_PAGE)
    params: dict[str, Any] = {"limit": PER_PAGE + 1, "offset": (page - 1) * PER_PAGE}
    where = []
    if wanted.site:
        host = wanted.site.strip().lower()
        for n, form in enumerate(("http://{}/%", "https://{}/%", "http://{}:%", "https://{}:%")):
            params[f"site{n}"] = form.format(host)  # with or without a port
        where.append("(" + " OR ".join(f"c.url LIKE :site{n}" for n in range(4)) + ")")
    if wanted.since:
        params["since"] = UTCDateTime().process_bind_param(wanted.since, session.get_bind().dialect)
        where.append("c.fetched_at >= :since")
    if wanted.until:
        params["until"] = UTCDateTime().process_bind_param(wanted.until, session.get_bind().dialect)
        where.append("c.fetched_at <= :until")
    if wanted.crawl_id:
        params["crawl_id"] = wanted.crawl_id
        where.append("c.crawl_id = :crawl_id")
    if wanted.language:
        params["language"] = wanted.language.strip().lower() + "%"
        where.append("lower(s.language) LIKE :language")
    if wanted.changed_only:  # captured before, with another text: a page that changed
        where.append(
            "EXISTS (SELECT 1 FROM captures p JOIN extractions pe ON pe.capture_id = p.id "
            "WHERE p.url_key = c.url_key AND p.url = c.url AND p.fetched_at < c.fetched_at "
            "AND pe.text_sha256 IS NOT NULL AND pe.text_sha256 <> e.text_sha256)"
        )
    filters = "".join(f" AND {clause}" for clause in where)
    if dialect == "sqlite":
        params["q"] = fts5_query(wanted.query)
        if not params["q"]:
            return [], False
        order = "search_fts.rowid DESC" if _broad(session, wanted.query, broad) else (
            "bm25(search_fts, 10.0, 5.0, 3.0, 1.0), c.id")  # fmt: skip
        sql = (
            "SELECT c.id, snippet(search_fts, 3, :start, :stop, '…', 24) FROM search_fts "
            "JOIN search_texts s ON s.capture_id = search_fts.rowid "
            "JOIN captures c ON c.id = s.capture_id JOIN extractions e ON e.capture_id = c.id "
            f"WHERE search_fts MATCH :q{filters} ORDER BY {order} "
            "LIMIT :limit OFFSET :offset"
        )
    else:
        params["q"] = wanted.query
        if not wanted.query.strip():
            return [], False
        sql = (
            "SELECT c.id, ts_headline('simple', s.body, websearch_to_tsquery('simple', :q), "
            "'StartSel=' || :start || ', StopSel=' || :stop || ', MaxWords=35, MinWords=15') "
            "FROM search_texts s JOIN captures c ON c.id = s.capture_id "
            "JOIN extractions e ON e.capture_id = c.id "
            f"WHERE s.tsv @@ websearch_to_tsquery('simple', :q){filters} "
            "ORDER BY ts_rank(s.tsv, websearch_to_tsquery('simple', :q)) DESC, c.id "
            "LIMIT :limit OFFSET :offset"
        )
    params.update(start=START, stop=STOP)
    rows = session.execute(text(sql), params).all()
    more = len(rows) > PER_PAGE
    rows = rows[:PER_PAGE]
    captures = {
        capture.id: capture
        for capture in session.scalars(select(Capture).where(Capture.id.in_([r[0] for r in rows])))
    }
    hits = []
    seen: set[tuple[str, str | None]] = set()
    for capture_id, snippet in rows:
        capture = captures[capture_id]
        extraction = capture.extraction
        same = (capture.url, extraction.text_sha256 if extraction else None)
        if same in seen:
            continue  # the same text of the same URL, captured again: one hit (its timeline has all)
        seen.add(same)
        hits.append(Hit(
            capture_id, capture.short_id, capture.url,
            extraction.title if extraction else None, extraction.author if extraction else None,
            capture.fetched_at, capture.crawl_id, _marked(snippet),
        ))  # fmt: skip
    return hits, more


def unfilled(session: Session, limit: int = 500) -> list[Capture]:
    """Captures whose search row lacks its text (catalogued before search existed)."""
    return list(
        session.scalars(
            select(Capture)
            .join(SearchText, SearchText.capture_id == Capture.id)
            .join(Extraction, Extraction.capture_id == Capture.id)
            .where(SearchText.body == "", Extraction.text_length > 0)
            .order_by(Capture.id)
            .limit(limit)
        )
    )


def fill(session: Session, capture: Capture, body: str) -> None:
    search_row = session.get(SearchText, capture.id)
    if search_row is not None:
        search_row.body = body


def languages(session: Session) -> list[str]:
    """The languages pages declared, for the search form's choice."""
    found = session.scalars(
        select(SearchText.language).where(SearchText.language.is_not(None)).distinct().limit(50)
    )
    return sorted({language for language in found if language})

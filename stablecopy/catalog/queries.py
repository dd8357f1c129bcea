"""Read-side queries over the catalogue, as the CLI and researchers' scripts need them."""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import (
    CTE,
    ColumnElement,
    Row,
    Select,
    and_,
    bindparam,
    func,
    or_,
    select,
    true,
    union,
)
from sqlalchemy.orm import Session, aliased, joinedload

from stablecopy.catalog.keys import catalogued_url, url_key
from stablecopy.catalog.models import ACTIVE_STATUSES, Capture, Crawl, Extraction, RequisiteLink
from stablecopy.provenance import shortid

ROWS_PER_FETCH = 1000

# What a new fetch is compared with, as plain rows: built once, so a crawl asking for every URL
# it fetches pays neither statement building nor ORM loading.
_PRIOR_COLUMNS = (
    Capture.id, Capture.url, Capture.record_type, Capture.status, Capture.fetched_at,
    Capture.payload_sha256, Capture.payload_digest, Capture.payload_length, Capture.truncated,
    Capture.record_id, Capture.warc_file, Capture.warc_offset, Capture.warc_length,
    Capture.refers_to_id, Capture.etag, Capture.last_modified,
)  # fmt: skip
_LATEST_OF_URL = (
    select(*_PRIOR_COLUMNS)
    .where(
        Capture.url_key == bindparam("url_key"),
        Capture.url == bindparam("url"),
        Capture.method == "GET",
    )
    .order_by(Capture.fetched_at.desc())
    .limit(1)
)
_LATEST_OF_PAYLOAD = (
    select(*_PRIOR_COLUMNS)
    .where(Capture.payload_sha256 == bindparam("sha256"), Capture.record_type == "response")
    .order_by(Capture.fetched_at.desc())
    .limit(1)
)
_CAPTURE_BY_ID = select(*_PRIOR_COLUMNS).where(Capture.id == bindparam("id"))
CaptureRow = Row[*tuple[Any, ...]]  # _PRIOR_COLUMNS, by name


def no_captures(session: Session) -> bool:
    """Whether the catalogue holds no capture at all (of any crawl)."""
    return session.scalar(select(Capture.id).limit(1)) is None


def _captures(url: str | None, crawl_id: int | None) -> Select[Capture]:
    query = select(Capture).options(joinedload(Capture.extraction))
    if url is not None:
        url = catalogued_url(url)
        query = query.where(Capture.url_key == url_key(url), Capture.url == url)
    if crawl_id is not None:
        query = query.where(Capture.crawl_id == crawl_id)
    return query


def list_captures(
    session: Session,
    url: str | None = None,
    crawl_id: int | None = None,
    limit: int | None = None,
) -> Sequence[Capture]:
    """Captures (with their extraction), oldest first, optionally of one URL or one crawl."""
    query = _captures(url, crawl_id).order_by(Capture.id)
    if limit is not None:
        query = query.limit(limit)
    return session.scalars(query).unique().all()


def get_capture(session: Session, capture_id: int) -> Capture | None:
    return session.scalars(_captures(None, None).where(Capture.id == capture_id)).unique().first()


def record_is_catalogued(session: Session, record_id: str) -> bool:
    """Whether `record_id` is a catalogued capture's response or revisit record (indexed)."""
    found = session.scalar(select(Capture.id).where(Capture.record_id == record_id).limit(1))
    return found is not None


def captures_lacking_text(session: Session) -> Iterator[Capture]:
    """Whole HTML pages (2xx GET responses, not cut short) of crawls no longer running whose clean
    text was never made or failed (`error`): what a repair makes late."""
    query = (
        select(Capture)
        .join(Crawl, Crawl.id == Capture.crawl_id)
        .outerjoin(Extraction, Extraction.capture_id == Capture.id)
        .where(
            Capture.record_type == "response",
            Capture.method == "GET",
            Capture.status >= 200,
            Capture.status < 300,
            Capture.truncated.is_(None),
            func.lower(Capture.content_type).like("%html%"),
            or_(Extraction.id.is_(None), Extraction.status == "error"),
            Crawl.status.not_in(ACTIVE_STATUSES),
        )
        .order_by(Capture.id)
    )
    return iter(session.scalars(query).all())


def key_range(prefix: str) -> tuple[str, str] | None:
    """The SURT keys of every URL that starts with `prefix`, as [low, high), or None when the
    prefix has no path to anchor the key on (`https://news.example` also begins
    `https://news.example.org/`) or a query (SURT sorts query arguments)."""
    parts = urlsplit(prefix)
    if not parts.scheme or not parts.netloc or not parts.path.startswith("/") or "?" in prefix:
        return None
    low = url_key(prefix)
    if not low or ")" not in low:
        return None
    # A path prefix that ends mid-segment keeps its SURT as a prefix of longer paths' keys; the
    # trailing slash SURT adds to a bare host is kept (a bare host's prefix ends in "/").
    return low, low[:-1] + chr(ord(low[-1]) + 1)


def _has_content() -> ColumnElement[bool]:
    """A capture a reader can follow: a 2xx answer, a redirect that names its target, or a revisit
    (of a whole response: a 304 included)."""
    return or_(
        and_(Capture.status >= 200, Capture.status < 300),
        and_(Capture.status >= 300, Capture.status < 400, Capture.redirect_to.is_not(None)),
        Capture.record_type == "revisit",
    )


def nearest_capture(
    session: Session, url: str, at: datetime | None = None, content: bool = False
) -> Capture | None:
    """The capture of `url` nearest to `at` (the latest when `at` is None); with `content`, only
    captures with content (see _has_content): no error page, no failed answer."""
    base = _captures(url, None)
    if content:
        base = base.where(_has_content())
    if at is None:
        return session.scalars(base.order_by(Capture.fetched_at.desc()).limit(1)).unique().first()
    before = (
        session.scalars(
            base.where(Capture.fetched_at <= at).order_by(Capture.fetched_at.desc()).limit(1)
        )
        .unique()
        .first()
    )
    after = (
        session.scalars(
            base.where(Capture.fetched_at > at).order_by(Capture.fetched_at.asc()).limit(1)
        )
        .unique()
        .first()
    )
    if before is None or after is None:
        return before or after
    return before if at - before.fetched_at <= after.fetched_at - at else after


def citable_capture(
    session: Session, url: str, at: datetime | None = None, hops: int = 5, content: bool = True
) -> Capture | None:
    """The capture to cite for `url`: the nearest one with content (with `content`; else the
    nearest whatever its status), through any redirect it recorded."""
    capture = nearest_capture(session, url, at, content)
    while hops and capture is not None and 300 <= capture.status < 400 and capture.redirect_to:
        target = nearest_capture(session, capture.redirect_to, capture.fetched_at, content)
        if target is None:
            break
        capture, hops = target, hops - 1
    return capture


def _variants(url: str) -> Iterator[str]:
    """`url` with and without a trailing slash, in the other scheme, with and without `www.`."""
    parts = urlsplit(url)
    path = parts.path or "/"
    paths = [path[:-1] if path.endswith("/") and len(path) > 1 else path + "/", path]
    host = parts.netloc
    hosts = [host, host[4:] if host.startswith("www.") else "www." + host]
    schemes = [parts.scheme, "https" if parts.scheme == "http" else "http"]
    for scheme in schemes:
        for netloc in hosts:
            for variant in paths:
                candidate = urlunsplit((scheme, netloc, variant, parts.query, ""))
                if candidate != url:
                    yield candidate


def near_url(session: Session, url: str) -> str | None:
    """A catalogued URL that differs from `url` only by a trailing slash, its scheme or `www.`:
    the hint when `url` itself was never captured."""
    url = catalogued_url(url)
    for candidate in _variants(url):
        query = select(Capture.id).where(
            Capture.url_key == url_key(candidate), Capture.url == candidate
        )
        if session.scalar(query.limit(1)) is not None:
            return candidate
    return None


def find_capture(session: Session, reference: str) -> Capture | None:
    """A capture by its number or its citation id (XXXX-XXXX, any case)."""
    if reference.strip().isdigit():
        return get_capture(session, int(reference))
    short = shortid.normalise(reference)
    if short is None:
        return None
    query = _captures(None, None).where(Capture.short_id == short)
    return session.scalars(query).unique().first()


@dataclass(frozen=True)
class CaptureFilter:
    """Which captures a command is about; all of them when nothing is set.

    `with_originals` adds the original of every selected revisit, which a package or an index
    needs so that the revisit can be replayed; `with_requisites` adds what the selected documents
    needed to render (their requisites, and theirs, as their crawl captured them).
    """

    crawl_id: int | None = None
    url: str | None = None
    url_prefix: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    with_originals: bool = False
    with_requisites: bool = False

    @property
    def everything(self) -> bool:
        return all(value is None for key, value in asdict(self).items() if key not in _ADDING)

    def describe(self) -> str:
        """The selection in words, for package descriptions ("crawl_id=3, url_prefix=...")."""
        chosen = {k: v for k, v in asdict(self).items() if v is not None and k not in _ADDING}
        return ", ".join(f"{k}={v}" for k, v in chosen.items())

    def _conditions(self, entity: type[Capture]) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = [true()]
        if self.crawl_id is not None:
            conditions.append(entity.crawl_id == self.crawl_id)
        if self.url is not None:
            url = catalogued_url(self.url)
            conditions += [entity.url_key == url_key(url), entity.url == url]
        if self.url_prefix is not None:
            keys = key_range(self.url_prefix)
            if keys is not None:  # an index range; the URL test below keeps it exact
                conditions += [entity.url_key >= keys[0], entity.url_key < keys[1]]
            conditions.append(entity.url.startswith(self.url_prefix, autoescape=True))
        if self.since is not None:
            conditions.append(entity.fetched_at >= self.since)
        if self.until is not None:
            conditions.append(entity.fetched_at <= self.until)
        return conditions

    def clause(self) -> ColumnElement[bool]:
        selected = and_(*self._conditions(Capture))
        if not (self.with_originals or self.with_requisites) or self.everything:
            return selected
        # One id list from index-served selects: `selected OR id IN (originals)` would read the
        # whole table (an OR across two indexes), at any size of the selection.
        picked, revisit = aliased(Capture), aliased(Capture)
        if self.with_requisites:
            needed = _with_requisites(
                select(picked.id.label("id")).where(*self._conditions(picked))
            )
            chosen = select(needed.c.id)
            originals = select(revisit.refers_to_id).where(
                revisit.id.in_(select(needed.c.id)), revisit.refers_to_id.is_not(None)
            )
            return Capture.id.in_(union(chosen, originals))
        chosen = select(picked.id).where(*self._conditions(picked))
        originals = select(revisit.refers_to_id).where(
            *self._conditions(revisit), revisit.refers_to_id.is_not(None)
        )
        return Capture.id.in_(union(chosen, originals))


_ADDING = ("with_originals", "with_requisites")  # what a selection adds, not what it selects


def _with_requisites(chosen: Select[int]) -> CTE:
    """The ids `chosen` selects and, recursively, those of the captures their requisite links
    name (same URL, same crawl: by the SURT-key index), as a recursive CTE (a column `id`)."""
    needed = chosen.cte("needed", recursive=True)
    link, child = aliased(RequisiteLink), aliased(Capture)
    step = (
        select(child.id)
        .select_from(needed)
        .join(link, link.parent_id == needed.c.id)
        .join(
            child,
            and_(
                child.url_key == link.url_key,
                child.url == link.url,
                child.crawl_id == link.crawl_id,
            ),
        )
    )
    return needed.union(step)


@dataclass(frozen=True)
class ExpectedRecord:
    """A record the catalogue says is at (warc_file, offset), and what it should hold."""

    warc_file: str
    offset: int
    length: int | None
    kind: str  # response | revisit | request | conversion | metadata
    record_id: str
    capture_id: int
    url: str | None = None
    fetched_at: datetime | None = None
    payload_sha256: str | None = None
    payload_digest: str | None = None
    block_digest: str | None = None


def _expected_responses(session: Session, where: ColumnElement[bool]) -> Iterator[ExpectedRecord]:
    query = (  # the columns in ExpectedRecord's order
        select(Capture.warc_file, Capture.warc_offset, Capture.warc_length, Capture.record_type,
               Capture.record_id, Capture.id, Capture.url, Capture.fetched_at,
               Capture.payload_sha256, Capture.payload_digest, Capture.block_digest)
        .where(where)
        .order_by(Capture.warc_file, Capture.warc_offset)
    )  # fmt: skip
    for row in session.execute(query.execution_options(yield_per=ROWS_PER_FETCH)):
        yield ExpectedRecord(*row)


def _expected_requests(session: Session, where: ColumnElement[bool]) -> Iterator[ExpectedRecord]:
    query = (
        select(Capture.warc_file, Capture.request_offset, Capture.request_length,
               Capture.request_record_id, Capture.id)
        .where(where, Capture.request_offset.is_not(None))
        .order_by(Capture.warc_file, Capture.request_offset)
    )  # fmt: skip
    for warc_file, offset, length, record_id, capture_id in session.execute(
        query.execution_options(yield_per=ROWS_PER_FETCH)
    ):
        yield ExpectedRecord(warc_file, int(offset or 0), length, "request", record_id, capture_id)


def _expected_texts(
    session: Session, where: ColumnElement[bool], kind: str
) -> Iterator[ExpectedRecord]:
    if kind == "conversion":
        columns = (Extraction.conversion_file, Extraction.conversion_offset,
                   Extraction.conversion_length, Extraction.conversion_record_id)  # fmt: skip
    else:
        columns = (Extraction.metadata_file, Extraction.metadata_offset,
                   Extraction.metadata_length, Extraction.metadata_record_id)  # fmt: skip
    query = (
        select(*columns, Extraction.capture_id, Extraction.text_sha256)
        .join(Capture, Capture.id == Extraction.capture_id)
        .where(where, columns[0].is_not(None))
        .order_by(columns[0], columns[1])
    )
    for warc_file, offset, length, record_id, capture_id, text_sha256 in session.execute(
        query.execution_options(yield_per=ROWS_PER_FETCH)
    ):
        yield ExpectedRecord(
            str(warc_file), int(offset or 0), length, kind, str(record_id), capture_id,
            payload_sha256=text_sha256 if kind == "conversion" else None,
        )  # fmt: skip


def expected_records(
    session: Session, selection: CaptureFilter, warc_file: str | None = None
) -> Iterator[ExpectedRecord]:
    """Every catalogued record of the selected captures, ordered by (file, offset), streamed."""
    where = selection.clause()
    if warc_file is not None:
        where = where & (Capture.warc_file == warc_file)
    text_where = selection.clause()
    streams = [
        _expected_responses(session, where),
        _expected_requests(session, where),
    ]
    for kind in ("conversion", "metadata"):
        kind_where = text_where
        if warc_file is not None:
            column = (
                Extraction.conversion_file if kind == "conversion" else Extraction.metadata_file
            )
            kind_where = kind_where & (column == warc_file)
        streams.append(_expected_texts(session, kind_where, kind))
    yield from heapq.merge(*streams, key=lambda record: (record.warc_file, record.offset))


def selected_captures(session: Session, selection: CaptureFilter) -> Iterator[Capture]:
    """The selected captures with their extractions, streamed: in time order for a selection by
    time (read along the fetched_at index), else in file order."""
    timed = selection.since is not None or selection.until is not None
    order = (Capture.fetched_at, Capture.id) if timed else (Capture.warc_file, Capture.warc_offset)
    query = (
        select(Capture)
        .options(
            joinedload(Capture.extraction),
            joinedload(Capture.original).joinedload(Capture.extraction),
        )
        .where(selection.clause())
        .order_by(*order)
        .execution_options(yield_per=ROWS_PER_FETCH)
    )
    yield from session.scalars(query)  # a one-to-one joined load needs no unique()


def captures_by_key(session: Session, selection: CaptureFilter) -> Iterator[Capture]:
    """The selected captures in CDXJ order: SURT key bytewise, then time, streamed."""
    key = Capture.url_key
    if session.get_bind().dialect.name == "postgresql":
        key = key.collate("C")  # type: ignore[assignment]
    query = (
        select(Capture)
        .options(joinedload(Capture.original))
        .where(selection.clause())
        .order_by(key, Capture.fetched_at)
        .execution_options(yield_per=ROWS_PER_FETCH)
    )
    yield from session.scalars(query)


def latest_capture(
    session: Session, url: str, payload_sha256: str | None = None
) -> CaptureRow | None:
    """The latest GET of `url` (or, given a digest, the latest whole response with that payload),
    as a row with the columns a new fetch is compared with."""
    connection = session.connection()  # plain SQL: no flush, no ORM
    if payload_sha256 is None:
        params = {"url_key": url_key(url), "url": url}
        return connection.execute(_LATEST_OF_URL, params).first()
    return connection.execute(_LATEST_OF_PAYLOAD, {"sha256": payload_sha256}).first()


def original_capture(session: Session, revisit: CaptureRow) -> CaptureRow | None:
    """The capture a revisit row stands for, with the same columns."""
    if revisit.refers_to_id is None:
        return None
    return session.connection().execute(_CAPTURE_BY_ID, {"id": revisit.refers_to_id}).first()


def text_capture_of(session: Session, crawl_id: int, path_suffix: str) -> int | None:
    """The id of a capture of crawl `crawl_id` whose URL ends with `path_suffix` and that has
    clean text."""
    return session.scalar(
        select(Capture.id)
        .join(Extraction)
        .where(Capture.crawl_id == crawl_id, Capture.url.endswith(path_suffix))
    )

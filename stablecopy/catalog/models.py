"""The catalogue's tables: crawls, captures, failed fetches, extractions, WARC files.

A capture row says exactly where its response record is (file relative to the data directory,
offset and length of its gzip member) and what its digests were when written. Schema changes go
through Alembic migrations (stablecopy/catalog/migrations), never `create_all`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    event,
    text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from stablecopy.catalog.fitting import fit_row
from stablecopy.catalog.types import UTCDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Lengths bound what other tools may write too (record IDs are URIs; digests carry a label).
RECORD_ID = 255
DIGEST = 160


class CrawlStatus(StrEnum):
    """Where a crawl stands; stored as its value (the `crawls.status` column is a string)."""

    STARTING = "starting"  # a row made before its process runs (scheduled, shared)
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # stopped or killed; `crawl --resume` continues it


# The statuses of a crawl whose process may still be at work.
ACTIVE_STATUSES = (CrawlStatus.STARTING, CrawlStatus.RUNNING)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# Whatever a server sent fits the catalogue (catalog/fitting.py): every table, inserts and updates.
event.listen(Base, "before_insert", fit_row, propagate=True)
event.listen(Base, "before_update", fit_row, propagate=True)


class Crawl(Base):
    """One run of the crawler: what it was asked to do, with what software, and how it went."""

    __tablename__ = "crawls"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))  # a CrawlStatus
    finish_reason: Mapped[str | None] = mapped_column(String(64))
    seeds: Mapped[list[str]] = mapped_column(JSON)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    software: Mapped[dict[str, str]] = mapped_column(JSON)
    worker: Mapped[str] = mapped_column(String(255))  # host:pid that started it
    captures: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    write_errors: Mapped[int] = mapped_column(Integer, default=0)
    warc_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    extracted: Mapped[int] = mapped_column(Integer, default=0)
    # A scheduled run: its schedule, what changed since the pages' previous captures, any error.
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("schedules.id"), index=True)
    pages_new: Mapped[int] = mapped_column(Integer, default=0)
    pages_changed: Mapped[int] = mapped_column(Integer, default=0)
    pages_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    pages_failed: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class Capture(Base):
    """One archived response (with its request record alongside, in the same file)."""

    __tablename__ = "captures"
    __table_args__ = (
        # Latest capture of a URL and its TimeMap: one range scan, newest first.
        Index(None, "url_key", "fetched_at"),
        # Revisit lookups by payload digest only ever want whole responses.
        Index(
            "ix_captures_payload_sha256_responses",
            "payload_sha256",
            sqlite_where=text("record_type = 'response'"),
            postgresql_where=text("record_type = 'response'"),
        ),
        # Time ranges: captures arrive in time order, so BRIN on PostgreSQL stays a few pages.
        Index(None, "fetched_at", postgresql_using="brin"),
        Index(None, "warc_file", "warc_offset"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    crawl_id: Mapped[int] = mapped_column(ForeignKey("crawls.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    # SURT form, for lookups by URL and prefix; in byte order on PostgreSQL too (as CDXJ sorts)
    url_key: Mapped[str] = mapped_column(Text().with_variant(Text(collation="C"), "postgresql"))
    method: Mapped[str] = mapped_column(String(16))
    status: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(Text)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the WARC-Date: when it began
    record_type: Mapped[str] = mapped_column(String(16))  # response | revisit
    payload_sha256: Mapped[str] = mapped_column(String(64))
    payload_digest: Mapped[str] = mapped_column(String(DIGEST))  # as written in the WARC
    block_digest: Mapped[str] = mapped_column(String(DIGEST))  # as written in the WARC
    payload_length: Mapped[int] = mapped_column(BigInteger)
    truncated: Mapped[str | None] = mapped_column(String(16))  # WARC-Truncated, when cut
    ip_address: Mapped[str | None] = mapped_column(String(64))
    redirect_to: Mapped[str | None] = mapped_column(Text)
    warc_file: Mapped[str] = mapped_column(Text)  # relative to the data directory
    warc_offset: Mapped[int] = mapped_column(BigInteger)
    warc_length: Mapped[int] = mapped_column(BigInteger)
    record_id: Mapped[str] = mapped_column(String(RECORD_ID), unique=True)
    request_record_id: Mapped[str] = mapped_column(String(RECORD_ID))
    # The request record sits in the same file as the response, just before it.
    request_offset: Mapped[int | None] = mapped_column(BigInteger)
    request_length: Mapped[int | None] = mapped_column(BigInteger)
    # Perma-style citation id (XXXX-XXXX), derived once from record_id and never changed.
    short_id: Mapped[str | None] = mapped_column(String(9), unique=True)
    # A revisit stands for the payload of an earlier capture (identical digest, or HTTP 304).
    revisit_profile: Mapped[str | None] = mapped_column(String(32))
    refers_to_id: Mapped[int | None] = mapped_column(ForeignKey("captures.id"), index=True)
    # Validators the server sent, for the next crawl's conditional request.
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    # What it was fetched as, when a document needed it (stylesheet, image, embed...); None: a page.
    requisite: Mapped[str | None] = mapped_column(String(16))

    extraction: Mapped[Extraction | None] = relationship(back_populates="capture")
    search: Mapped[SearchText | None] = relationship(back_populates="capture")
    original: Mapped[Capture | None] = relationship(remote_side="Capture.id")

    @property
    def payload_capture(self) -> Capture:
        """The capture whose record holds this one's payload (and clean text): itself, or the
        original a revisit stands for."""
        if self.record_type == "revisit" and self.original is not None:
            return self.original
        return self


class RequisiteLink(Base):
    """One URL an archived document (page, embedded document, stylesheet) needs to render.

    The requisite's own capture is the crawl's capture of `url` (a redirect's is linked to where it
    leads, as its own requisite), or its failed or skipped fetch; `skipped` says why it was never
    requested (an ad host, a stream...).
    """

    __tablename__ = "requisites"

    id: Mapped[int] = mapped_column(primary_key=True)
    crawl_id: Mapped[int] = mapped_column(ForeignKey("crawls.id"))
    parent_id: Mapped[int] = mapped_column(ForeignKey("captures.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    # SURT form of url (as Capture.url_key): the documents that needed a capture, by index
    url_key: Mapped[str] = mapped_column(
        Text().with_variant(Text(collation="C"), "postgresql"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    skipped: Mapped[str | None] = mapped_column(Text)

    parent: Mapped[Capture] = relationship()


class FetchFailure(Base):
    """A fetch that got no response at all: nothing archived, the error recorded."""

    __tablename__ = "fetch_failures"
    # Failed fetches of a URL (history); hash on PostgreSQL, whose btree refuses keys over 2.7 kB.
    __table_args__ = (Index(None, "url", postgresql_using="hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    crawl_id: Mapped[int] = mapped_column(ForeignKey("crawls.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    method: Mapped[str] = mapped_column(String(16))
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    error_type: Mapped[str] = mapped_column(String(128))
    message: Mapped[str] = mapped_column(Text)


class Extraction(Base):
    """The clean text of a capture: outcome, metadata, and where its conversion record is."""

    __tablename__ = "extractions"

    id: Mapped[int] = mapped_column(primary_key=True)
    capture_id: Mapped[int] = mapped_column(ForeignKey("captures.id"), unique=True)
    extracted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))  # ok | empty | not-html | error
    error: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    published: Mapped[str | None] = mapped_column(String(64))  # as the page states it
    language: Mapped[str | None] = mapped_column(String(64))  # as the page declares it
    site_name: Mapped[str | None] = mapped_column(Text)
    text_sha256: Mapped[str | None] = mapped_column(String(64))
    text_length: Mapped[int] = mapped_column(Integer)
    removed_consent_elements: Mapped[int] = mapped_column(Integer)
    extractor: Mapped[str] = mapped_column(String(64))
    extractor_version: Mapped[str] = mapped_column(String(64))
    options: Mapped[dict[str, Any]] = mapped_column(JSON)
    conversion_record_id: Mapped[str | None] = mapped_column(String(RECORD_ID))
    conversion_file: Mapped[str | None] = mapped_column(Text, index=True)
    conversion_offset: Mapped[int | None] = mapped_column(BigInteger)
    conversion_length: Mapped[int | None] = mapped_column(BigInteger)
    metadata_record_id: Mapped[str] = mapped_column(String(RECORD_ID))
    metadata_file: Mapped[str | None] = mapped_column(Text, index=True)
    metadata_offset: Mapped[int | None] = mapped_column(BigInteger)
    metadata_length: Mapped[int | None] = mapped_column(BigInteger)

    capture: Mapped[Capture] = relationship(back_populates="extraction")


class WarcFile(Base):
    """A closed WARC file and the SHA-256 of its bytes when it was closed."""

    __tablename__ = "warc_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    crawl_id: Mapped[int | None] = mapped_column(ForeignKey("crawls.id"), index=True)
    path: Mapped[str] = mapped_column(Text, unique=True)  # relative to the data directory
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    records: Mapped[int] = mapped_column(Integer)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Its copy in object storage (s3://bucket/key), uploaded and read back with the same SHA-256.
    store_uri: Mapped[str | None] = mapped_column(Text)
    stored_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FixityRun(Base):
    """One run of `stablecopy verify`: what it covered and how it came out."""

    __tablename__ = "fixity_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(16))  # records | files
    scope: Mapped[dict[str, Any]] = mapped_column(JSON)  # the filters it ran with
    agent: Mapped[str] = mapped_column(String(255))  # software and version that checked
    files_checked: Mapped[int] = mapped_column(Integer, default=0)
    records_checked: Mapped[int] = mapped_column(Integer, default=0)
    bytes_read: Mapped[int] = mapped_column(BigInteger, default=0)
    findings: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str | None] = mapped_column(String(16))  # intact | failed


class FixityEvent(Base):
    """A PREMIS-style fixity check of one object: when, what, algorithm, expected, observed, outcome."""

    __tablename__ = "fixity_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("fixity_runs.id"), index=True)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    object_kind: Mapped[str] = mapped_column(String(16))  # capture | record | file
    capture_id: Mapped[int | None] = mapped_column(ForeignKey("captures.id"), index=True)
    warc_file: Mapped[str | None] = mapped_column(Text)
    offset: Mapped[int | None] = mapped_column(BigInteger)
    record_id: Mapped[str | None] = mapped_column(String(RECORD_ID))
    algorithm: Mapped[str] = mapped_column(String(16))  # SHA-256
    expected: Mapped[str | None] = mapped_column(String(DIGEST))
    observed: Mapped[str | None] = mapped_column(String(DIGEST))
    outcome: Mapped[str] = mapped_column(String(8))  # pass | fail
    finding: Mapped[str | None] = mapped_column(String(32))  # what differs, when it failed
    detail: Mapped[str | None] = mapped_column(Text)


class Schedule(Base):
    """A recurring crawl: what to capture, how, and when; runs are crawls that point back here."""

    __tablename__ = "schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    seeds: Mapped[list[str]] = mapped_column(JSON)
    follow: Mapped[bool] = mapped_column(default=False)
    depth: Mapped[int] = mapped_column(Integer, default=1)
    allow: Mapped[list[str]] = mapped_column(JSON)
    deny: Mapped[list[str]] = mapped_column(JSON)
    settings: Mapped[dict[str, str]] = mapped_column(JSON)  # extra -s KEY=VALUE for its crawls
    every_seconds: Mapped[int | None] = mapped_column(Integer)
    cron: Mapped[str | None] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    notify_url: Mapped[str | None] = mapped_column(Text)
    notify_cmd: Mapped[str | None] = mapped_column(Text)
    # The run in progress: who claimed it and until when (a lease the runner keeps renewing).
    claimed_by: Mapped[str | None] = mapped_column(String(255))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    running_crawl_id: Mapped[int | None] = mapped_column(Integer)


class LogLeaf(Base):
    """One entry of the capture log (RFC 9162 Merkle tree): what was committed, in its canonical
    bytes, at its position. Appended in the transaction that catalogues its subject; never changed."""

    __tablename__ = "log_leaves"
    __table_args__ = (Index(None, "kind", "subject", unique=True),)

    leaf_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16))  # capture | text | warc-file
    subject: Mapped[str] = mapped_column(Text)  # a record id, or a WARC file's path
    capture_id: Mapped[int | None] = mapped_column(ForeignKey("captures.id"), index=True)
    leaf: Mapped[str] = mapped_column(Text)  # canonical JSON, the bytes hashed
    leaf_hash: Mapped[str] = mapped_column(String(64))  # hex of SHA-256(0x00 || leaf)
    appended_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LogNode(Base):
    """A complete inner subtree of the capture log: level L, index i covers leaves
    [i * 2^L, (i + 1) * 2^L). Written once, when its last leaf is appended."""

    __tablename__ = "log_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(64))


class LogState(Base):
    """The capture log's size: the one row appenders lock, so leaves get consecutive positions."""

    __tablename__ = "log_state"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)


class TreeHeadRow(Base):
    """A signed tree head of the capture log."""

    __tablename__ = "tree_heads"

    id: Mapped[int] = mapped_column(primary_key=True)
    tree_size: Mapped[int] = mapped_column(BigInteger, index=True)
    root_hash: Mapped[str] = mapped_column(String(64))  # hex
    timestamp: Mapped[int] = mapped_column(BigInteger)  # milliseconds since the epoch
    signature: Mapped[str] = mapped_column(Text)  # base64 Ed25519 over RFC 6962's structure
    key_id: Mapped[str] = mapped_column(String(64))
    crawl_id: Mapped[int | None] = mapped_column(ForeignKey("crawls.id"))
    record_id: Mapped[str | None] = mapped_column(
        String(RECORD_ID)
    )  # its WARC record, once archived

    tokens: Mapped[list[TimestampToken]] = relationship(back_populates="tree_head")


class TimestampToken(Base):
    """An RFC 3161 time-stamp over a signed tree head, from one time-stamping authority."""

    __tablename__ = "timestamp_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    tree_head_id: Mapped[int] = mapped_column(ForeignKey("tree_heads.id"), index=True)
    tsa_url: Mapped[str] = mapped_column(Text)
    token: Mapped[bytes] = mapped_column(LargeBinary)  # the DER TimeStampResp as received
    gen_time: Mapped[datetime] = mapped_column(UTCDateTime)
    tsa_name: Mapped[str | None] = mapped_column(Text)
    record_id: Mapped[str | None] = mapped_column(
        String(RECORD_ID)
    )  # its WARC record, once archived

    tree_head: Mapped[TreeHeadRow] = relationship(back_populates="tokens")


class SearchText(Base):
    """What search reads of a capture with clean text: its text, title, author, URL, site and
    language. On SQLite an FTS5 table follows it (triggers); on PostgreSQL `tsv` holds its
    tsvector, under a GIN index (both made by migration 0009)."""

    __tablename__ = "search_texts"

    capture_id: Mapped[int] = mapped_column(ForeignKey("captures.id"), primary_key=True,
                                            autoincrement=False)  # fmt: skip
    url: Mapped[str] = mapped_column(Text)
    site: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    tsv: Mapped[Any] = mapped_column(Text().with_variant(TSVECTOR(), "postgresql"), nullable=True)

    capture: Mapped[Capture] = relationship(back_populates="search")


class User(Base):
    """Someone who may sign in to `stablecopy web` and change schedules and runs."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)  # argon2id, as argon2-cffi writes it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

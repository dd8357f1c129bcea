"""The facts stablecopy's components tell each other on signals: small frozen dataclasses.

This is where the archive layer (warcio) and the catalogue (SQLAlchemy) meet without importing each
other: the archive sends what it wrote and where, the catalogue records it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from stablecopy.extract.result import ExtractResult
from stablecopy.requisites.requisite import Requisite

# The error type of a fetch not made, or stopped, on purpose (a requisite too large, a stream,
# forbidden by robots.txt): its message says why.
SKIPPED_FETCH = "skipped"


@dataclass(frozen=True)
class RecordLocation:
    """Where one record sits: a WARC path relative to the data directory, and its gzip member."""

    warc_file: str
    offset: int
    length: int


@dataclass(frozen=True)
class CrawlOpened:
    crawl_id: int


@dataclass(frozen=True)
class Captured:
    """One fetch, archived as a request and a response record in the same WARC file."""

    url: str
    method: str
    fetched_at: datetime
    status: int
    content_type: str | None
    payload_sha256: str
    payload_digest: str
    block_digest: str
    payload_length: int
    truncated: str | None
    ip_address: str | None
    record_id: str
    request_record_id: str
    location: RecordLocation
    request_location: RecordLocation
    redirect_to: str | None = None
    record_type: str = "response"  # or "revisit"
    revisit_profile: str | None = None  # identical-payload-digest | server-not-modified
    refers_to: str | None = None  # the original's record id, for a revisit
    etag: str | None = None
    last_modified: str | None = None
    requisite: str | None = None  # the kind of requisite it was fetched as; None for a page


@dataclass(frozen=True)
class PriorCaptureQuery:
    """Asks the catalogue for the capture a new fetch is compared with.

    With `payload_sha256` unset: the latest capture of `url`. With it set: the latest capture of
    any URL whose payload has that SHA-256 (revisits across URLs, by setting).
    """

    url: str
    payload_sha256: str | None = None


@dataclass(frozen=True)
class ArchivedResponseQuery:
    """Asks the catalogue what a crawl being resumed already holds for `url`."""

    url: str
    crawl_id: int


@dataclass(frozen=True)
class ArchivedResponse:
    """A fetch a resumed crawl made before: its record (HTTP status and headers), the record holding
    its payload when that is another (a revisit's original), and whether its text is made."""

    record_id: str
    location: RecordLocation
    payload_location: RecordLocation | None = None
    revisit_profile: str | None = None
    truncated: str | None = None
    has_text: bool = False


@dataclass(frozen=True)
class PriorCapture:
    """An earlier capture: its payload-bearing record (the original, for a revisit) and the
    validators its server sent."""

    record_id: str
    url: str
    fetched_at: datetime
    status: int
    payload_sha256: str
    payload_digest: str
    payload_length: int
    location: RecordLocation
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class FetchFailed:
    """A fetch that ended without any response to archive."""

    url: str
    method: str
    failed_at: datetime
    error_type: str
    message: str


@dataclass(frozen=True)
class ExtractedText:
    """Clean text extracted from the response archived as `record_id`."""

    record_id: str
    url: str
    result: ExtractResult


@dataclass(frozen=True)
class ArchivedText:
    """An extraction, archived: a conversion record (when there was text) and a metadata record."""

    record_id: str
    url: str
    result: ExtractResult
    text_sha256: str | None
    conversion_record_id: str | None
    conversion: RecordLocation | None
    metadata_record_id: str
    metadata: RecordLocation
    archived_at: datetime | None = None  # the metadata record's WARC-Date, when read back


@dataclass(frozen=True)
class WarcFileStored:
    """A finished WARC file uploaded to the store and read back with the same SHA-256."""

    warc_file: str
    store_uri: str
    stored_at: datetime


@dataclass(frozen=True)
class WarcFileClosed:
    """A finished WARC file under its final name, with the SHA-256 of its bytes."""

    warc_file: str
    size: int
    sha256: str
    records: int
    opened_at: datetime
    closed_at: datetime


@dataclass(frozen=True)
class RequisitesFound:
    """What the document archived as `record_id` needs to render: each requisite's URL, kind, and
    why it is not fetched, if it is not. Fetched ones are captured (or fail) like any fetch."""

    record_id: str
    url: str
    requisites: tuple[Requisite, ...]

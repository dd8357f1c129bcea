"""After a crash: closing WARC files a killed writer left `.open`, and reading back what they hold.

A killed writer can leave a file whose last gzip member is cut short, or whose last group (a request
without its response, a clean text without its metadata) is incomplete. Closing keeps every complete
group, moves the bytes after it aside (never deletes them) and renames the file to its final name.
Reading back turns a file's records into the same events a live crawl announces, so the catalogue
can record what a crash kept it from recording. Knows nothing of the catalogue.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urljoin

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders

from stablecopy.archive.fixity import READ_CHUNK, Damage, RecordFacts, file_sha256, scan
from stablecopy.archive.records import RESOURCE_TYPE, REVISIT_PROFILES
from stablecopy.archive.writer import OPEN_SUFFIX
from stablecopy.events import ArchivedText, Captured, RecordLocation
from stablecopy.extract.result import ExtractResult, ExtractStatus
from stablecopy.labels import label_hex, sha256_label

PARTIAL_SUFFIX = ".partial"
# The record types a group starts with, and the type that must follow to complete it.
_GROUP_ENDS = {"request": ("response", "revisit"), "conversion": ("metadata",)}
_PROFILES = {uri: name for name, uri in REVISIT_PROFILES.items()}


class RecoveryError(OSError):
    """A file that cannot be closed safely (its final name is taken, say)."""


@dataclass(frozen=True)
class ClosedAbandoned:
    """What closing an abandoned file did."""

    path: Path  # its final name
    size: int
    sha256: str
    records: int
    cut: int  # bytes moved aside
    aside: Path | None  # where they went
    damaged_inside: bool  # a damaged record before the end was left in place (verify names it)
    opened_at: datetime
    closed_at: datetime


def _keep(items: list[RecordFacts | Damage], size: int) -> tuple[int, int, bool]:
    """(bytes to keep, records kept, damage left inside) for a file's scan."""
    records = [item for item in items if isinstance(item, RecordFacts)]
    last_good = max((r.offset + r.length for r in records), default=0)
    damaged_inside = any(isinstance(i, Damage) and i.offset < last_good for i in items)
    keep = last_good
    kept = [r for r in records if r.offset + r.length <= keep]
    if kept and kept[-1].record_type in _GROUP_ENDS:  # a group whose second half never came
        keep = kept[-1].offset
        kept = kept[:-1]
    return min(keep, size), len(kept), damaged_inside


def _opened_at(path: Path) -> datetime:
    """The time a stablecopy WARC file was opened, from its name (its mtime if not ours)."""
    parts = path.name.split("-")
    for part in parts:
        if len(part) == 20 and part.isdigit():
            return datetime.strptime(part, "%Y%m%d%H%M%S%f").replace(tzinfo=UTC)
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def _move_aside(handle: BinaryIO, start: int, target: Path) -> int:
    """Copy the bytes from `start` to `target`, durably, before the file is cut (a repair killed
    half-way and run again writes the same copy again)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle.seek(start)
    moved = 0
    partial = target.with_name(target.name + ".tmp")
    with partial.open("wb") as out:
        while chunk := handle.read(READ_CHUNK):
            out.write(chunk)
            moved += len(chunk)
        out.flush()
        os.fsync(out.fileno())
    partial.replace(target)
    return moved


def close_abandoned(path: Path, aside_dir: Path) -> ClosedAbandoned | None:
    """Close a `.open` WARC file no live process holds; None if one does (it is being written)."""
    final = path.with_name(path.name.removesuffix(OPEN_SUFFIX))
    with path.open("r+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None
        if final.exists():
            raise RecoveryError(f"cannot close {path.name}: {final.name} already exists")
        size = os.fstat(handle.fileno()).st_size
        keep, records, damaged_inside = _keep(list(scan(path)), size)
        aside = None
        cut = 0
        if keep < size:
            aside = aside_dir / f"{final.name}.{keep}{PARTIAL_SUFFIX}"
            cut = _move_aside(handle, keep, aside)
            handle.truncate(keep)
        os.fsync(handle.fileno())
        path.rename(final)
    directory = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    sha256, size = file_sha256(final)
    return ClosedAbandoned(
        path=final,
        size=size,
        sha256=sha256,
        records=records,
        cut=cut,
        aside=aside,
        damaged_inside=damaged_inside,
        opened_at=_opened_at(final),
        closed_at=datetime.now(UTC),
    )


# --- reading records back ----------------------------------------------------------------------


def _date(value: str | None) -> datetime:
    if not value:
        return datetime.now(UTC)
    return datetime.fromisoformat(value).astimezone(UTC)


def _fields(block: bytes) -> dict[str, str]:
    """application/warc-fields as a dict (the first value of each name)."""
    fields: dict[str, str] = {}
    for line in block.decode("utf-8", "replace").splitlines():
        name, sep, value = line.partition(":")
        if sep:
            fields.setdefault(name.strip(), value.strip())
    return fields


def _payload(record: ArcWarcRecord) -> tuple[str, int]:
    digest = hashlib.sha256()
    length = 0
    while chunk := record.raw_stream.read(READ_CHUNK):
        digest.update(chunk)
        length += len(chunk)
    return digest.hexdigest(), length


def _header(record: ArcWarcRecord, name: str) -> str | None:
    if record.http_headers is None:
        return None
    value = record.http_headers.get_header(name)
    return str(value) if value else None


@dataclass(frozen=True)
class _Request:
    method: str
    location: RecordLocation


@dataclass(frozen=True)
class _Conversion:
    record_id: str
    location: RecordLocation
    text: str
    sha256: str


def crawl_id_of(path: Path) -> int | None:
    """The stablecopy crawl a WARC file belongs to, from its warcinfo record (None if not ours)."""
    try:
        with path.open("rb") as handle:
            for record in ArchiveIterator(handle):
                if record.rec_type != "warcinfo":
                    return None
                value = _fields(record.raw_stream.read()).get("stablecopy-crawl-id", "")
                return int(value) if value.isdigit() else None
    except (OSError, ArchiveLoadFailed, ValueError):
        return None
    return None


def archived_events(path: Path, relative: str) -> Iterator[Captured | ArchivedText]:
    """The captures and clean texts a WARC file holds, as the crawl announced them when it wrote
    them (file `relative` to the data directory), in file order."""
    requests: dict[str, _Request] = {}
    conversions: dict[str, _Conversion] = {}
    with path.open("rb") as handle:
        records = ArchiveIterator(handle, no_record_parse=False)
        for record in records:
            kind = record.rec_type
            headers = record.rec_headers
            record_id = str(headers.get_header("WARC-Record-ID"))
            url = str(headers.get_header("WARC-Target-URI") or "")
            if kind in ("response", "revisit"):
                payload_sha256, payload_length = _payload(record)
            elif kind in ("conversion", "metadata"):
                block = record.raw_stream.read()
            else:
                record.raw_stream.read()
            records.read_to_end()
            where = RecordLocation(
                relative, records.get_record_offset(), records.get_record_length()
            )
            if kind == "request":
                method = record.http_headers.protocol if record.http_headers else "GET"
                requests[record_id] = _Request(str(method), where)
            elif kind in ("response", "revisit"):
                yield _captured(
                    record, url, record_id, where, requests, payload_sha256, payload_length
                )
            elif kind == "conversion":
                digest = str(headers.get_header("WARC-Payload-Digest") or "")
                conversions[record_id] = _Conversion(
                    record_id, where, block.decode("utf-8"), label_hex(digest)
                )
            elif kind == "metadata":
                text = _archived_text(url, headers, _fields(block), where, conversions)
                if text is not None:
                    yield text


def _captured(
    record: ArcWarcRecord,
    url: str,
    record_id: str,
    where: RecordLocation,
    requests: dict[str, _Request],
    payload_sha256: str,
    payload_length: int,
) -> Captured:
    headers = record.rec_headers
    revisit = record.rec_type == "revisit"
    request_id = str(headers.get_header("WARC-Concurrent-To") or "")
    request = requests.get(request_id)
    status = record.http_headers.get_statuscode() if record.http_headers else "0"
    payload_digest = str(headers.get_header("WARC-Payload-Digest") or "")
    location = _header(record, "Location")
    return Captured(
        url=url,
        method=request.method if request else "GET",
        fetched_at=_date(headers.get_header("WARC-Date")),
        status=int(status) if str(status).isdigit() else 0,
        content_type=_header(record, "Content-Type"),
        payload_sha256=label_hex(payload_digest) if revisit else payload_sha256,
        payload_digest=payload_digest or sha256_label(payload_sha256),
        block_digest=str(headers.get_header("WARC-Block-Digest") or ""),
        payload_length=payload_length,
        truncated=None if revisit else headers.get_header("WARC-Truncated"),
        ip_address=headers.get_header("WARC-IP-Address"),
        record_id=record_id,
        request_record_id=request_id,
        location=where,
        request_location=request.location if request else RecordLocation(where.warc_file, 0, 0),
        redirect_to=urljoin(url, location) if location else None,
        record_type=record.rec_type,
        revisit_profile=_PROFILES.get(str(headers.get_header("WARC-Profile") or "")),
        refers_to=headers.get_header("WARC-Refers-To") if revisit else None,
        etag=_header(record, "ETag"),
        last_modified=_header(record, "Last-Modified"),
        requisite=headers.get_header(RESOURCE_TYPE),
    )


def _archived_text(
    url: str,
    headers: StatusAndHeaders,
    fields: dict[str, str],
    where: RecordLocation,
    conversions: dict[str, _Conversion],
) -> ArchivedText | None:
    """An extraction from its metadata record (and the conversion record it names)."""
    get = headers.get_header
    response_id = get("WARC-Refers-To")
    if not response_id or "extraction-status" not in fields:
        return None
    conversion = conversions.get(fields.get("conversion-record", ""))
    options = dict(
        part.split("=", 1)
        for part in fields.get("extractor-options", "").split("; ")
        if "=" in part
    )
    try:
        status = ExtractStatus(fields["extraction-status"])
    except ValueError:
        return None
    result = ExtractResult(
        status=status,
        extractor=fields.get("extractor", ""),
        extractor_version=fields.get("extractor-version", ""),
        options=dict(options),
        text=conversion.text if conversion else "",
        title=fields.get("title") or None,
        author=fields.get("author") or None,
        published=fields.get("published") or None,
        language=fields.get("language") or None,
        site_name=fields.get("site-name") or None,
        description=fields.get("description") or None,
        error=fields.get("extraction-error") or None,
        removed_consent_elements=int(fields.get("removed-consent-elements", "0") or 0),
    )
    return ArchivedText(
        record_id=str(response_id),
        url=url,
        result=result,
        text_sha256=conversion.sha256 if conversion else None,
        conversion_record_id=conversion.record_id if conversion else None,
        conversion=conversion.location if conversion else None,
        metadata_record_id=str(get("WARC-Record-ID")),
        metadata=where,
        archived_at=_date(get("WARC-Date")),
    )


def abandoned_files(warc_dir: Path) -> list[Path]:
    return sorted(warc_dir.glob(f"*{OPEN_SUFFIX}")) if warc_dir.is_dir() else []

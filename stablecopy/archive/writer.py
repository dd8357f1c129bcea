"""WARC files on disk: naming, a warcinfo record at the head of each file, gzip per record, rollover.

A file is written as `<name>.warc.gz.open` and renamed to `<name>.warc.gz` only once closed, so a crash
never leaves a file that looks complete. Records of one group (a request and its response) always
land in the same file. Knows nothing of Scrapy or of the catalogue.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import re
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from warcio.recordloader import ArcWarcRecord
from warcio.warcwriter import BaseWARCWriter

from stablecopy.archive.deflate import DEFAULT_CODEC, GzipCodec
from stablecopy.archive.records import BuiltRecord, DigestPolicy, new_record_id, warcinfo_record

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)

OPEN_SUFFIX = ".open"
WARC_SUFFIX = ".warc.gz"
_UNSAFE = re.compile(r"[^a-z0-9._-]+")


def finished_files(warc_dir: Path) -> list[Path]:
    """The closed WARC files of a directory, in name order (which is the order they were begun)."""
    return sorted(warc_dir.glob(f"*{WARC_SUFFIX}")) if warc_dir.is_dir() else []


def safe_name_part(value: str) -> str:
    """A file-name component using only a-z, 0-9, '.', '_' and '-' (valid WACZ member names)."""
    return _UNSAFE.sub("-", value.lower()).strip("-.") or "x"


def warc_filename(prefix: str, opened_at: datetime, serial: int, pid: int, host: str) -> str:
    stamp = opened_at.astimezone(UTC).strftime("%Y%m%d%H%M%S%f")
    return (
        f"{safe_name_part(prefix)}-{stamp}-{serial:05d}-{pid}-{safe_name_part(host)}{WARC_SUFFIX}"
    )


class _GzipMember:
    """A file-like sink that turns everything written to it into one gzip member."""

    def __init__(self, codec: GzipCodec) -> None:
        self._compressor = codec.compressor()
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> None:
        self._parts.append(self._compressor.compress(data))

    def flush(self) -> None:
        self._parts.append(self._compressor.flush())

    def getvalue(self) -> bytes:
        return b"".join(self._parts)


class _MemberSerializer(DigestPolicy, BaseWARCWriter):
    """warcio's record serialiser, writing each record as a gzip member with a chosen codec."""

    def __init__(self, codec: GzipCodec) -> None:
        super().__init__(gzip=False, warc_version="1.1")
        self.codec = codec

    def member(self, record: ArcWarcRecord) -> bytes:
        out = _GzipMember(self.codec)
        self._write_warc_record(out, record)
        return out.getvalue()


@dataclass(frozen=True)
class Written:
    """Where one record landed: absolute path of the (final) file, offset and length of its member."""

    record_id: str
    path: Path
    offset: int
    length: int


@dataclass(frozen=True)
class ClosedFile:
    path: Path
    size: int
    sha256: str
    records: int
    opened_at: datetime
    closed_at: datetime


class WarcWriteError(OSError):
    """A record could not be written; the file was cut back to its last complete record."""


class _OpenFile:
    def __init__(self, path: Path, opened_at: datetime) -> None:
        self.final_path = path
        self.open_path = path.with_name(path.name + OPEN_SUFFIX)
        self.handle: BinaryIO = self.open_path.open("xb", buffering=0)
        # Held while the file is written: repair leaves alone a file some live process holds.
        fcntl.flock(self.handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        self.opened_at = opened_at
        self.size = 0
        self.records = 0
        self.sha256 = hashlib.sha256()
        self.warcinfo_id = ""

    def append(self, data: bytes) -> int:
        """Write `data` whole, or cut the file back to where it was and raise WarcWriteError."""
        offset = self.size
        try:
            view = memoryview(data)
            while view:
                written = self.handle.write(view)
                if not written:
                    raise OSError("write returned no progress")
                view = view[written:]
        except OSError as exc:
            try:
                self.handle.truncate(offset)
                self.handle.seek(offset)
            except OSError:
                logger.exception("could not cut %s back to %d bytes", self.open_path, offset)
            raise WarcWriteError(exc.errno, f"{exc.strerror or exc}: {self.open_path}") from exc
        self.size += len(data)
        self.sha256.update(data)
        return offset


class WarcWriter:
    """Rotating writer of gzip-per-record WARC/1.1 files in one directory.

    Args:
        directory: where files go (created if missing).
        prefix: first part of every file name.
        max_size: start a new file before a group of records would push the current one past this.
        warcinfo_fields: called with each new file's name; returns the warcinfo fields for it.
        gzip: how each record's gzip member is compressed.
        on_close: called with each finished file, after it has its final name.
    """

    def __init__(
        self,
        directory: Path,
        prefix: str,
        max_size: int,
        warcinfo_fields: Callable[[str], Iterable[tuple[str, str]]],
        gzip: GzipCodec = DEFAULT_CODEC,
        on_close: Callable[[ClosedFile], None] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        host: str | None = None,
        pid: int | None = None,
    ) -> None:
        self.directory = directory
        self.prefix = prefix
        self.max_size = max_size
        self._warcinfo_fields = warcinfo_fields
        self._serializer = _MemberSerializer(gzip)
        self._on_close = on_close
        self._clock = clock
        self._host = host or socket.gethostname()
        self._pid = pid if pid is not None else os.getpid()
        self._serial = 0
        self._file: _OpenFile | None = None

    @classmethod
    def from_settings(
        cls,
        settings: BaseSettings,
        directory: Path,
        warcinfo_fields: Callable[[str], Iterable[tuple[str, str]]],
        on_close: Callable[[ClosedFile], None] | None = None,
    ) -> WarcWriter:
        """A writer named, rolled over and compressed as STABLECOPY_WARC_* say."""
        return cls(
            directory=directory,
            prefix=settings.get("STABLECOPY_WARC_PREFIX"),
            max_size=settings.getint("STABLECOPY_WARC_MAX_SIZE"),
            gzip=GzipCodec.chosen(
                settings.get("STABLECOPY_WARC_GZIP_ENGINE"),
                settings.getint("STABLECOPY_WARC_GZIP_LEVEL"),
            ),
            warcinfo_fields=warcinfo_fields,
            on_close=on_close,
        )

    def reserve(self, size_hint: int) -> str:
        """Pick the file the next group goes to, for a group of about `size_hint` bytes.

        Starts a new file first when the group would push the current one past max_size (unless the
        current file holds nothing but its warcinfo). Returns that file's warcinfo record ID, which
        the group's records must carry. The hint is the uncompressed size, an upper bound in practice.
        """
        current = self._file
        if current and current.records > 1 and current.size + size_hint > self.max_size:
            self.close()
        return self._current().warcinfo_id

    def write(self, group: Sequence[BuiltRecord]) -> list[Written]:
        """Write records together, in one file, as consecutive gzip members; returns where they went."""
        members = [self._serializer.member(built.record) for built in group]
        target = self._current()
        offset = target.append(b"".join(members))
        target.records += len(members)
        placed = []
        for built, member in zip(group, members, strict=True):
            placed.append(Written(built.record_id, target.final_path, offset, len(member)))
            offset += len(member)
        return placed

    def sync(self) -> None:
        """Make every record written so far durable (fsync): before the catalogue points at it."""
        if self._file is not None:
            os.fsync(self._file.handle.fileno())

    def close(self) -> ClosedFile | None:
        """Finish the current file: flush, fsync, rename to its final name."""
        current, self._file = self._file, None
        if current is None:
            return None
        os.fsync(current.handle.fileno())
        current.handle.close()
        current.open_path.rename(current.final_path)
        _fsync_directory(current.final_path.parent)
        closed = ClosedFile(
            path=current.final_path,
            size=current.size,
            sha256=current.sha256.hexdigest(),
            records=current.records,
            opened_at=current.opened_at,
            closed_at=self._clock(),
        )
        if self._on_close:
            self._on_close(closed)
        return closed

    def _current(self) -> _OpenFile:
        if self._file is None:
            self._file = self._open()
        return self._file

    def _open(self) -> _OpenFile:
        self.directory.mkdir(parents=True, exist_ok=True)
        opened_at = self._clock()
        name = warc_filename(self.prefix, opened_at, self._serial, self._pid, self._host)
        self._serial += 1
        opened = _OpenFile(self.directory / name, opened_at)
        info = warcinfo_record(name, self._warcinfo_fields(name), new_record_id(), opened_at)
        try:
            opened.append(self._serializer.member(info.record))
        except WarcWriteError:
            opened.handle.close()
            opened.open_path.unlink(missing_ok=True)
            raise
        opened.records = 1
        opened.warcinfo_id = info.record_id
        logger.info("opened WARC file %s", opened.open_path)
        return opened


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

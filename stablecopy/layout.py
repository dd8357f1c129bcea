"""Where a data directory keeps things: WARC files, the SQLite catalogue, crawl logs.

The catalogue stores WARC paths relative to the data directory, so a data directory can be moved or
copied whole. This module only computes paths; it neither creates nor opens anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

WARC_SUBDIR = "warcs"
LOG_SUBDIR = "logs"
SQLITE_NAME = "stablecopy.db"


class UnsafePathError(ValueError):
    """A stored relative path would lead outside the data directory."""


@dataclass(frozen=True)
class DataLayout:
    """The paths of one data directory, all absolute."""

    root: Path
    db_url: str

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> DataLayout:
        return cls.create(settings.get("STABLECOPY_DATA_DIR"), settings.get("STABLECOPY_DB_URL"))

    @classmethod
    def create(cls, data_dir: str | Path, db_url: str | None = None) -> DataLayout:
        root = Path(data_dir).expanduser().absolute()
        return cls(root=root, db_url=db_url or f"sqlite:///{root / SQLITE_NAME}")

    @property
    def warc_dir(self) -> Path:
        return self.root / WARC_SUBDIR

    @property
    def log_dir(self) -> Path:
        return self.root / LOG_SUBDIR

    @property
    def tmp_dir(self) -> Path:
        """Files a crawl needs only while it runs (requests waiting on disk)."""
        return self.root / "tmp"

    def relative(self, path: Path) -> str:
        """The catalogue form of a file inside the data directory: a POSIX path relative to it."""
        return PurePosixPath(path.absolute().relative_to(self.root)).as_posix()

    def resolve(self, relative: str) -> Path:
        """The absolute path of a catalogued relative path; refuses anything leaving the data dir."""
        pure = PurePosixPath(relative)
        if pure.is_absolute() or ".." in pure.parts or "\\" in relative or not pure.parts:
            raise UnsafePathError(f"refusing path outside the data directory: {relative!r}")
        return self.root.joinpath(*pure.parts)

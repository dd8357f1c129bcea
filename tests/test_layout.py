"""Data-directory paths: relative in the catalogue, never leading outside the data directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from stablecopy.layout import DataLayout, UnsafePathError


@pytest.mark.sqlite_only
def test_defaults_put_everything_under_the_data_directory(tmp_path: Path) -> None:
    layout = DataLayout.create(tmp_path / "data")
    assert layout.warc_dir == tmp_path / "data" / "warcs"
    assert layout.db_url == f"sqlite:///{tmp_path / 'data' / 'stablecopy.db'}"
    assert DataLayout.create(tmp_path, "postgresql+psycopg://x/y").db_url.startswith("postgresql")


def test_relative_paths_round_trip(tmp_path: Path) -> None:
    layout = DataLayout.create(tmp_path)
    path = layout.warc_dir / "a.warc.gz"
    assert layout.relative(path) == "warcs/a.warc.gz"
    assert layout.resolve("warcs/a.warc.gz") == path


@pytest.mark.parametrize(
    "stored", ["../outside.warc.gz", "/etc/passwd", "warcs/../../x", "warcs\\..\\x", ""]
)
def test_stored_paths_cannot_escape_the_data_directory(tmp_path: Path, stored: str) -> None:
    with pytest.raises(UnsafePathError):
        DataLayout.create(tmp_path).resolve(stored)

"""Where an export goes: written under a temporary name beside its target and renamed once whole,
so a killed export never leaves a file under the final name; a missing folder is an error, never
created in silence."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO


class ExportError(RuntimeError):
    """The export cannot be written: nothing selected, a WARC file missing, no folder, no room."""


def check_folder(target: Path) -> None:
    """ExportError unless the folder `target` goes into exists."""
    if not target.parent.is_dir():
        raise ExportError(f"the folder {target.parent} does not exist (create it first)")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def written_whole(target: Path) -> Iterator[TextIO]:
    """A text file that becomes `target` (renamed over it) only when the block ends without an
    error; until then it is `.NAME.*.partial` beside it, removed if the block fails."""
    check_folder(target)
    handle, partial = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".partial"
    )
    try:
        Path(partial).chmod(0o666 & ~_umask())  # as an ordinary new file, not mkstemp's 0600
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        Path(partial).replace(target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise

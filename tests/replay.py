"""Test helpers for replay: the pywb environment, a `stablecopy serve` process, plain HTTP fetches."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

ROOT = Path(__file__).parent.parent


def pywb() -> str:
    """The Python with pywb that `make test` prepared (STABLECOPY_PYWB_PYTHON, or .venv-pywb)."""
    given = os.environ.get("STABLECOPY_PYWB_PYTHON") or str(ROOT / ".venv-pywb" / "bin" / "python")
    if not Path(given).exists():
        raise RuntimeError("no pywb environment: run `make test`, which prepares .venv-pywb")
    return given


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


@dataclass(frozen=True)
class Fetched:
    status: int
    headers: Message
    body: bytes

    def read(self) -> bytes:
        return self.body


def fetch(url: str, headers: dict[str, str] | None = None, follow: bool = True) -> Fetched:
    opener = urllib.request.build_opener() if follow else urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with opener.open(request, timeout=30) as response:
            return Fetched(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Fetched(error.code, error.headers, error.read())


@dataclass
class Replay:
    """A running `stablecopy serve`: `base` is its collection URL (…/archive/)."""

    base: str
    data: Path
    process: subprocess.Popen[str]

    def url(self, path: str) -> str:
        """`path` on the replay server."""
        return self.base.removesuffix("/archive/") + path


@contextmanager
def serving(data: Path) -> Iterator[Replay]:
    """`stablecopy serve --port 0` over `data`, stopped when the block ends."""
    process = subprocess.Popen(
        [sys.executable, "-m", "stablecopy", "serve", "--port", "0", "--data-dir", str(data),
         "--pywb-python", pywb()],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.match(r"Replaying archive at (http://127\.0\.0\.1:\d+/archive/)$", line.strip())
        assert match, line + (process.stderr.read() if process.stderr else "")
        yield Replay(match.group(1), data, process)
    finally:
        process.terminate()
        process.communicate(timeout=30)

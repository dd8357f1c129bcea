"""The `stablecopy` command: a click group of thin commands over the library, one module per area.

Expected failures print one line, `Error: ...`, and exit with status 1; never a traceback.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from typing import NoReturn

from stablecopy.cli.group import cli

__all__ = ["cli", "main"]


def main() -> None:
    try:
        cli(prog_name="stablecopy")
    except SystemExit as done:
        _exit(done.code)


def _exit(code: str | int | None) -> NoReturn:
    """Leave without tearing the interpreter down module by module (after a crawl, 0.5-0.7 s of
    freeing what Scrapy, Twisted and SQLAlchemy loaded): once the command is done and no other
    thread runs, the exit handlers run (logging's flush among them), the output is flushed, and
    the process ends. With a thread still running, Python's own exit waits for it as usual."""
    if threading.active_count() > 1:
        raise SystemExit(code)
    atexit._run_exitfuncs()
    if code is None or isinstance(code, int):
        status = code or 0
    else:
        print(code, file=sys.stderr)
        status = 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe (`... | head`)
            stream.flush()
    os._exit(status)

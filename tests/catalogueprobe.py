"""Which tests open a catalogue, so that none escapes the PostgreSQL pass by lacking its marker.

An audit hook (no imports, so every process can afford it) notes each SQLite catalogue file a
process connects to in the log file SCTEST_CATALOGUE_LOG names. The pytest process points it at
one log per test; its subprocesses (the CLI, schedulers, their crawls) load the hook through
tests/subprocesses/sitecustomize.py. conftest.py fails a test that opened a catalogue in the
SQLite pass without the `catalogue` marker.
"""

from __future__ import annotations

import os
import sys
from typing import Any

ENV = "SCTEST_CATALOGUE_LOG"
_log: list[str] = []  # the current log file, when the hook is installed and pointed somewhere
_installed: list[bool] = []


def is_catalogue(database: object) -> bool:
    """A catalogue is an SQLite `*.db` file (stablecopy.db, or one given with --db); replay's
    `*.sqlite3` tables and Scrapyd's `dbs/` queues are not catalogues."""
    if isinstance(database, bytes):
        database = database.decode("utf-8", "replace")
    if not isinstance(database, str | os.PathLike):
        return False
    name = os.fspath(database)
    return isinstance(name, str) and name.endswith(".db") and "/dbs/" not in name


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if event != "sqlite3.connect" or not _log or not args or not is_catalogue(args[0]):
        return
    with open(_log[0], "a", encoding="utf-8") as log:  # noqa: PTH123 (no pathlib in a hook)
        log.write(f"{os.getpid()} {os.fspath(args[0])}\n")


def point_at(path: str | None) -> None:
    """Log to `path` from now on (None: stop logging); installs the hook on first use."""
    if not _installed:
        sys.addaudithook(_hook)
        _installed.append(True)
    _log.clear()
    if path:
        _log.append(path)


def install_from_environment() -> None:
    point_at(os.environ.get(ENV))


def opened(path: str) -> list[str]:
    """The catalogue files the log at `path` names, in the order first opened."""
    try:
        with open(path, encoding="utf-8") as log:  # noqa: PTH123
            lines = log.read().splitlines()
    except FileNotFoundError:
        return []
    return list(dict.fromkeys(line.split(" ", 1)[1] for line in lines if " " in line))

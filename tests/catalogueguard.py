"""The guard of the PostgreSQL pass (a pytest plugin): in the SQLite pass, a test that opens a
catalogue without the `catalogue` marker fails, so that it cannot silently miss PostgreSQL.

Each test gets a log of its own for tests/catalogueprobe.py's audit hook, in this process and, by
the environment, in every process it starts.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Generator
from pathlib import Path

import pytest

from tests import catalogueprobe

# Marks that answer for a test that opens a catalogue.
ACCOUNTED = ("catalogue", "sqlite_only", "own_postgres")
_LOG = pytest.StashKey[str]()
_FOLDER: list[Path] = []


def _guarded(config: pytest.Config) -> bool:
    return config.getoption("catalogue", "sqlite") == "sqlite"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None]:
    if not _guarded(item.config):
        return (yield)
    if not _FOLDER:
        _FOLDER.append(Path(tempfile.mkdtemp(prefix="sctest-probe-")))
    log = _FOLDER[0] / (hashlib.sha256(item.nodeid.encode()).hexdigest()[:32] + ".log")
    log.unlink(missing_ok=True)
    item.stash[_LOG] = str(log)
    os.environ[catalogueprobe.ENV] = str(log)
    catalogueprobe.point_at(str(log))
    try:
        return (yield)
    finally:
        catalogueprobe.point_at(None)
        os.environ.pop(catalogueprobe.ENV, None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """At teardown, a passing test that opened a catalogue and carries none of ACCOUNTED fails."""
    report = yield
    log = item.stash.get(_LOG, None)
    if call.when != "teardown" or log is None or not report.passed:
        return report
    if any(mark in item.keywords for mark in ACCOUNTED):
        return report
    opened = catalogueprobe.opened(log)
    if opened:
        report.outcome = "failed"
        report.longrepr = (
            f"{item.nodeid} opened a catalogue ({opened[0]}) but is not marked "
            "`catalogue`: mark it (pytest.mark.catalogue) so the PostgreSQL pass runs it"
        )
    return report

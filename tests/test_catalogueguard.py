"""The guard of the PostgreSQL pass: a test that opens a catalogue without the mark fails, in its
own process or in one it starts; a marked one, or one opening another SQLite file, passes."""

from __future__ import annotations

import pytest

SAMPLE = """
import sqlite3, subprocess, sys
import pytest

def test_unmarked(tmp_path):
    sqlite3.connect(tmp_path / "stablecopy.db").close()

def test_unmarked_in_a_process_it_starts(tmp_path):
    opening = f"import sqlite3; sqlite3.connect({str(tmp_path / 'catalogue.db')!r}).close()"
    subprocess.run([sys.executable, "-c", opening], check=True)

@pytest.mark.catalogue
def test_marked(tmp_path):
    sqlite3.connect(tmp_path / "stablecopy.db").close()

def test_replay_tables_are_not_catalogues(tmp_path):
    sqlite3.connect(tmp_path / "short-ids.sqlite3").close()
"""


@pytest.mark.sqlite_only
def test_an_unmarked_test_that_opens_a_catalogue_fails(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_sample=SAMPLE)
    pytester.makeini("[pytest]\nmarkers =\n    catalogue: opens a catalogue\n")
    result = pytester.runpytest_subprocess("-p", "tests.catalogueguard", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*test_unmarked opened a catalogue (*stablecopy.db) but is not marked `catalogue`*",
            "*test_unmarked_in_a_process_it_starts opened a catalogue (*catalogue.db)*",
        ]
    )

"""Loaded by every Python subprocess of a test run: the PostgreSQL pass's catalogue routing
(tests/pgcatalogue.py explains) and the probe that notes which tests open a catalogue
(tests/catalogueprobe.py)."""

import os

if os.environ.get("SCTEST_CATALOGUE_LOG"):
    try:
        from tests.catalogueprobe import install_from_environment

        install_from_environment()
    except ImportError:  # a Python that cannot see the tests (pywb's own virtualenv)
        pass

if os.environ.get("SCTEST_POSTGRES"):
    try:
        from tests.pgcatalogue import install

        install()
    except ImportError:  # a Python without stablecopy (pywb's own virtualenv)
        pass

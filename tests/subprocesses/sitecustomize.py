"""Loaded by every Python subprocess of the PostgreSQL test pass (tests/pgcatalogue.py explains)."""

import os

if os.environ.get("SCTEST_POSTGRES"):
    try:
        from tests.pgcatalogue import install

        install()
    except ImportError:  # a Python without stablecopy (pywb's own virtualenv)
        pass

"""stablecopy: an archival web scraper with provenance (Scrapy → WARC → clean text → catalogue)."""

import logging
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("stablecopy")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["__version__"]

"""stablecopy: an archival web scraper with provenance (Scrapy → WARC → clean text → catalogue)."""

from functools import cache

__all__ = ["__version__"]


@cache
def _version() -> str:
    # Looked up on first use: every interpreter in the virtualenv imports this package at start
    # (stablecopy-warcio.pth), and the metadata lookup costs tens of milliseconds.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("stablecopy")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0+unknown"


def __getattr__(name: str) -> str:
    if name == "__version__":
        return _version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

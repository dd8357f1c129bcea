"""The extraction job a crawl hands its worker processes: trafilatura is loaded where it runs.

The crawl process only names this function when it submits a page; workers (which preload
stablecopy.extract.text) run it. A crawl whose workers extract never loads trafilatura itself,
and one with extraction switched off never does either (0.2 s and some 5 MB at every start).
"""

from __future__ import annotations

from stablecopy.extract.options import ExtractOptions
from stablecopy.extract.result import ExtractResult


def extract(html: str, url: str, options: ExtractOptions) -> ExtractResult:
    """`extract_text(html, url, options)`, in whichever process calls it."""
    from stablecopy.extract.text import extract_text

    return extract_text(html, url, options)

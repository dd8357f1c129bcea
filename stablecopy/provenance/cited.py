"""What a citation of a catalogued capture says: its facts gathered from the catalogue rows."""

from __future__ import annotations

from stablecopy.catalog.models import Capture
from stablecopy.provenance.citation import CitationFacts


def citation_facts(
    capture: Capture,
    base_url: str,
    collection: str,
    archive_name: str = "",
    log_evidence: str | None = None,
) -> CitationFacts:
    """What a citation of `capture` says; a revisit is cited at its own time, with the title and
    text of the original whose payload it repeats."""
    extraction = capture.payload_capture.extraction
    return CitationFacts(
        short_id=capture.short_id or "",
        url=capture.url,
        fetched_at=capture.fetched_at,
        payload_sha256=capture.payload_sha256,
        record_id=capture.record_id,
        archive_base=base_url,
        collection=collection,
        title=extraction.title if extraction else None,
        author=extraction.author if extraction else None,
        site_name=extraction.site_name if extraction else None,
        published=extraction.published if extraction else None,
        text_sha256=extraction.text_sha256 if extraction else None,
        archive_name=archive_name,
        log_evidence=log_evidence,
    )

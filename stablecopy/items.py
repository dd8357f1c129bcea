"""Items: what a spider hands to the pipelines. One: an archived HTML page awaiting its clean text."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Page:
    """An HTML page whose response is archived as `record_id`.

    `html` carries the decoded markup to the extraction pipeline, which empties it and fills in what
    extraction found, so an exported feed (`scrapy crawl articles -o pages.jsonl`) stays small.
    """

    url: str
    record_id: str
    html: str | None = None
    decoding: str | None = None  # what was wrong with the body's declared encodings, if anything
    extraction_status: str | None = None
    title: str | None = None
    author: str | None = None
    published: str | None = None
    language: str | None = None

"""The outcome of extracting clean text from one page: text plus metadata, or a stated reason why not."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ExtractStatus(StrEnum):
    """What extraction made of a page."""

    OK = "ok"
    EMPTY = "empty"  # parsed, but no main text was found
    NOT_HTML = "not-html"  # the body is not markup (binary served as HTML, ...)
    ERROR = "error"  # the extractor raised, or its worker died; `error` says what
    TIMEOUT = "timeout"  # not done within STABLECOPY_EXTRACT_TIMEOUT
    TOO_LARGE = "too-large"  # larger than STABLECOPY_EXTRACT_MAX_SIZE: not attempted


@dataclass(frozen=True)
class ExtractResult:
    """Clean text and metadata of one page, as produced by one named extractor."""

    status: ExtractStatus
    extractor: str
    extractor_version: str
    options: dict[str, object] = field(default_factory=dict)
    text: str = ""
    title: str | None = None
    author: str | None = None
    published: str | None = None
    language: str | None = None
    site_name: str | None = None
    description: str | None = None
    error: str | None = None
    removed_consent_elements: int = 0
    consent_removals: tuple[str, ...] = ()  # each: what, which rule (and score), how much text

    @property
    def text_bytes(self) -> bytes:
        return self.text.encode("utf-8")

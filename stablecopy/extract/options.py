"""ExtractOptions, the extraction choices a crawl makes, and results stamped with them.

Every ExtractResult names the extractor, its version and the options that made it. Nothing here
loads trafilatura, so the crawl process can record an extraction that failed without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

from stablecopy.extract.consent import load_rules
from stablecopy.extract.result import ExtractResult, ExtractStatus

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

EXTRACTOR = "trafilatura"


@dataclass(frozen=True)
class ExtractOptions:
    """The few extraction choices stablecopy supports (from STABLECOPY_EXTRACT_* settings)."""

    favor_precision: bool = False
    include_tables: bool = True
    fast: bool = True
    consent_selector_files: tuple[str, ...] = ()
    consent_phrase_files: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> ExtractOptions:
        """The choices STABLECOPY_EXTRACT_* and STABLECOPY_CONSENT_* settings make."""
        return cls(
            favor_precision=settings.getbool("STABLECOPY_EXTRACT_FAVOR_PRECISION"),
            include_tables=settings.getbool("STABLECOPY_EXTRACT_INCLUDE_TABLES"),
            fast=settings.getbool("STABLECOPY_EXTRACT_FAST"),
            consent_selector_files=tuple(settings.getlist("STABLECOPY_CONSENT_SELECTOR_FILES")),
            consent_phrase_files=tuple(settings.getlist("STABLECOPY_CONSENT_PHRASE_FILES")),
        )


@cache
def extractor_version() -> str:
    return version(EXTRACTOR)


def stamped(status: ExtractStatus, options: ExtractOptions, **found: Any) -> ExtractResult:
    """An ExtractResult that names the extractor, its version and the options used."""
    rules = load_rules(options.consent_selector_files, options.consent_phrase_files)
    return ExtractResult(
        status=status,
        extractor=EXTRACTOR,
        extractor_version=extractor_version(),
        options={
            "favor_precision": options.favor_precision,
            "include_tables": options.include_tables,
            "fast": options.fast,
            "include_comments": False,
            "consent_rules": rules.fingerprint,
        },
        **found,
    )


def failed(error: str, options: ExtractOptions) -> ExtractResult:
    """The result for a page whose extraction could not run at all."""
    return stamped(ExtractStatus.ERROR, options, error=error)

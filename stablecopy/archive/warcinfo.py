"""What every WARC file says about itself (warcinfo fields), and how a page's clean text was made."""

from __future__ import annotations

import base64
import logging
import platform
import socket
from dataclasses import dataclass
from importlib.metadata import version
from typing import TYPE_CHECKING

from stablecopy import __version__
from stablecopy.evidence.keys import KeyFileError, KeyFiles, key_id, public_der
from stablecopy.extract.result import ExtractResult

CONFORMS_TO = "http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"
CAPTURE_METHOD = (
    "Request and response heads are the bytes that crossed the connection (after TLS), recorded by "
    "stablecopy's HTTP/1.1 download handler: a request record is the request line, headers and "
    "body as sent, less the headers named in stablecopy-redacted-request-headers; a response record is "
    "the status line (its own reason phrase) and headers as received, in their case and order, "
    "repeated and folded lines kept, then the body as received with content-encoding kept. A "
    "chunked body is stored de-chunked and its Transfer-Encoding header renamed "
    "X-Archive-Orig-Transfer-Encoding (chunk sizes, extensions and trailers are not kept); interim "
    "1xx responses are not stored. Over TLS, WARC-Peer-Certificates gives the peer's certificate "
    "chain (JSON, leaf first). Exchanges the handler could not record (another handler, a "
    "download stopped before its head was read) are rebuilt from Scrapy's view of them."
)

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)


def software() -> str:
    parts = [f"stablecopy/{__version__}"]
    parts.extend(f"{dist}/{version(dist)}" for dist in ("scrapy", "twisted", "warcio"))
    parts.append(f"python/{platform.python_version()}")
    return " ".join(parts)


@dataclass(frozen=True)
class CrawlInfo:
    """Facts about a crawl known when it starts, and that will not change."""

    operator: str
    contact: str
    description: str
    obeys_robots: bool
    user_agent: str
    redacted_headers: tuple[str, ...]
    max_response_size: int
    log_key: str = ""  # the capture log's public key (base64 DER), when the archive has one
    log_key_id: str = ""

    @classmethod
    def from_settings(cls, settings: BaseSettings, description: str | None = None) -> CrawlInfo:
        """The facts a crawl's settings give (STABLECOPY_OPERATOR, ...); `description` in place
        of STABLECOPY_DESCRIPTION, for files written on its behalf (a repair's clean texts)."""
        log_key, log_key_id = _log_key(settings)
        return cls(
            log_key=log_key,
            log_key_id=log_key_id,
            operator=settings.get("STABLECOPY_OPERATOR") or "",
            contact=settings.get("STABLECOPY_CONTACT_URL") or "",
            description=description or settings.get("STABLECOPY_DESCRIPTION") or "",
            obeys_robots=settings.getbool("ROBOTSTXT_OBEY"),
            user_agent=settings.get("USER_AGENT") or "",
            redacted_headers=tuple(settings.getlist("STABLECOPY_REDACT_HEADERS")),
            max_response_size=settings.getint("STABLECOPY_MAX_RESPONSE_SIZE"),
        )

    def fields(self, crawl_id: int | None) -> list[tuple[str, str]]:
        crawl = str(crawl_id) if crawl_id else ""
        return [
            ("software", software()),
            ("format", "WARC file version 1.1"),
            ("conformsTo", CONFORMS_TO),
            ("isPartOf", f"stablecopy-crawl-{crawl}" if crawl else ""),
            ("operator", self.operator or self.contact),
            ("description", self.description),
            ("hostname", socket.gethostname()),
            ("robots", "classic" if self.obeys_robots else "ignore"),
            ("http-header-user-agent", self.user_agent),
            ("stablecopy-crawl-id", crawl),
            ("stablecopy-contact", self.contact),
            ("stablecopy-digest-algorithm", "sha256, lowercase hex (block and payload digests)"),
            ("stablecopy-redacted-request-headers", ", ".join(self.redacted_headers) or "none"),
            ("stablecopy-max-response-size", str(self.max_response_size)),
            ("stablecopy-capture-method", CAPTURE_METHOD),
            ("stablecopy-platform", platform.platform()),
            ("stablecopy-log-key", self.log_key),
            ("stablecopy-log-key-id", self.log_key_id),
        ]


def _log_key(settings: BaseSettings) -> tuple[str, str]:
    """The public key that signs the capture log's tree heads (Ed25519, base64 of its DER), and its
    id; empty when the archive has no key (yet)."""
    keys = KeyFiles.configured(
        settings.get("STABLECOPY_KEYS_DIR"), settings.get("STABLECOPY_DATA_DIR") or "."
    )
    if not keys.exists():
        return "", ""
    try:
        public = keys.log_key().public_key()
    except KeyFileError as exc:
        logger.warning("the capture log's key is not in the WARC files: %s", exc)
        return "", ""
    return base64.b64encode(public_der(public)).decode("ascii"), key_id(public)


def extraction_fields(
    result: ExtractResult, text_digest: str | None, conversion_id: str | None
) -> list[tuple[str, str]]:
    """The metadata record of an extraction: outcome, page metadata, extractor and options."""
    options = "; ".join(f"{key}={value}" for key, value in sorted(result.options.items()))
    return [
        ("extractor", result.extractor),
        ("extractor-version", result.extractor_version),
        ("extractor-options", options),
        ("extraction-status", str(result.status)),
        ("extraction-error", result.error or ""),
        ("removed-consent-elements", str(result.removed_consent_elements)),
        *(("removed-consent-element", removal) for removal in result.consent_removals),
        ("title", result.title or ""),
        ("author", result.author or ""),
        ("published", result.published or ""),
        ("language", result.language or ""),
        ("site-name", result.site_name or ""),
        ("description", result.description or ""),
        ("text-digest", text_digest or ""),
        ("text-length", str(len(result.text))),
        ("conversion-record", conversion_id or ""),
    ]

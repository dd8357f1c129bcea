"""RevisitPolicy: which earlier capture a fetch is compared with, and whether what came back is
stored again or as a revisit record (pywb's recorder takes dedup as a policy the same way).

It asks the catalogue nothing itself: `lookup` answers a PriorCaptureQuery (over a signal, in a
crawl), so the policy is testable with a plain function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stablecopy.archive import meta, records
from stablecopy.archive.digests import sha256_hex
from stablecopy.events import PriorCapture, PriorCaptureQuery

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.http import Response

SCOPES = ("url", "any", "off")
NOT_MODIFIED = "server-not-modified"
IDENTICAL = "identical-payload-digest"

Lookup = Callable[[PriorCaptureQuery], PriorCapture | None]


@dataclass(frozen=True)
class Decision:
    """How to archive one response: in full (no original), or as a revisit of `original`."""

    original: PriorCapture | None = None
    profile: str | None = None


FULL = Decision()


class RevisitPolicy:
    """`scope` is STABLECOPY_REVISITS ("url", "any" or "off"); `conditional` asks with
    If-None-Match / If-Modified-Since from the last capture of the URL."""

    def __init__(self, scope: str, conditional: bool, lookup: Lookup) -> None:
        scope = (scope or "off").strip().lower()
        if scope not in SCOPES:
            raise ValueError(
                f"STABLECOPY_REVISITS must be one of {', '.join(SCOPES)}, not {scope!r}"
            )
        self.scope = scope
        self.conditional = scope != "off" and conditional
        self.lookup = lookup

    def prepare(self, request: Request) -> None:
        """Before a GET: find the URL's last capture and, when it allows, ask conditionally."""
        if self.scope == "off" or request.method != "GET":
            return
        prior = self.lookup(PriorCaptureQuery(url=records.without_fragment(request.url)))
        if prior is None:
            return
        request.meta[meta.PRIOR] = prior
        if not self.conditional or prior.status != 200:
            return
        added = []
        for name, value in (
            ("If-None-Match", prior.etag),
            ("If-Modified-Since", prior.last_modified),
        ):
            if value and name not in request.headers:
                request.headers[name] = value
                added.append(name)
        if added:
            request.meta[meta.CONDITIONAL] = tuple(added)

    @staticmethod
    def forget(request: Request) -> None:
        """Drop the conditional headers a previous attempt added (redirects and retries copy them)."""
        for name in request.meta.pop(meta.CONDITIONAL, ()):
            request.headers.pop(name, None)

    def decide(self, request: Request, response: Response) -> Decision:
        """A 304 to our own conditional request stands for its original; a whole, non-empty GET
        body equal to an earlier capture's payload (same URL, or any URL in scope "any") is a
        revisit of it; anything else is archived in full."""
        prior: PriorCapture | None = request.meta.get(meta.PRIOR)
        if response.status == 304 and prior is not None and request.meta.get(meta.CONDITIONAL):
            return Decision(prior, NOT_MODIFIED)
        original = self._same_payload(request, response, prior)
        return Decision(original, IDENTICAL) if original else FULL

    def _same_payload(
        self, request: Request, response: Response, prior: PriorCapture | None
    ) -> PriorCapture | None:
        """A truncated body is not known to be identical, and an empty one has nothing to leave out."""
        if self.scope == "off" or request.method != "GET" or not response.body:
            return None
        if request.meta.get(meta.TRUNCATED) or "dataloss" in response.flags:
            return None
        if prior is None and self.scope == "url":
            return None
        digest = sha256_hex(response.body)
        if prior is not None and prior.payload_sha256 == digest:
            return prior
        if self.scope == "any":
            url = records.without_fragment(request.url)
            return self.lookup(PriorCaptureQuery(url=url, payload_sha256=digest))
        return None

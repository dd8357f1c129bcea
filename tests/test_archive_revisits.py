"""RevisitPolicy on its own: which earlier capture a fetch is compared with, and what it decides."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, Response

from stablecopy.archive import meta
from stablecopy.archive.digests import sha256_hex
from stablecopy.archive.revisits import FULL, IDENTICAL, NOT_MODIFIED, RevisitPolicy
from stablecopy.events import PriorCapture, PriorCaptureQuery, RecordLocation

URL = "http://news.example/story"
BODY = b"<html><body><p>The story.</p></body></html>"


def prior(url: str = URL, body: bytes = BODY, status: int = 200) -> PriorCapture:
    digest = sha256_hex(body)
    return PriorCapture(
        record_id="<urn:uuid:1>", url=url, fetched_at=datetime(2026, 1, 1, tzinfo=UTC),
        status=status, payload_sha256=digest, payload_digest=f"sha256:{digest}",
        payload_length=len(body), location=RecordLocation("warcs/a.warc.gz", 0, 100),
        etag='"v1"', last_modified="Thu, 01 Jan 2026 00:00:00 GMT",
    )  # fmt: skip


class Catalogue:
    """The answers a catalogue would give, and the questions it was asked."""

    def __init__(self, *known: PriorCapture) -> None:
        self.known = known
        self.asked: list[PriorCaptureQuery] = []

    def __call__(self, query: PriorCaptureQuery) -> PriorCapture | None:
        self.asked.append(query)
        for capture in self.known:
            if query.payload_sha256 is None and capture.url == query.url:
                return capture
            if query.payload_sha256 and capture.payload_sha256 == query.payload_sha256:
                return capture
        return None


def fetched(request: Request, body: bytes = BODY, status: int = 200) -> Response:
    return HtmlResponse(URL, status=status, body=body, request=request)


def test_conditional_headers_come_from_the_last_capture_and_are_forgotten_on_retry() -> None:
    policy = RevisitPolicy("url", conditional=True, lookup=Catalogue(prior()))
    request = Request(URL)
    policy.prepare(request)
    assert request.headers[b"If-None-Match"] == b'"v1"'
    assert request.headers[b"If-Modified-Since"] == b"Thu, 01 Jan 2026 00:00:00 GMT"
    policy.forget(request)
    assert b"If-None-Match" not in request.headers
    assert b"If-Modified-Since" not in request.headers


def test_a_304_to_our_own_conditional_request_stands_for_its_original() -> None:
    original = prior()
    policy = RevisitPolicy("url", conditional=True, lookup=Catalogue(original))
    request = Request(URL)
    policy.prepare(request)
    decision = policy.decide(request, fetched(request, b"", 304))
    assert (decision.original, decision.profile) == (original, NOT_MODIFIED)


def test_no_conditional_request_after_an_error_capture_nor_when_switched_off() -> None:
    for policy, earlier in (
        (RevisitPolicy("url", conditional=True, lookup=Catalogue(prior(status=404))), True),
        (RevisitPolicy("url", conditional=False, lookup=Catalogue(prior())), True),
        (RevisitPolicy("off", conditional=True, lookup=Catalogue(prior())), False),
    ):
        request = Request(URL)
        policy.prepare(request)
        assert b"If-None-Match" not in request.headers
        assert (meta.PRIOR in request.meta) is earlier


def test_the_same_payload_is_a_revisit_a_changed_one_is_stored() -> None:
    original = prior()
    policy = RevisitPolicy("url", conditional=False, lookup=Catalogue(original))
    request = Request(URL)
    policy.prepare(request)
    same = policy.decide(request, fetched(request))
    assert (same.original, same.profile) == (original, IDENTICAL)
    assert policy.decide(request, fetched(request, BODY + b" ")) == FULL


def test_truncated_and_empty_bodies_are_never_revisits() -> None:
    policy = RevisitPolicy("any", conditional=False, lookup=Catalogue(prior(body=b"")))
    request = Request(URL)
    policy.prepare(request)
    assert policy.decide(request, fetched(request, b"")) == FULL
    request.meta[meta.TRUNCATED] = "length"
    assert policy.decide(request, fetched(request)) == FULL


def test_scope_any_finds_the_payload_under_another_url_scope_url_does_not() -> None:
    elsewhere = prior(url="http://news.example/other")
    catalogue = Catalogue(elsewhere)
    request = Request(URL)
    assert RevisitPolicy("url", False, catalogue).decide(request, fetched(request)) == FULL
    decision = RevisitPolicy("any", False, catalogue).decide(request, fetched(request))
    assert decision.original == elsewhere
    assert catalogue.asked[-1].payload_sha256 == sha256_hex(BODY)


def test_an_unknown_scope_is_refused() -> None:
    with pytest.raises(ValueError, match="STABLECOPY_REVISITS must be one of url, any, off"):
        RevisitPolicy("sometimes", conditional=False, lookup=Catalogue())

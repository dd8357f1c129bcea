"""RFC 3161 time-stamps: asking a time-stamping authority (TSA) to sign the hash of some bytes,
and checking a token again later, offline, with rfc3161-client (Trail of Bits).

A token is kept as the TSA's whole DER TimeStampResp, as received: the form `openssl ts -verify -in`
reads. OpenSSL-based TSAs send the certificates of a token out of DER's set order, which
rfc3161-client refuses; that set is outside what the TSA signs, so it is put in order (asn1crypto)
before the token is read, and the token kept is the one received.
"""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime

from asn1crypto import cms, tsp
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from rfc3161_client import (
    HashAlgorithm,
    TimestampRequestBuilder,
    TimeStampResponse,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

TSA_TIMEOUT = 20.0
QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"
MAX_REPLY = 1 << 20


class TimestampError(RuntimeError):
    """A TSA could not be reached, refused, or answered with a token that does not verify."""


@dataclass(frozen=True)
class Token:
    tsa_url: str
    der: bytes  # the TimeStampResp as received
    gen_time: datetime
    tsa_name: str | None
    certificates: list[x509.Certificate]  # as the token carries them, signer first


def _in_der_order(der: bytes) -> bytes:
    """The response with its SignedData's certificates in DER set order (they are not signed)."""
    response = tsp.TimeStampResp.load(der)
    signed = response["time_stamp_token"]["content"]
    certificates = list(signed["certificates"] or [])
    ordered = sorted(certificates, key=lambda certificate: certificate.dump())
    if [c.dump() for c in certificates] == [c.dump() for c in ordered]:
        return der
    signed["certificates"] = cms.CertificateSet(ordered)
    return bytes(response.dump())


def _decode(der: bytes) -> TimeStampResponse:
    try:
        return decode_timestamp_response(_in_der_order(der))
    except (ValueError, TypeError, KeyError) as exc:
        raise TimestampError(f"not an RFC 3161 time-stamp response: {exc}") from exc


def _certificates(response: TimeStampResponse) -> list[x509.Certificate]:
    """The certificates a token carries, the TSA's own (extended key usage timeStamping) first."""
    found = [x509.load_der_x509_certificate(der) for der in response.signed_data.certificates]
    return sorted(found, key=lambda certificate: not _stamps(certificate))


def _stamps(certificate: x509.Certificate) -> bool:
    try:
        usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return x509.oid.ExtendedKeyUsageOID.TIME_STAMPING in usage


def self_signed(certificates: list[x509.Certificate]) -> list[x509.Certificate]:
    """The roots among certificates (issuer and subject the same)."""
    return [c for c in certificates if c.issuer == c.subject]


def _name(response: TimeStampResponse, certificates: list[x509.Certificate]) -> str | None:
    if certificates:
        return certificates[0].subject.rfc4514_string()
    return None


def describe(der: bytes) -> Token:
    """What a stored token says (its time, its TSA, the certificates it carries)."""
    response = _decode(der)
    certificates = _certificates(response)
    return Token("", der, response.tst_info.gen_time.replace(tzinfo=UTC),
                 _name(response, certificates), certificates)  # fmt: skip


def request(url: str, data: bytes, roots: list[x509.Certificate] | None = None) -> Token:
    """Ask the TSA at `url` to time-stamp SHA-256(data); the reply is checked (status, imprint,
    nonce, signature) before it is returned."""
    query = (
        TimestampRequestBuilder()
        .data(data)
        .hash_algorithm(HashAlgorithm.SHA256)
        .nonce(nonce=True)
        .cert_request(cert_request=True)
        .build()
    )
    http = urllib.request.Request(
        url, data=query.as_bytes(), method="POST",
        headers={"Content-Type": QUERY_TYPE, "Accept": REPLY_TYPE},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(http, timeout=TSA_TIMEOUT) as reply:
            der = reply.read(MAX_REPLY + 1)
    except urllib.error.HTTPError as exc:
        raise TimestampError(f"the TSA {url} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TimestampError(f"cannot reach the TSA {url}: {reason}") from None
    if len(der) > MAX_REPLY:
        raise TimestampError(f"the TSA {url} sent more than {MAX_REPLY} bytes")
    response = _decode(der)
    if response.status not in (0, 1):
        raise TimestampError(
            f"the TSA {url} refused: status {response.status} {response.status_string or ''}".strip()
        )
    if response.tst_info.nonce != query.nonce:
        raise TimestampError(f"the TSA {url} answered another request (nonce differs)")
    token = describe(der)
    check(der, data, roots or self_signed(token.certificates) or token.certificates[:1])
    return Token(url, der, token.gen_time, token.tsa_name, token.certificates)


def check(der: bytes, data: bytes, roots: list[x509.Certificate]) -> datetime:
    """The time a token vouches for `data`; TimestampError when it does not verify against `roots`
    (the TSA's root certificates, or its own certificate when nothing else is trusted)."""
    response = _decode(der)
    if not roots:
        raise TimestampError("no certificate to check the time-stamp against")
    imprint = response.tst_info.message_imprint
    if imprint.message != hashlib.sha256(data).digest():
        raise TimestampError("the time-stamp is over other bytes than these")
    builder = VerifierBuilder()
    for root in roots:
        builder = builder.add_root_certificate(root)
    for certificate in _certificates(response)[1:]:
        if certificate not in roots:
            builder = builder.add_intermediate_certificate(certificate)
    try:
        builder.build().verify_message(response, data)
    except VerificationError as exc:
        raise TimestampError(f"the time-stamp does not verify: {exc}") from None
    return response.tst_info.gen_time.replace(tzinfo=UTC)


def load_certificates(pem: bytes) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        raise TimestampError(f"not PEM certificates: {exc}") from exc


def pem(certificates: list[x509.Certificate]) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates)

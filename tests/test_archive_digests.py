"""Digest forms: what stablecopy writes, and the other labelled forms it can read."""

from __future__ import annotations

import base64
import hashlib

import pytest

from stablecopy.archive.digests import Sha256Digester, digest_matches, parse_digest, warc_digest

DATA = b"the payload"
SHA256 = hashlib.sha256(DATA).digest()
SHA1 = hashlib.sha1(DATA).digest()


def test_written_form_is_sha256_lowercase_hex() -> None:
    assert warc_digest(DATA) == "sha256:" + SHA256.hex()
    digester = Sha256Digester()
    digester.update(b"the ")
    digester.update(b"payload")
    assert str(digester) == warc_digest(DATA)


@pytest.mark.parametrize(
    "value",
    [
        "sha256:" + SHA256.hex(),
        "SHA256:" + SHA256.hex().upper(),
        "sha-256:" + SHA256.hex(),
        "sha256:" + base64.b32encode(SHA256).decode().rstrip("="),
        "sha256:" + base64.b64encode(SHA256).decode(),
        "sha1:" + base64.b32encode(SHA1).decode(),
        "sha-1:" + SHA1.hex(),
    ],
)
def test_other_tools_forms_are_read_and_checked(value: str) -> None:
    assert parse_digest(value) is not None
    assert digest_matches(value, DATA)
    assert not digest_matches(value, DATA + b"!")


@pytest.mark.parametrize(
    "value", ["", "sha256", "md5:abcd", "sha256:nothex!", "sha256:" + "a" * 10]
)
def test_unreadable_digests_never_match(value: str) -> None:
    assert parse_digest(value) is None
    assert not digest_matches(value, DATA)

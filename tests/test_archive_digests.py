"""The one digest form stablecopy writes: `sha256:` and lowercase hex, fed incrementally."""

from __future__ import annotations

import hashlib

from stablecopy.archive.digests import Sha256Digester, sha256_hex


def test_written_form_is_sha256_lowercase_hex_of_all_that_was_fed() -> None:
    digester = Sha256Digester()
    digester.update(b"the ")
    digester.update(b"payload")
    expected = hashlib.sha256(b"the payload").hexdigest()
    assert str(digester) == f"sha256:{expected}"
    assert digester.hexdigest() == sha256_hex(b"the payload") == expected

"""Citation ids: Perma-style, unambiguous alphabet, derived from the record id, typed any way."""

from __future__ import annotations

import re

import pytest

from stablecopy.provenance import shortid

RECORD = "<urn:uuid:8c4b4805-cc93-44eb-94cc-ad671a997211>"


def test_ids_are_stable_and_use_no_lookalike_characters() -> None:
    first = shortid.derive(RECORD)
    assert first == shortid.derive(RECORD)
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", first)
    assert not set(first) & set("01OIL")


def test_each_attempt_gives_another_id() -> None:
    assert len({shortid.derive(RECORD, attempt) for attempt in range(50)}) == 50


def test_ids_spread_over_the_alphabet() -> None:
    ids = {shortid.derive(f"<urn:uuid:{n}>") for n in range(5000)}
    assert len(ids) == 5000
    assert set("".join(ids)) - {"-"} == set(shortid.ALPHABET)


@pytest.mark.parametrize("typed", ["abcd-efgh", "ABCDEFGH", " AbCd-EfGh "])
def test_typed_ids_are_normalised(typed: str) -> None:
    assert shortid.normalise(typed) == "ABCD-EFGH"


@pytest.mark.parametrize("typed", ["ABCD-EFG", "ABCD-EFGHI", "A0CD-EFGH", "ILOO-1111", "42", ""])
def test_things_that_were_never_issued_are_not_ids(typed: str) -> None:
    assert shortid.normalise(typed) is None

"""The consent lexicons against an outside, maintained record: every "accept all", "accept
selected" and "decline" label of Klaro's translations (tests/data/klaro-consent-labels.json, made
by `python -m bench.klarolabels`) is a control our lexicon recognises, in each of its languages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stablecopy.extract.consent import consent_controls

RECORD = json.loads(
    (Path(__file__).parent / "data" / "klaro-consent-labels.json").read_text("utf-8")
)
LABELS = [
    (language, key, label)
    for language, keys in RECORD["labels"].items()
    for key, label in keys.items()
]


def test_the_record_covers_many_languages() -> None:
    assert len(RECORD["labels"]) >= 20
    assert RECORD["commit"]


@pytest.mark.parametrize(("language", "key", "label"), LABELS)
def test_every_label_of_the_record_is_a_consent_control(
    language: str, key: str, label: str
) -> None:
    assert consent_controls().says(label), f"{language} {key}: {label!r}"

"""The extraction benchmark's pages, truth and metric (tests/data/extraction-benchmark/README.md):
multisets of 4-token shingles per page, precision and recall averaged over pages, F1 their
harmonic mean. Used by its test and by `make bench`'s consent round."""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from pathlib import Path

BENCHMARK = Path(__file__).parent / "data" / "extraction-benchmark"
TOKEN = re.compile(r"\w+")


def shingles(text: str) -> Counter[tuple[str, ...]]:
    tokens = TOKEN.findall(text or "")
    return Counter(tuple(tokens[i : i + 4]) for i in range(max(0, len(tokens) - 3)))


def f1(pairs: list[tuple[str, str]]) -> tuple[float, float, float]:
    """(precision, recall, F1) of predicted vs true texts, the benchmark's way."""
    precisions, recalls = [], []
    for predicted, true in pairs:
        p, t = shingles(predicted), shingles(true)
        tp, fp, fn = sum((p & t).values()), sum((p - t).values()), sum((t - p).values())
        if tp + fp:
            precisions.append(tp / (tp + fp))
        if tp + fn:
            recalls.append(tp / (tp + fn))
    precision = sum(precisions) / len(precisions)
    recall = sum(recalls) / len(recalls)
    return precision, recall, 2 * precision * recall / (precision + recall)


def page(key: str) -> str:
    return gzip.decompress((BENCHMARK / "html" / f"{key}.html.gz").read_bytes()).decode(
        "utf-8", "replace"
    )


def items() -> list[tuple[str, str, str]]:
    """(key, url, true article text) of every page."""
    truth = json.loads((BENCHMARK / "ground-truth.json").read_text("utf-8"))
    return [(key, entry["url"], entry["articleBody"]) for key, entry in truth.items()]

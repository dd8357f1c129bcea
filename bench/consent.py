"""The consent round: banner removal and article keeping per group of the consent corpus
(tests/consentcorpus.py), and the extraction benchmark's F1, for stablecopy (fast mode with its
full-mode fallback, and full mode alone) beside plain trafilatura (its defaults, and comments
excluded), with the CPU time each takes per page (best of two passes, after a warm-up). Also prints the structural score of every
corpus element the score weighs, by group, so that the threshold can be checked against data.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import trafilatura
from lxml import html as lxml_html

from stablecopy.extract import consent
from stablecopy.extract.options import ExtractOptions
from stablecopy.extract.text import extract_text
from tests.consentcorpus import GROUPS, CorpusPage, banner_left, pages, recall
from tests.extractionbench import f1, items, page

Extractor = Callable[[str, str], str]
KEEP = 0.99  # article-text recall that counts as "kept whole"


def _ours(fast: bool) -> Extractor:
    options = ExtractOptions(fast=fast)
    return lambda markup, url: extract_text(markup, url, options).text


def _plain(comments: bool) -> Extractor:
    return lambda markup, url: trafilatura.extract(markup, url=url, include_comments=comments) or ""


EXTRACTORS: dict[str, Extractor] = {
    "stablecopy (fast, full-mode fallback)": _ours(fast=True),
    "stablecopy (full mode)": _ours(fast=False),
    "plain trafilatura (defaults)": _plain(comments=True),
    "plain trafilatura (no comments)": _plain(comments=False),
}


@dataclass
class Tally:
    pages: int = 0
    with_banner: int = 0
    banner_gone: int = 0
    kept_whole: int = 0
    recalls: list[float] = field(default_factory=list)

    def add(self, page: CorpusPage, text: str) -> None:
        self.pages += 1
        if page.banner:
            self.with_banner += 1
            self.banner_gone += not banner_left(page, text)
        share = recall(page, text)
        self.recalls.append(share)
        self.kept_whole += share >= KEEP

    def cells(self) -> str:
        removed = f"{self.banner_gone}/{self.with_banner}" if self.with_banner else "-"
        return f"{removed} | {self.kept_whole}/{self.pages} | {min(self.recalls):.3f}"


def corpus_table() -> list[str]:
    corpus = list(pages())
    lines = ["| group | extractor | banner removed | article kept whole | lowest recall |",
             "|---|---|---:|---:|---:|"]  # fmt: skip
    for group in GROUPS:
        chosen = [p for p in corpus if p.group == group]
        for name, extract in EXTRACTORS.items():
            tally = Tally()
            for item in chosen:
                tally.add(item, extract(item.html, f"https://corpus.example/{item.name}"))
            lines.append(f"| {group} ({len(chosen)} pages) | {name} | {tally.cells()} |")
    return lines


def benchmark_table(passes: int = 2) -> list[str]:
    """F1 and CPU time per page of each extractor on the 181 pages: each warmed up on a few pages
    first (rules loaded, caches filled), then timed over every page; the best of `passes`."""
    pages_ = [(page(key), url, true) for key, url, true in items()]
    lines = ["| extractor | F1 | precision | recall | CPU ms/page |", "|---|---:|---:|---:|---:|"]
    for name, extract in EXTRACTORS.items():
        for markup, url, _ in pages_[:10]:
            extract(markup, url)
        costs, texts = [], []
        for _ in range(passes):
            started = time.process_time()
            texts = [extract(markup, url) for markup, url, _ in pages_]
            costs.append((time.process_time() - started) * 1000 / len(pages_))
        pairs = [(text, true) for text, (_, _, true) in zip(texts, pages_, strict=True)]
        precision, found, score = f1(pairs)
        lines.append(f"| {name} | {score:.4f} | {precision:.4f} | {found:.4f} | {min(costs):.1f} |")
    return lines


def score_table() -> list[str]:
    """The highest structural score of each corpus page, by group: banners' and traps' apart."""
    scores: dict[str, list[int]] = {group: [] for group in GROUPS}
    for item in pages():
        scored = consent.scored_candidates(lxml_html.fromstring(item.html))
        scores[item.group].append(max((score for _, score, _ in scored), default=0))
    lines = [
        f"| group | highest structural score per page (threshold {consent.BANNER_SCORE}) |",
        "|---|---|",
    ]
    for group, found in scores.items():
        histogram = ", ".join(f"{s}: {found.count(s)}" for s in sorted(set(found)))
        lines.append(f"| {group} | {histogram} |")
    every = [
        score
        for key, _, _ in items()
        for _, score, _ in consent.scored_candidates(lxml_html.fromstring(page(key)))
    ]
    histogram = ", ".join(f"{s}: {every.count(s)}" for s in sorted(set(every)))
    lines.append(f"| every candidate of the 181 benchmark pages | {histogram} |")
    return lines


def consent_round() -> list[str]:
    return [
        "Consent corpus (tests/consentcorpus.py):", "", *corpus_table(), "",
        *score_table(), "",
        "Extraction benchmark (181 pages):", "", *benchmark_table(),
    ]  # fmt: skip

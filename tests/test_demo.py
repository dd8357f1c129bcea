"""`make demo`'s program: serves the sample site, crawls it, prints captures and one clean text."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from stablecopy.samplesite.pages import CORRECTION, SEED_BOILERPLATE, seed_article


def test_demo_crawls_the_sample_site_and_shows_a_clean_article(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "stablecopy.samplesite.demo", str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "$ stablecopy crawl" in out
    assert "$ stablecopy captures --crawl 1" in out
    assert "payload_sha256" in out
    text = out.split("--text", 1)[1].split("$ stablecopy verify", 1)[0]
    article = seed_article()
    for paragraph in article.paragraphs:
        assert " ".join(paragraph.split()) in " ".join(text.split())
    for chrome in SEED_BOILERPLATE:
        assert chrome not in text
    assert "Crawl 1 finished" in result.stderr
    assert "$ stablecopy verify --crawl 1" in out
    assert re.search(r"Verified \d+ captures .*: all intact\.", result.stderr)
    assert "@online{stablecopy-" in out
    assert "capture log entry" in out  # cite --evidence
    assert "every check passed" in out  # its evidence package, checked offline
    # the second edition: revisits, and what changed
    assert "Crawl 2 finished" in result.stderr
    assert re.search(r"Pages: 1 new, \d+ changed, \d+ unchanged \(1 only outside", result.stderr)
    added = [
        line for line in out.splitlines() if line.startswith("+") and not line.startswith("++")
    ]
    assert len(added) == 1
    assert added[0].endswith(CORRECTION.strip())
    assert "text unchanged" in out
    assert out.rstrip().endswith("(schedules and runs: `stablecopy user add NAME` first).")
    assert "open http://127.0.0.1:8000/" in out

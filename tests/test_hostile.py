"""Hostile and broken servers: the crawl goes on, the archive stays valid, memory stays bounded.

One real crawl (in a fresh process whose peak memory is measured) of every route of tests/hostile.py,
plus a host whose robots.txt is 5 MB of binary junk; then each case is checked in the catalogue and
in the WARC records, with warcio and `stablecopy verify` as oracles.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from warcio.cli import main as warcio_main

from stablecopy.samplesite.server import SiteServer
from tests.helpers import FAST, json_lines, peak_rss_kb, run_cli, warcio_records
from tests.hostile import (
    LONG_QUERY,
    ROBOTS_ROUTES,
    ROUTES,
    SPACE_PATH,
    UNICODE_PATH,
    bomb_body,
)

pytestmark = pytest.mark.catalogue

MAX_RESPONSE = 64 * 1024 * 1024  # the default STABLECOPY_MAX_RESPONSE_SIZE
PEAK_RSS_MB = 450  # about three copies of the largest body kept, plus the crawler itself
SEEDS = (
    "/test/malformed", "/test/wrong-charset", "/test/no-charset", "/test/big", "/test/gzip-bomb",
    "/test/length-too-long", "/test/length-too-short", "/test/loop-a", "/test/chain",
    "/test/awkward-links",
)  # fmt: skip


@dataclass
class HostileCrawl:
    site: SiteServer
    junk_robots: SiteServer
    data: Path
    peak_mb: float

    def captures(self) -> dict[str, dict[str, object]]:
        listed = run_cli("captures", "--json", "--data-dir", str(self.data))
        assert listed.returncode == 0, listed.stderr
        return {str(c["url"]): c for c in json_lines(listed.stdout)}

    def text(self, capture: dict[str, object]) -> str:
        shown = run_cli("show", str(capture["short_id"]), "--text", "--data-dir", str(self.data))
        assert shown.returncode == 0, shown.stderr
        return shown.stdout


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostileCrawl]:
    bomb_body()  # made once, before the clock of the crawl starts
    data = tmp_path_factory.mktemp("hostile") / "data"
    with SiteServer(routes=ROUTES) as site, SiteServer(routes=ROBOTS_ROUTES) as junk:
        seeds = [site.url(path) for path in SEEDS] + [junk.url("/test/plain-page")]
        peak = peak_rss_kb(
            "crawl", *seeds, "--follow", "--data-dir", str(data), *FAST,
            "-s", "DOWNLOAD_TIMEOUT=20",
        )  # fmt: skip
        yield HostileCrawl(site, junk, data, peak / 1024)


def test_memory_stays_bounded(hostile: HostileCrawl) -> None:
    assert hostile.peak_mb < PEAK_RSS_MB


def test_the_archive_is_valid_and_matches_the_catalogue(
    hostile: HostileCrawl, capsys: pytest.CaptureFixture[str]
) -> None:
    warcs = [str(p) for p in sorted((hostile.data / "warcs").iterdir())]
    with pytest.raises(SystemExit) as checked:
        warcio_main(["check", *warcs])
    assert checked.value.code == 0, capsys.readouterr().out
    verified = run_cli("verify", "--data-dir", str(hostile.data))
    assert verified.returncode == 0, verified.stderr


def test_a_200_mb_response_is_cut_at_the_limit_and_marked(hostile: HostileCrawl) -> None:
    big = hostile.captures()[hostile.site.url("/test/big")]
    assert big["truncated"] == "length"
    assert big["payload_length"] == MAX_RESPONSE
    (path,) = (hostile.data / "warcs").iterdir()
    record = next(
        r for r in warcio_records(path) if r["headers"].get("WARC-Record-ID") == big["record_id"]
    )
    assert record["headers"]["WARC-Truncated"] == "length"
    assert len(record["payload"]) == MAX_RESPONSE
    assert record["digest_problems"] == []


def test_a_gzip_bomb_is_archived_as_sent_and_never_expanded(hostile: HostileCrawl) -> None:
    bomb = hostile.captures()[hostile.site.url("/test/gzip-bomb")]
    assert bomb["payload_length"] == len(bomb_body())  # the compressed bytes, whole
    assert bomb["truncated"] is None
    assert bomb["extraction_status"] is None  # the spider never saw a gigabyte of zeros


def test_lying_content_lengths(hostile: HostileCrawl) -> None:
    captures = hostile.captures()
    short = captures[hostile.site.url("/test/length-too-long")]
    assert short["truncated"] == "disconnect"
    assert short["extraction_status"] is None  # a cut page gives no clean text
    long = captures[hostile.site.url("/test/length-too-short")]
    assert long["payload_length"] == 40  # what the header framed; the rest is not this response


def test_malformed_html_and_wrong_charsets_still_give_text(hostile: HostileCrawl) -> None:
    captures = hostile.captures()
    malformed = captures[hostile.site.url("/test/malformed")]
    assert malformed["extraction_status"] == "ok"
    assert "First paragraph of the malformed page" in hostile.text(malformed)
    assert "Käse, Brötchen und Grüße" in hostile.text(
        captures[hostile.site.url("/test/wrong-charset")]
    )
    assert "Les élèves ont visité le musée d’art" in hostile.text(
        captures[hostile.site.url("/test/no-charset")]
    )


def test_redirect_loops_and_long_chains_end(hostile: HostileCrawl) -> None:
    urls = hostile.captures()
    loop = [u for u in urls if "/test/loop-" in u]
    assert 2 <= len(loop) <= 21
    chain = [u for u in urls if "/test/chain" in u]
    assert all(urls[u]["status"] == 301 for u in chain)  # every hop archived as it came
    assert 10 <= len(chain) <= 21  # Scrapy's REDIRECT_MAX_TIMES (20) stops a 50-hop chain


def test_unicode_spaces_fragments_and_long_queries(hostile: HostileCrawl) -> None:
    urls = hostile.captures()
    for path in (UNICODE_PATH, SPACE_PATH, "/test/plain-page", f"/test/plain-page?{LONG_QUERY}"):
        assert hostile.site.url(path) in urls, path[:40]
    assert not [u for u in urls if "#" in u]  # fragments are never part of what is fetched
    typed = hostile.site.url("/test/zürich-straße-新闻")  # as a researcher would type it
    history = run_cli("history", typed, "--json", "--data-dir", str(hostile.data))
    assert history.returncode == 0, history.stderr
    assert len(json_lines(history.stdout)) == 1


def test_a_junk_robots_txt_is_archived_and_the_host_still_crawled(hostile: HostileCrawl) -> None:
    urls = hostile.captures()
    robots = urls[hostile.junk_robots.url("/robots.txt")]
    assert robots["payload_length"] == 5 * 1024 * 1024
    assert urls[hostile.junk_robots.url("/test/plain-page")]["extraction_status"] == "ok"

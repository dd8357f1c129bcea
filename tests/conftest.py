"""Fixtures: the sample site on a real loopback server, and one full crawl of it shared by many tests."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.register_assert_rewrite("tests.helpers")

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from stablecopy.catalog.session import open_catalog
from stablecopy.layout import DataLayout
from stablecopy.samplesite.server import SiteServer
from tests.helpers import FAST, json_lines, run_cli
from tests.routes import ROUTES, closed_port_url

RESPONSE_LIMIT = 1_000_000


@pytest.fixture(scope="session")
def site() -> Iterator[SiteServer]:
    with SiteServer(routes=ROUTES) as server:
        yield server


@dataclass
class CrawlRun:
    """A finished `stablecopy crawl` process and what it left in its data directory."""

    data_dir: Path
    result: subprocess.CompletedProcess[str]
    seeds_file: Path
    unreachable: str

    @property
    def layout(self) -> DataLayout:
        return DataLayout.create(self.data_dir)

    @property
    def warcs(self) -> list[Path]:
        return sorted(self.layout.warc_dir.iterdir())

    def engine(self) -> Engine:
        return open_catalog(self.layout.db_url)

    def session(self) -> Session:
        return Session(self.engine())

    def captures_json(self) -> list[dict[str, object]]:
        listed = run_cli("captures", "--json", "--data-dir", str(self.data_dir))
        assert listed.returncode == 0, listed.stderr
        return json_lines(listed.stdout)


SEED_FILE = """\
# The sample site, seeded every way a seed can be: a page, a sitemap index, two feeds.
{base}/
{base}/sitemap-index.xml
{base}/feed.xml   # RSS
{base}/atom.xml
{base}/news/?page=2&sort=new

# Awkward servers
{base}/test/flaky
{base}/test/stall
{base}/test/reset-before-response
{base}/test/reset-mid-body
{base}/test/huge
{base}/test/no-text
{base}/test/binary-as-html
{unreachable}

# Lines a seed file must refuse, naming the line
ftp://ftp.example.org/pub/file.txt
javascript:alert(1)
not a url
"""


@pytest.fixture(scope="session")
def full_crawl(site: SiteServer, tmp_path_factory: pytest.TempPathFactory) -> CrawlRun:
    root = tmp_path_factory.mktemp("full-crawl")
    unreachable = closed_port_url()
    seeds = root / "seeds.txt"
    seeds.write_text(SEED_FILE.format(base=site.base, unreachable=unreachable), "utf-8")
    data_dir = root / "data"
    result = run_cli(
        "crawl",
        "--seeds", str(seeds),
        "--follow",
        "--data-dir", str(data_dir),
        *FAST,
        "-s", f"STABLECOPY_MAX_RESPONSE_SIZE={RESPONSE_LIMIT}",
        "-s", "DOWNLOAD_TIMEOUT=2",
        "-s", "RETRY_TIMES=1",
        "-s", "STABLECOPY_PROGRESS_INTERVAL=0.1",
    )  # fmt: skip
    return CrawlRun(data_dir, result, seeds, unreachable)

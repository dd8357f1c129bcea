"""Fixtures: the sample site on a real loopback server, and one full crawl of it shared by many tests.

Also the run's two passes: SQLite catalogues (every test), then PostgreSQL ones (the tests marked
`catalogue`; a test that opens a catalogue without the mark fails in the SQLite pass), and the
grouping that keeps each module, and the tests sharing the full crawl, on one xdist worker.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# What a command prints in-process (tests.helpers.run_cli) is as wide as in a subprocess: rich
# reads the width once, when the console is made.
os.environ["COLUMNS"] = "200"

import pytest

pytest.register_assert_rewrite("tests.helpers")
pytest_plugins = ["tests.catalogueguard", "pytester"]

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from stablecopy.catalog.session import open_catalog
from stablecopy.layout import DataLayout
from stablecopy.samplesite.server import SiteServer
from tests import pgcatalogue, warmed
from tests.helpers import FAST, json_lines, run_cli
from tests.routes import ROUTES, closed_port_url
from tests.services import PostgresServer

RESPONSE_LIMIT = 1_000_000
_SERVERS: list[PostgresServer] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--catalogue",
        choices=["sqlite", "postgresql"],
        default="sqlite",
        help="where every test keeps its catalogue: SQLite files, or databases on a private "
        "PostgreSQL server started for the run (or the server in $SCTEST_POSTGRES)",
    )


def pytest_configure(config: pytest.Config) -> None:
    here = Path(__file__).parent
    paths = [str(here / "subprocesses"), str(here.parent), os.environ.get("PYTHONPATH", "")]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(p for p in paths if p))
    if config.getoption("catalogue") != "postgresql":
        os.environ.pop(pgcatalogue.ENV, None)
        return
    # Tests open engines without disposing of them; psycopg warns when the collector closes
    # their connections (sqlite3 does not). Only that warning is silenced.
    config.addinivalue_line(
        "filterwarnings",
        "ignore:Exception ignored in. <function BaseConnection.__del__"
        ":pytest.PytestUnraisableExceptionWarning",
    )
    if not os.environ.get(pgcatalogue.ENV):
        server = PostgresServer().start()
        _SERVERS.append(server)
        os.environ[pgcatalogue.ENV] = server.url
    pgcatalogue.install()


def pytest_sessionstart(session: pytest.Session) -> None:
    """Where tests run (not in xdist's controller), start the warmed forkserver of the CLI's
    processes now, before anything else starts one without the crawl's modules."""
    if not hasattr(session.config, "workerinput") and session.config.getoption("numprocesses", 0):
        return
    warmed.start()


def pytest_unconfigure(config: pytest.Config) -> None:
    while _SERVERS:
        _SERVERS.pop().stop()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The PostgreSQL pass runs the tests marked `catalogue`, less those about the SQLite file
    and those that bring their own server (they ran in the SQLite pass). Under xdist, a module's
    tests, and every test of the shared full crawl, stay on one worker (`--dist loadgroup`)."""
    for item in items:
        shared = "full_crawl" in getattr(item, "fixturenames", ())
        group = "full_crawl" if shared else item.nodeid.split("::", 1)[0]
        item.add_marker(pytest.mark.xdist_group(group))
    if config.getoption("catalogue") != "postgresql":
        return
    chosen, dropped = [], []
    for item in items:
        wanted = "catalogue" in item.keywords
        if "sqlite_only" in item.keywords or "own_postgres" in item.keywords:
            wanted = False
        (chosen if wanted else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = chosen


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
{base}/test/stall?seconds=4
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

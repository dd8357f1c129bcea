"""The replay index at scale: built once and extended from a high-water mark (a restarted server
rebuilds nothing), an idle refresh asks the catalogue one indexed question, and a URL-prefix
selection is a range of SURT keys that loses no URL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from stablecopy.catalog.keys import url_key
from stablecopy.catalog.models import Capture
from stablecopy.catalog.queries import key_range
from stablecopy.catalog.session import open_catalog
from stablecopy.layout import DataLayout
from stablecopy.replay.index import DELTA, FULL, ReplayIndex
from stablecopy.samplesite.server import SiteServer
from tests.helpers import FAST, run_cli

pytestmark = pytest.mark.catalogue


def crawl(site: SiteServer, data: Path, *paths: str) -> None:
    done = run_cli("crawl", *(site.url(p) for p in paths), "--data-dir", str(data), *FAST)
    assert done.returncode == 0, done.stderr


def lines(folder: Path) -> int:
    return sum(
        len((folder / "indexes" / name).read_text("utf-8").splitlines()) for name in (FULL, DELTA)
    )


def test_a_restarted_index_extends_what_it_built_and_an_idle_refresh_asks_one_question(
    site: SiteServer, tmp_path: Path
) -> None:
    data, folder = tmp_path / "data", tmp_path / "replay"
    crawl(site, data, "/")
    engine = open_catalog(DataLayout.create(data).db_url)
    first = ReplayIndex(engine, folder)
    assert first.refresh()
    assert first.rebuilds == 1
    built = (folder / "indexes" / FULL).stat().st_mtime_ns

    again = ReplayIndex(engine, folder)  # a server started again over the same data directory
    asked: list[str] = []

    def listen(*args: object) -> None:
        asked.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", listen)
    assert not again.refresh()
    event.remove(engine, "before_cursor_execute", listen)
    queries = [q for q in asked if q.split()[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK")]
    assert len(queries) == 1, asked
    assert "max(captures.id)" in queries[0]

    crawl(site, data, "/about/")
    assert again.refresh()
    assert again.rebuilds == 0  # extended, not rebuilt
    assert (folder / "indexes" / FULL).stat().st_mtime_ns == built
    with Session(engine) as session:
        captures = session.scalar(select(func.count(Capture.id)))
    assert lines(folder) == captures
    engine.dispose()


@pytest.mark.parametrize(
    "prefix",
    [
        "https://news.example/region/",
        "https://news.example/reg",
        "https://www.news.example/",
        "http://news.example:8080/a/b",
    ],
)
def test_every_url_under_a_prefix_has_its_key_in_the_prefix_range(prefix: str) -> None:
    keys = key_range(prefix)
    assert keys is not None
    low, high = keys
    for tail in ("", "x", "index.html", "2026/05/Story-One.html", "a/b/c?z=1&a=2", "é/ü"):
        key = url_key(prefix + tail)
        assert low <= key < high, (prefix + tail, key, keys)


def test_a_prefix_without_a_path_or_with_a_query_is_no_key_range() -> None:
    assert key_range("https://news.example") is None  # also the start of news.example.org
    assert key_range("https://news.example/a?b=1") is None

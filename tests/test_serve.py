"""`stablecopy serve`: pywb replays what was archived, at the URLs `cite` prints, with Memento.

The server runs as a real process (pywb in its own virtualenv); the tests talk HTTP to it.
"""

from __future__ import annotations

import email.utils
import json
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from stablecopy.replay.environment import ReplayEnvironmentError, pywb_python
from stablecopy.samplesite.pages import seed_article
from stablecopy.samplesite.server import SiteServer
from tests.helpers import FAST, json_lines, run_cli
from tests.rawserver import RawServer, response
from tests.replay import Replay, fetch, serving

pytestmark = pytest.mark.catalogue

ARTICLE = seed_article().path


def crawl(site: SiteServer, data: Path) -> None:
    result = run_cli("crawl", site.url(ARTICLE), "--data-dir", str(data), *FAST)
    assert result.returncode == 0, result.stderr


@dataclass
class Served:
    """The replay server over a data directory with three captures of the seed article."""

    replay: Replay
    article: str

    @property
    def base(self) -> str:
        return self.replay.base

    @property
    def data(self) -> Path:
        return self.replay.data

    def url(self, path: str) -> str:
        return self.replay.url(path)

    def captures(self) -> list[dict[str, object]]:
        listed = run_cli("captures", "--json", "--url", self.article, "--data-dir", str(self.data))
        return json_lines(listed.stdout)


@pytest.fixture(scope="module")
def replay(site: SiteServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data = tmp_path_factory.mktemp("replay") / "data"
    for _ in range(3):
        crawl(site, data)
    with serving(data) as server:
        yield Served(server, site.url(ARTICLE))


def test_serve_binds_loopback_and_replays_the_raw_bytes_of_a_capture(
    replay: Served, site: SiteServer
) -> None:
    latest = replay.captures()[-1]
    stamp = re.sub(r"\D", "", str(latest["fetched_at"]))[:14]
    response = fetch(replay.url(f"/archive/{stamp}id_/{replay.article}"))
    assert response.status == 200
    assert response.read() == site.httpd.resources[ARTICLE].body
    assert response.headers["Memento-Datetime"]


def test_cited_urls_replay(replay: Served) -> None:
    cited = run_cli("cite", replay.article, "--format", "csl-json", "--base-url",
                    replay.base.removesuffix("/archive/"), "--data-dir", str(replay.data))  # fmt: skip
    archived = re.search(r'"URL": "([^"]+)"', cited.stdout)
    assert archived
    response = fetch(archived.group(1))
    assert response.status == 200
    assert b"Iran-Backed" in response.read()


def test_timemap_lists_every_capture_of_a_url(replay: Served) -> None:
    timemap = fetch(replay.url(f"/archive/timemap/link/{replay.article}")).read().decode()
    mementos = re.findall(r'rel="memento"; datetime="([^"]+)"', timemap)
    assert len(mementos) == 3
    assert 'rel="original"' in timemap
    assert 'rel="timegate"' in timemap


def test_timegate_negotiates_on_accept_datetime(replay: Served) -> None:
    first = replay.captures()[0]
    moment = time.strftime(
        "%a, %d %b %Y %H:%M:%S GMT",
        time.strptime(str(first["fetched_at"])[:19], "%Y-%m-%dT%H:%M:%S"),
    )
    response = fetch(replay.url(f"/archive/{replay.article}"), {"Accept-Datetime": moment})
    assert response.status in (200, 302)
    assert response.headers["Link"]
    assert "timemap" in response.headers["Link"]


def test_citation_ids_redirect_to_their_capture(replay: Served) -> None:
    capture = replay.captures()[1]
    stamp = re.sub(r"\D", "", str(capture["fetched_at"]))[:14]
    for path in (f"/{capture['short_id']}", f"/archive/{str(capture['short_id']).lower()}"):
        response = fetch(replay.url(path), follow=False)
        assert response.status == 302
        assert response.headers["Location"] == f"/archive/{stamp}/{replay.article}"
    assert fetch(replay.url("/ZZZZ-ZZZZ"), follow=False).status == 404


def test_a_new_capture_replays_as_soon_as_it_is_catalogued(
    replay: Served, site: SiteServer
) -> None:
    """The index is the catalogue: no refresh to wait for, the first request after the crawl sees
    the new capture, its citation id and its clean text."""
    crawl(site, replay.data)
    timemap = fetch(replay.url(f"/archive/timemap/link/{replay.article}")).read().decode()
    assert timemap.count('rel="memento"') == 4, timemap
    newest = replay.captures()[-1]
    stamp = re.sub(r"\D", "", str(newest["fetched_at"]))[:14]
    cited = fetch(replay.url(f"/{newest['short_id']}"), follow=False)
    assert cited.headers["Location"] == f"/archive/{stamp}/{replay.article}"
    text = fetch(replay.url(f"/archive/text/{newest['short_id']}"))
    assert text.status == 200
    assert "Iran-Backed" in text.read().decode("utf-8")


def test_a_prefix_query_lists_what_is_under_it_in_key_order(
    replay: Served, site: SiteServer
) -> None:
    root = site.url("/")
    listed = fetch(replay.url(f"/archive/cdx?url={root}*&output=json")).read().decode()
    lines = [json.loads(line) for line in listed.splitlines()]
    assert replay.article in {line["url"] for line in lines}
    assert all(line["url"].startswith(root) for line in lines)
    keys = [(line["urlkey"], line["timestamp"]) for line in lines]
    assert keys == sorted(keys)
    limited = fetch(replay.url(f"/archive/cdx?url={root}*&output=json&limit=2")).read().decode()
    assert [json.loads(line) for line in limited.splitlines()] == lines[:2]


def test_a_python_without_pywb_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ReplayEnvironmentError, match="cannot import pywb"):
        pywb_python(sys.executable, tmp_path)


def test_a_crawl_never_fetches_its_own_replay_server(replay: Served) -> None:
    own = replay.url("/archive/")
    # Other spellings of the same address: names, short and integer forms, IPv4-mapped IPv6.
    spellings = ("localhost", "127.1", "2130706433", "0x7f000001", "[::ffff:127.0.0.1]")
    aliases = [own.replace("127.0.0.1", spelling) for spelling in spellings]
    before = {c["url"] for c in replay.captures()}
    crawled = run_cli("crawl", own, *aliases, "--data-dir", str(replay.data), *FAST)
    assert crawled.returncode == 1, crawled.stderr  # refused, so nothing archived: no success
    assert "Error: no page was archived" in crawled.stderr
    assert f"not crawling {own}: it is this archive's own replay server" in crawled.stderr
    for alias in aliases:
        assert f"not crawling {alias}" in crawled.stderr
    listed = json_lines(run_cli("captures", "--json", "--data-dir", str(replay.data)).stdout)
    port = own.split(":")[2].split("/")[0]
    assert not [c for c in listed if f":{port}/" in str(c["url"])]
    assert {c["url"] for c in replay.captures()} == before


STORY = (
    b"<html><head><title>Harbour plan</title></head><body><article>"
    + b"<p>The council approved the harbour plan.</p>" * 10
    + b"</article></body></html>"
)


def test_every_capture_replays_at_its_own_time_304_revisits_included(tmp_path: Path) -> None:
    """One capture, one time: a 304 revisit replays its original's bytes, but at the time the
    server confirmed them (as its citation says), not the original's."""
    data = tmp_path / "data"
    tagged = [b"Content-Type: text/html; charset=utf-8", b'ETag: "v1"']
    with RawServer({"/story": response(b"HTTP/1.1 200 OK", tagged, STORY)}) as server:
        for answer in (STORY, None):
            if answer is None:
                time.sleep(1.1)  # the revisit in another second than its original
                server.answer("/story", response(b"HTTP/1.1 304 Not Modified", tagged[1:], b""))
            done = run_cli("crawl", server.url("/story"), "--data-dir", str(data), *FAST)
            assert done.returncode == 0, done.stderr
        url = server.url("/story")
    with serving(data) as served:
        replay = Served(served, url)
        captures = replay.captures()
        assert [c["status"] for c in captures] == [200, 304]
        for capture in captures:
            stamp = re.sub(r"\D", "", str(capture["fetched_at"]))[:14]
            answered = fetch(replay.url(f"/archive/{stamp}id_/{url}"))
            assert answered.status == 200
            assert answered.read() == STORY
            moment = answered.headers["Memento-Datetime"]
            assert email.utils.parsedate_to_datetime(moment).strftime("%Y%m%d%H%M%S") == stamp
            assert f'datetime="{moment}"' in answered.headers["Link"]

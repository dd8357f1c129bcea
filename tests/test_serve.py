"""`stablecopy serve`: pywb replays what was archived, at the URLs `cite` prints, with Memento.

The server runs as a real process (pywb in its own virtualenv); the tests talk HTTP to it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

import pytest

from stablecopy.replay.environment import ReplayEnvironmentError, pywb_python
from stablecopy.samplesite.pages import seed_article
from stablecopy.samplesite.server import SiteServer
from tests.helpers import FAST, json_lines, run_cli

ROOT = Path(__file__).parent.parent
ARTICLE = seed_article().path


def pywb() -> str:
    """The Python with pywb that `make test` prepared (STABLECOPY_PYWB_PYTHON, or .venv-pywb)."""
    given = os.environ.get("STABLECOPY_PYWB_PYTHON") or str(ROOT / ".venv-pywb" / "bin" / "python")
    if not Path(given).exists():
        raise RuntimeError("no pywb environment: run `make test`, which prepares .venv-pywb")
    return given


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


@dataclass(frozen=True)
class Fetched:
    status: int
    headers: Message
    body: bytes

    def read(self) -> bytes:
        return self.body


def fetch(url: str, headers: dict[str, str] | None = None, follow: bool = True) -> Fetched:
    opener = urllib.request.build_opener() if follow else urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with opener.open(request, timeout=30) as response:
            return Fetched(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Fetched(error.code, error.headers, error.read())


@dataclass
class Replay:
    base: str
    data: Path
    process: subprocess.Popen[str]

    def url(self, path: str) -> str:
        """`path` on the replay server (`base` is its collection URL, /archive/)."""
        return self.base.removesuffix("/archive/") + path

    def captures(self) -> list[dict[str, object]]:
        listed = run_cli("captures", "--json", "--url", self.article, "--data-dir", str(self.data))
        return json_lines(listed.stdout)

    article: str = ""


def crawl(site: SiteServer, data: Path) -> None:
    result = run_cli("crawl", site.url(ARTICLE), "--data-dir", str(data), *FAST)
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def replay(site: SiteServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replay]:
    data = tmp_path_factory.mktemp("replay") / "data"
    for _ in range(3):
        crawl(site, data)
    process = subprocess.Popen(
        [sys.executable, "-m", "stablecopy", "serve", "--port", "0", "--data-dir", str(data),
         "--pywb-python", pywb()],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline()
    match = re.match(r"Replaying archive at (http://127\.0\.0\.1:\d+/archive/)$", line.strip())
    assert match, line + (process.stderr.read() if process.stderr else "")
    served = Replay(match.group(1), data, process, article=site.url(ARTICLE))
    yield served
    process.terminate()
    process.communicate(timeout=30)


def test_serve_binds_loopback_and_replays_the_raw_bytes_of_a_capture(
    replay: Replay, site: SiteServer
) -> None:
    latest = replay.captures()[-1]
    stamp = re.sub(r"\D", "", str(latest["fetched_at"]))[:14]
    response = fetch(replay.url(f"/archive/{stamp}id_/{replay.article}"))
    assert response.status == 200
    assert response.read() == site.httpd.resources[ARTICLE].body
    assert response.headers["Memento-Datetime"]


def test_cited_urls_replay(replay: Replay) -> None:
    cited = run_cli("cite", replay.article, "--format", "csl-json", "--base-url",
                    replay.base.removesuffix("/archive/"), "--data-dir", str(replay.data))  # fmt: skip
    archived = re.search(r'"archive_location": "([^"]+)"', cited.stdout)
    assert archived
    response = fetch(archived.group(1))
    assert response.status == 200
    assert b"Iran-Backed" in response.read()


def test_timemap_lists_every_capture_of_a_url(replay: Replay) -> None:
    timemap = fetch(replay.url(f"/archive/timemap/link/{replay.article}")).read().decode()
    mementos = re.findall(r'rel="memento"; datetime="([^"]+)"', timemap)
    assert len(mementos) == 3
    assert 'rel="original"' in timemap
    assert 'rel="timegate"' in timemap


def test_timegate_negotiates_on_accept_datetime(replay: Replay) -> None:
    first = replay.captures()[0]
    moment = time.strftime(
        "%a, %d %b %Y %H:%M:%S GMT",
        time.strptime(str(first["fetched_at"])[:19], "%Y-%m-%dT%H:%M:%S"),
    )
    response = fetch(replay.url(f"/archive/{replay.article}"), {"Accept-Datetime": moment})
    assert response.status in (200, 302)
    assert response.headers["Link"]
    assert "timemap" in response.headers["Link"]


def test_citation_ids_redirect_to_their_capture(replay: Replay) -> None:
    capture = replay.captures()[1]
    stamp = re.sub(r"\D", "", str(capture["fetched_at"]))[:14]
    for path in (f"/{capture['short_id']}", f"/archive/{str(capture['short_id']).lower()}"):
        response = fetch(replay.url(path), follow=False)
        assert response.status == 302
        assert response.headers["Location"] == f"/archive/{stamp}/{replay.article}"
    assert fetch(replay.url("/ZZZZ-ZZZZ"), follow=False).status == 404


def test_new_captures_replay_without_reindexing(replay: Replay, site: SiteServer) -> None:
    crawl(site, replay.data)
    deadline = time.monotonic() + 30
    while True:  # the index follows the catalogue within a refresh interval
        timemap = fetch(replay.url(f"/archive/timemap/link/{replay.article}")).read().decode()
        if timemap.count('rel="memento"') == 4:
            break
        assert time.monotonic() < deadline, timemap
        time.sleep(0.2)


def test_a_python_without_pywb_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ReplayEnvironmentError, match="cannot import pywb"):
        pywb_python(sys.executable, tmp_path)

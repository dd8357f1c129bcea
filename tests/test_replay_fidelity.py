"""A replayed page looks like the live page, says it is a copy, and loads nothing from the live web.

Debian's Chromium, driven by Playwright, loads an article of the sample site live (its stylesheets,
web font, responsive and lazy images and iframe come from the site and from its "CDN" on another
loopback address; an ad tag from a third, blocked) and then its replay by `stablecopy serve`. The
two screenshots are compared pixel by pixel below the banner; the browser's network logs are
compared with each other and with the catalogue.
"""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image, ImageChops
from playwright.sync_api import Page, Response, sync_playwright

from stablecopy.samplesite.pages import ROTATING_AD, articles
from stablecopy.samplesite.server import SiteServer
from tests.helpers import FAST, json_lines, run_cli
from tests.replay import Replay, fetch, serving

pytestmark = pytest.mark.catalogue

CHROMIUM = os.environ.get("STABLECOPY_CHROMIUM", "/usr/bin/chromium")
WIDTH, HEIGHT = 1100, 1500
# Below this share of differing pixels, two screenshots show the same page. The same engine draws
# the same bytes the same way, so a faithful replay differs by nothing or by a few pixels of
# anti-aliasing at most; one missing requisite (the web font of the headlines, the masthead, one
# photo) changes several percent of the viewport (the test shows that the font alone exceeds it).
SAME_PAGE = 0.005
CHANNEL_TOLERANCE = 24  # per colour channel, out of 255: anti-aliasing, not a different pixel
ARTICLE = next(a for a in articles() if a.slug != ROTATING_AD)  # no advertisement in the page


@dataclass
class Visit:
    """What the browser did to show one page: every request, every response, a screenshot."""

    requested: list[str] = field(default_factory=list)
    answered: list[tuple[int, str]] = field(default_factory=list)
    screenshot: bytes = b""


@dataclass
class Fidelity:
    site: SiteServer
    data: Path
    replay: Replay
    live: Visit
    replayed: Visit
    banner: str
    banner_height: float
    degraded: Visit  # the live page without its web font: what a missing requisite looks like

    def captures(self) -> list[dict[str, object]]:
        listed = run_cli("captures", "--json", "--data-dir", str(self.data))
        assert listed.returncode == 0, listed.stderr
        return json_lines(listed.stdout)


def _settled(page: Page) -> None:
    """Wait until the page shows what it will show: fonts loaded, images decoded."""
    page.wait_for_load_state("networkidle")
    page.evaluate("document.fonts.ready.then(() => true)")
    page.wait_for_function(
        "Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)"
    )
    page.wait_for_timeout(300)


def _visit(page: Page, url: str, clip_top: float = 0.0, block: str | None = None) -> Visit:
    seen = Visit()
    page.on("request", lambda request: seen.requested.append(request.url))

    def answered(response: Response) -> None:
        seen.answered.append((response.status, response.url))

    page.on("response", answered)
    if block:
        page.route(block, lambda route: route.abort())
    page.goto(url, wait_until="load")
    _settled(page)
    seen.screenshot = page.screenshot(
        clip={"x": 0, "y": clip_top, "width": WIDTH, "height": HEIGHT}
    )
    return seen


@pytest.fixture(scope="module")
def fidelity(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fidelity]:
    data = tmp_path_factory.mktemp("fidelity") / "data"
    with SiteServer() as site:
        ads = urlsplit(site.ads.base).hostname
        crawled = run_cli(
            "crawl", site.url(ARTICLE.path), "--data-dir", str(data), *FAST,
            "-s", f"STABLECOPY_BLOCKED_HOSTS={ads}",  # no public list names a loopback address
        )  # fmt: skip
        assert crawled.returncode == 0, crawled.stderr
        listed = json_lines(run_cli("captures", "--json", "--data-dir", str(data)).stdout)
        page_row = next(r for r in listed if r["url"] == site.url(ARTICLE.path))
        stamp = re.sub(r"\D", "", str(page_row["fetched_at"]))[:14]
        with serving(data) as replay, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            viewport = {"width": WIDTH, "height": HEIGHT}
            live = _visit(browser.new_page(viewport=viewport), site.url(ARTICLE.path))
            degraded = _visit(
                browser.new_page(viewport=viewport), site.url(ARTICLE.path), block="**/*.woff2"
            )
            page = browser.new_page(viewport=viewport)
            replay_url = f"{replay.base}{stamp}/{site.url(ARTICLE.path)}"
            page.goto(replay_url, wait_until="load")
            banner = page.locator("#stablecopy-banner")
            height = banner.bounding_box()["height"]  # type: ignore[index]
            text = banner.locator(".bar").inner_text()  # in its shadow root
            fresh = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT + int(height) + 1})
            replayed = _visit(fresh, replay_url, clip_top=height)
            browser.close()
            yield Fidelity(site, data, replay, live, replayed, text, height, degraded)


def _difference(one: bytes, other: bytes) -> float:
    """The share of pixels that differ by more than anti-aliasing between two screenshots."""
    first = Image.open(io.BytesIO(one)).convert("RGB")
    second = Image.open(io.BytesIO(other)).convert("RGB")
    assert first.size == second.size
    delta = ImageChops.difference(first, second).convert("L")
    changed = sum(delta.point(lambda v: 255 if v > CHANNEL_TOLERANCE else 0).histogram()[255:])
    return changed / (first.size[0] * first.size[1])


def test_the_replay_looks_like_the_live_page(fidelity: Fidelity) -> None:
    assert _difference(fidelity.live.screenshot, fidelity.replayed.screenshot) < SAME_PAGE
    # ...and the measure sees a copy that lacks one requisite: the same page without its font.
    assert _difference(fidelity.live.screenshot, fidelity.degraded.screenshot) > SAME_PAGE


def test_the_banner_says_it_is_a_copy_when_and_of_what(fidelity: Fidelity) -> None:
    text = fidelity.banner
    assert "Archived copy" in text
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", text)
    assert fidelity.site.url(ARTICLE.path) in text
    page = next(r for r in fidelity.captures() if r["url"] == fidelity.site.url(ARTICLE.path))
    assert f"Citation {page['short_id']}" in text
    for link in ("Clean text", "TimeMap", "All captures"):
        assert link in text
    assert fidelity.banner_height > 0


def test_the_banner_links_lead_to_the_text_the_timemap_and_the_citation(
    fidelity: Fidelity,
) -> None:
    page = next(r for r in fidelity.captures() if r["url"] == fidelity.site.url(ARTICLE.path))
    text = fetch(fidelity.replay.url(f"/archive/text/{page['short_id']}"))
    assert text.status == 200
    assert text.headers["Content-Type"].startswith("text/plain")
    assert ARTICLE.paragraphs[0][:60] in text.read().decode()
    timemap = fetch(fidelity.replay.base + "timemap/link/" + str(page["url"]))
    assert timemap.status == 200
    assert b"memento" in timemap.read()
    cited = fetch(fidelity.replay.url(f"/archive/{page['short_id']}"), follow=False)
    assert cited.status == 302


def test_raw_copies_are_the_archived_bytes_without_a_banner(fidelity: Fidelity) -> None:
    page = next(r for r in fidelity.captures() if r["url"] == fidelity.site.url(ARTICLE.path))
    stamp = re.sub(r"\D", "", str(page["fetched_at"]))[:14]
    raw = fetch(f"{fidelity.replay.base}{stamp}id_/{page['url']}")
    live = fetch(str(page["url"]), headers={"Accept-Encoding": "identity"})
    assert raw.read() == live.read()
    assert b"stablecopy-banner" not in raw.body


def test_the_replay_loads_nothing_from_the_live_web(fidelity: Fidelity) -> None:
    origin = fidelity.replay.url("/")
    outside = [
        url
        for url in fidelity.replayed.requested
        if not url.startswith((origin, "data:", "blob:", "about:"))
    ]
    assert outside == []
    served = fetch(fidelity.replay.base)  # every answer of the replay origin carries the CSP
    assert "default-src 'self'" in served.headers["Content-Security-Policy"]
    assert "ws:" not in served.headers["Content-Security-Policy"]


def _original(replayed_url: str) -> str:
    """The archived URL inside a replay URL (/archive/{timestamp}{modifier}/{url})."""
    match = re.search(r"/archive/\d{14}(?:[a-z]{2}_)?/(.+)$", replayed_url)
    return match.group(1) if match else replayed_url


def test_every_resource_the_live_page_loaded_is_archived_and_replays(fidelity: Fidelity) -> None:
    blocked = fidelity.site.ads.base
    loaded_live = {
        url
        for url in fidelity.live.requested
        if url.startswith("http") and not url.startswith(blocked)
    }
    assert len(loaded_live) >= 10  # the page, its stylesheets, font, images, script, iframe...
    archived = {str(row["url"]) for row in fidelity.captures()}
    assert loaded_live <= archived, loaded_live - archived
    # Replayed, none of them is missing: every resource the live page loaded got a 2xx or 3xx.
    statuses: dict[str, int] = {}
    for status, url in fidelity.replayed.answered:
        statuses[_original(url)] = min(status, statuses.get(_original(url), status))
    failed = {
        url: statuses.get(url) for url in loaded_live if not 200 <= statuses.get(url, 0) < 400
    }
    assert failed == {}
    # The blocked ad host was neither archived nor, in replay, fetched from the live web.
    assert not any(url.startswith(blocked) for url in archived)


def test_show_lists_the_requisites_and_says_the_copy_is_complete(fidelity: Fidelity) -> None:
    page = next(r for r in fidelity.captures() if r["url"] == fidelity.site.url(ARTICLE.path))
    summary = page["requisites"]
    assert isinstance(summary, dict)
    assert summary["complete"] is True
    assert summary["failed"] == summary["missing"] == 0
    assert summary["skipped"] == 1  # the ad tag, on a blocked host
    shown = run_cli("show", str(page["id"]), "--data-dir", str(fidelity.data))
    assert shown.returncode == 0, shown.stderr
    assert ": complete" in shown.stdout
    assert "ad or tracker host" in shown.stdout
    assert json.dumps(summary)  # plain JSON types

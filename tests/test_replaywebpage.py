"""Our WACZ packages open in ReplayWeb.page, the viewer most people use: Debian's Chromium, driven by
Playwright, loads the `replaywebpage` npm package (2.5.3, fetched by `make test`) from a loopback
server beside an exported package, and replays the archived page at its capture time."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, sync_playwright
from sqlalchemy import select
from sqlalchemy.orm import Session

from stablecopy.catalog.models import Capture
from stablecopy.catalog.session import open_catalog
from stablecopy.labels import timestamp14
from stablecopy.layout import DataLayout
from stablecopy.samplesite.server import SiteServer
from tests.helpers import FAST, run_cli
from tests.staticserver import StaticServer

pytestmark = pytest.mark.catalogue

REPLAYWEBPAGE = Path(
    os.environ.get(
        "STABLECOPY_REPLAYWEBPAGE", Path(__file__).parent.parent / ".consumers" / "replaywebpage"
    )
)
CHROMIUM = os.environ.get("STABLECOPY_CHROMIUM", "/usr/bin/chromium")


def viewer(folder: Path, package: str, url: str) -> None:
    """An embedding page, as ReplayWeb.page's embedding guide has it: ui.js, and the service
    worker under replay/."""
    shutil.copy(REPLAYWEBPAGE / "ui.js", folder / "ui.js")
    (folder / "replay").mkdir()
    shutil.copy(REPLAYWEBPAGE / "sw.js", folder / "replay" / "sw.js")
    (folder / "index.html").write_text(
        '<!doctype html><html><head><script src="./ui.js"></script></head><body>'
        f'<replay-web-page style="display:block;height:700px" source="./{package}" url="{url}" '
        'replayBase="./replay/"></replay-web-page></body></html>',
        "utf-8",
    )


def replayed(page: Page, wanted: str, errors: list[str], seconds: float = 120) -> tuple[str, str]:
    """The URL and text of the frame that replays the archived page, once it shows `wanted`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for frame in page.frames:
            if "mp_/" not in frame.url:
                continue
            try:
                text = frame.evaluate("document.body ? document.body.innerText : ''")
            except PlaywrightError:  # a frame navigating away: look again
                text = ""
            if wanted in text:
                return frame.url, text
        page.wait_for_timeout(250)  # lets Playwright take in the browser's events, unlike sleep
    frames = [f.url for f in page.frames]
    raise AssertionError(f"ReplayWeb.page never showed {wanted!r}: {frames}; console: {errors}")


def test_an_exported_wacz_replays_in_replaywebpage(site: SiteServer, tmp_path: Path) -> None:
    data = tmp_path / "data"
    crawled = run_cli("crawl", site.url("/"), "--data-dir", str(data), *FAST)
    assert crawled.returncode == 0, crawled.stderr
    served = tmp_path / "served"
    served.mkdir()
    exported = run_cli("export", "--wacz", str(served / "archive.wacz"), "--data-dir", str(data))
    assert exported.returncode == 0, exported.stderr
    engine = open_catalog(DataLayout.create(data).db_url)
    with Session(engine) as session:
        fetched = session.scalars(
            select(Capture.fetched_at).where(Capture.url == site.url("/"))
        ).one()
    engine.dispose()
    viewer(served, "archive.wacz", site.url("/"))
    errors: list[str] = []
    with StaticServer(served) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.on("console", lambda m: errors.append(m.text))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(server.base + "/index.html")
            try:
                frame_url, text = replayed(page, "The Loopback Ledger", errors, seconds=60)
            except AssertionError:
                # On a busy machine ReplayWeb.page's first load can race the installation of its
                # service worker and wait for ever (seen once, with no console error); a reader
                # reloads. A package it cannot read fails the same way after the reload.
                page.reload()
                frame_url, text = replayed(page, "The Loopback Ledger", errors, seconds=90)
        finally:
            browser.close()
    assert f"/{timestamp14(fetched)}mp_/{site.url('/')}" in frame_url  # at its capture time
    assert "Most read" in text
    assert not [e for e in errors if "is not valid JSON" in e], errors

"""`stablecopy web` in a real browser (Playwright driving Debian's chromium) and over plain HTTP:
search, a capture's page, citations, timeline and diff, an archivist's schedule run to its end,
and everything an anonymous visitor or a forged form must not be able to do.

Two editions of the sample site are crawled (one story edited in the second); the interface runs
as a real process on loopback.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from stablecopy.samplesite.pages import CORRECTION, EDITED, articles, seed_article
from stablecopy.samplesite.server import SiteServer
from tests.helpers import FAST, json_lines, run_cli
from tests.replay import serving

pytestmark = pytest.mark.catalogue

CHROMIUM = os.environ.get("STABLECOPY_CHROMIUM", "/usr/bin/chromium")
PASSWORD = "correct horse battery staple"
SCREENSHOTS = Path(__file__).parent.parent / "docs" / "screenshots"


@dataclass
class Running:
    base: str
    data: Path
    site: SiteServer
    browser: Browser

    def url(self, path: str) -> str:
        return self.base.rstrip("/") + path


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    data = tmp_path_factory.mktemp("web") / "data"
    with SiteServer() as site, contextlib.ExitStack() as stack:
        for edition in (1, 2):
            site.set_edition(edition)
            crawled = run_cli("crawl", site.url("/"), "--follow", "--no-requisites",
                              "--data-dir", str(data), *FAST)  # fmt: skip
            assert crawled.returncode == 0, crawled.stderr
        added = subprocess.run(
            [sys.executable, "-m", "stablecopy", "user", "add", "ana", "--password-stdin",
             "--data-dir", str(data)],
            input=PASSWORD + "\n", capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        replay = stack.enter_context(serving(data))
        origin = replay.base.removesuffix("archive/")
        process = subprocess.Popen(
            [sys.executable, "-m", "stablecopy", "web", "--port", "0", "--data-dir", str(data),
             "--replay-url", origin],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            match = re.match(r"Web interface at (http://127\.0\.0\.1:\d+/)$", line.strip())
            assert match, line + (process.stderr.read() if process.stderr else "")
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                                     args=["--no-sandbox"])  # fmt: skip
                yield Running(match.group(1), data, site, browser)
                browser.close()
        finally:
            process.terminate()
            process.communicate(timeout=30)


def signed_in(web: Running, page: Page) -> Page:
    page.goto(web.url("/login"))
    page.get_by_label("Name").fill("ana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/$"))
    return page


def shot(page: Page, name: str) -> None:
    """Screenshots for the README: written into docs/screenshots when asked to."""
    if os.environ.get("STABLECOPY_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)


def test_search_finds_an_article_by_a_phrase_of_its_clean_text(web: Running) -> None:
    article = seed_article()
    words = " ".join(article.paragraphs[1].split()[3:9])
    page = web.browser.new_page()
    page.goto(web.url("/"))
    page.get_by_label(re.compile("Words")).fill(f'"{words}"')
    page.get_by_role("button", name="Search").click()
    hits = page.locator("ol.hits > li")
    assert hits.count() >= 1
    first = hits.first
    assert first.locator("mark").count() >= 1
    shot(page, "search")
    assert article.path in first.locator(".url").inner_text()
    first.locator("h2 a").click()
    page.wait_for_url(re.compile(r".*/capture/.*"))
    listed = json_lines(run_cli("captures", "--json", "--data-dir", str(web.data)).stdout)
    row = next(r for r in listed if r["url"] == web.site.url(article.path))
    provenance = page.locator("table.provenance").inner_text()
    assert str(row["payload_sha256"]) in provenance
    assert "scrapy 2.19" in provenance
    assert str(row["warc_file"]) in provenance
    frame = page.locator("iframe.replay").get_attribute("src") or ""
    assert frame.endswith(web.site.url(article.path))
    assert "/archive/" in frame
    assert " ".join(article.paragraphs[1].split()) in " ".join(
        page.locator(".cleantext").inner_text().split()
    )
    replayed = page.frame_locator("iframe.replay").locator("body")
    assert article.paragraphs[1].split()[0] in replayed.inner_text(timeout=30_000)
    shot(page, "capture")
    page.close()


def test_the_bibtex_citation_is_copied_and_downloaded(web: Running) -> None:
    context = web.browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    article = seed_article()
    page.goto(web.url("/?q=" + urllib.parse.quote(article.title.split()[0])))
    page.locator("ol.hits h2 a").first.click()
    page.get_by_role("button", name="Copy bibtex").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("@online{stablecopy-")
    assert copied.strip() == page.locator("#cite-bibtex").inner_text().strip()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download .bib").click()
    saved = Path(download.value.path()).read_text("utf-8")
    assert saved.strip() == copied.strip()
    context.close()


def test_the_timeline_and_diff_show_the_edited_story(web: Running) -> None:
    edited = next(a for a in articles() if a.slug == EDITED)
    listed = json_lines(run_cli("captures", "--json", "--url", web.site.url(edited.path),
                                "--data-dir", str(web.data)).stdout)  # fmt: skip
    latest = max(listed, key=lambda r: str(r["fetched_at"]))
    page = web.browser.new_page()
    page.goto(web.url(f"/capture/{latest['short_id']}"))
    entries = page.locator("ol.timeline > li")
    assert entries.count() == 2
    assert "changed" in entries.nth(1).inner_text()
    page.get_by_role("link", name="diff with the previous").click()
    page.wait_for_url(re.compile(r".*/diff\?.*"))
    added = page.locator("pre.diff ins").all_inner_texts()
    assert any(CORRECTION.strip() in line for line in added)
    shot(page, "diff")
    page.close()


def test_an_archivist_adds_a_schedule_runs_it_and_sees_it_finish(web: Running) -> None:
    page = signed_in(web, web.browser.new_page())
    page.goto(web.url("/schedules"))
    page.get_by_label("Name").fill("front page")
    page.get_by_label(re.compile("URLs to capture")).fill(web.site.url("/"))
    page.get_by_label(re.compile("Every")).fill("1d")
    page.get_by_role("button", name="Add schedule").click()
    row = page.locator("tr", has_text="front page")
    assert "every 1d" in row.inner_text()
    row.get_by_role("link", name="Edit").click()
    page.get_by_label(re.compile("Every")).fill("2d")
    page.get_by_role("button", name="Save").click()
    row = page.locator("tr", has_text="front page")
    assert "every 2d" in row.inner_text()
    row.get_by_role("button", name="Pause").click()
    assert "paused" in page.locator("tr", has_text="front page").inner_text()
    page.locator("tr", has_text="front page").get_by_role("button", name="Resume").click()
    row = page.locator("tr", has_text="front page")
    assert "active" in row.inner_text()
    shot(page, "schedules")
    row.get_by_role("button", name="Run now").click()
    page.wait_for_url(re.compile(r".*/crawls$"))
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        page.reload()
        newest = page.locator("tbody tr").first
        if "front page" in newest.inner_text() and "finished" in newest.inner_text():
            break
        time.sleep(1)
    else:
        raise AssertionError("the run did not finish: " + page.locator("tbody").inner_text())
    shot(page, "runs")
    page.locator("tbody tr").first.locator("a").first.click()
    assert "finished" in page.locator("h1").inner_text()
    page.close()


# --- what must be refused ------------------------------------------------------------------------


class Client:
    """A plain HTTP client with its own cookies (a browser without JavaScript, or a forger)."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(jar), _NoRedirect()
        )

    def get(self, path: str) -> tuple[int, str]:
        return self._open(urllib.request.Request(self.base + path))

    def post(self, path: str, form: dict[str, str], origin: str | None = None) -> tuple[int, str]:
        headers = {"Origin": origin} if origin else {}
        request = urllib.request.Request(self.base + path, urllib.parse.urlencode(form).encode(),
                                         headers=headers, method="POST")  # fmt: skip
        return self._open(request)

    def _open(self, request: urllib.request.Request) -> tuple[int, str]:
        try:
            with self.opener.open(request, timeout=30) as answer:
                return answer.status, answer.read().decode("utf-8")
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.read().decode("utf-8")

    def csrf(self, path: str = "/login") -> str:
        _, body = self.get(path)
        found = re.search(r'name="csrf" value="([^"]+)"', body)
        assert found, body[:500]
        return found.group(1)

    def sign_in(self, password: str = PASSWORD) -> int:
        return self.post("/login", {"csrf": self.csrf(), "name": "ana", "password": password})[0]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def schedule_form(csrf: str, name: str) -> dict[str, str]:
    return {"csrf": csrf, "name": name, "seeds": "http://127.0.0.1:9/", "every": "1d"}


def test_an_anonymous_visitor_can_read_but_not_change_anything(web: Running) -> None:
    anonymous = Client(web.base)
    assert anonymous.get("/")[0] == 200
    assert anonymous.get("/crawls")[0] == 200
    token = anonymous.csrf("/login")  # a real token of an anonymous session
    assert anonymous.post("/schedules", schedule_form(token, "sneaky"))[0] == 401
    assert anonymous.post("/schedules/front%20page/pause", {"csrf": token})[0] == 401
    assert anonymous.post("/schedules/front%20page/run", {"csrf": token})[0] == 401
    assert "sneaky" not in anonymous.get("/schedules")[1]
    assert "Run now" not in anonymous.get("/schedules")[1]  # no forms shown either
    assert anonymous.get("/schedules/front%20page/edit")[0] == 303  # to the sign-in page
    for path in ("/capture/1", "/"):  # nothing that writes answers to other methods
        assert anonymous.post(path, {"csrf": token})[0] == 405


def test_forms_without_the_right_csrf_token_are_refused(web: Running) -> None:
    archivist = Client(web.base)
    assert archivist.sign_in() == 303
    assert archivist.post("/schedules", schedule_form("", "no token"))[0] == 403
    assert archivist.post("/schedules", schedule_form("forged", "wrong token"))[0] == 403
    token = archivist.csrf("/schedules")
    other_site = archivist.post("/schedules", schedule_form(token, "cross site"),
                                origin="http://evil.example")  # fmt: skip
    assert other_site[0] == 403
    assert archivist.post("/schedules", schedule_form(token, "with token"))[0] == 303
    listed = archivist.get("/schedules")[1]
    assert "with token" in listed
    assert "no token" not in listed
    assert "wrong token" not in listed
    login_without_token = Client(web.base).post("/login", {"name": "ana", "password": PASSWORD})
    assert login_without_token[0] == 403


def test_sign_in_is_rate_limited_and_sessions_are_httponly_cookies(web: Running) -> None:
    page = web.browser.new_page()
    signed_in(web, page)
    cookie = next(c for c in page.context.cookies() if c["name"] == "stablecopy")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Lax"
    assert PASSWORD not in page.url
    page.close()
    guesser = Client(web.base)
    codes = [guesser.sign_in("wrong password") for _ in range(6)]
    assert codes[:5] == [401] * 5
    assert codes[5] == 429
    assert guesser.sign_in() == 429  # even the right password, until the window passes


def test_pages_are_labelled_and_fit_a_phone(web: Running) -> None:
    page = web.browser.new_page(viewport={"width": 375, "height": 740})
    for path in ("/", "/?q=syria", "/crawls", "/schedules", "/login"):
        page.goto(web.url(path))
        unlabelled = page.evaluate(
            "[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]"
            ".filter(e => !(e.labels && e.labels.length)).map(e => e.name)"
        )
        assert unlabelled == [], (path, unlabelled)
        wider = page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
        assert not wider, path
    page.close()


def test_reading_can_be_for_signed_in_users_only(web: Running) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "stablecopy", "web", "--port", "0", "--login-to-read",
         "--data-dir", str(web.data)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        base = process.stdout.readline().strip().rsplit(" ", 1)[-1]
        reader = Client(base)
        for path in ("/", "/crawls", "/schedules", "/capture/1"):
            status, _ = reader.get(path)
            assert status == 303, path  # to the sign-in page
        assert reader.sign_in() == 303
        assert reader.get("/crawls")[0] == 200
    finally:
        process.terminate()
        process.communicate(timeout=30)


def test_search_filters_by_site_run_language_and_change(web: Running) -> None:
    edited = next(a for a in articles() if a.slug == EDITED)
    word = urllib.parse.quote('"wrong date for the first attack"')  # only the correction says it
    reader = Client(web.base)
    host = urllib.parse.urlsplit(web.site.base).hostname
    everything = reader.get(f"/?q={word}")[1]
    assert edited.path in everything
    changed = reader.get(f"/?q={word}&changed=1")[1]
    assert edited.path in changed
    assert changed.count('class="url"') == 1  # only the story edited in the second edition
    assert "Nothing matches" in reader.get(f"/?q={word}&changed=1&crawl=1")[1]
    assert edited.path in reader.get(f"/?q={word}&site={host}")[1]
    assert "Nothing matches" in reader.get(f"/?q={word}&site=elsewhere.example")[1]
    assert "Nothing matches" in reader.get(f"/?q={word}&language=zz")[1]
    assert "Nothing matches" in reader.get(f"/?q={word}&until=2000-01-01")[1]
    assert reader.get('/?q="unbalanced&page=999')[0] == 200  # words, never query syntax


@pytest.mark.sqlite_only
def test_a_query_of_words_found_everywhere_comes_newest_first(web: Running) -> None:
    """On SQLite, ranking a word in a million texts takes seconds; such a query reads the newest
    matches instead (FTS5's term counts say when)."""
    from sqlalchemy.orm import Session

    from stablecopy.catalog import search
    from stablecopy.catalog.session import open_catalog
    from stablecopy.layout import DataLayout

    engine = open_catalog(DataLayout.create(web.data).db_url)
    with Session(engine) as session:
        everywhere = search.SearchFilter("the")
        newest, _ = search.search(session, everywhere, broad=1)
        rare, _ = search.search(session, search.SearchFilter("the correction"), broad=1)
    engine.dispose()
    ids = [hit.capture_id for hit in newest]
    assert len(ids) > 3
    assert ids == sorted(ids, reverse=True)
    assert rare  # "correction" is in one text: ranked as usual


def test_texts_of_an_older_catalogue_are_read_back_into_search(
    web: Running, tmp_path: Path
) -> None:
    """Migration 0009 indexes titles, authors and URLs of what was catalogued before it; the
    texts come from their WARC conversion records when `stablecopy web` starts."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from stablecopy.catalog import search
    from stablecopy.catalog.session import open_catalog
    from stablecopy.layout import DataLayout
    from stablecopy.web.app import fill_search_texts
    from tests.pgcatalogue import copy_data_dir

    data = tmp_path / "data"
    copy_data_dir(web.data, data)
    layout = DataLayout.create(data)
    engine = open_catalog(layout.db_url, writer=True)
    phrase = search.SearchFilter('"wrong date for the first attack"')
    with Session(engine) as session:
        session.execute(text("UPDATE search_texts SET body = ''"))  # as the migration leaves them
        session.commit()
        assert search.search(session, phrase)[0] == []
    fill_search_texts(engine, layout)
    with Session(engine) as session:
        hits, _ = search.search(session, phrase)
        assert search.unfilled(session) == []
    engine.dispose()
    assert [urllib.parse.urlsplit(hit.url).path for hit in hits] == [
        next(a for a in articles() if a.slug == EDITED).path
    ]

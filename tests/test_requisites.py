"""Page requisites: what is found in HTML and CSS, what is fetched or skipped, and what is recorded."""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import lxml.html
import pytest
from scrapy.settings import Settings

from stablecopy import settings as defaults
from stablecopy.layout import DataLayout
from stablecopy.requisites.blocklist import HostBlocklist
from stablecopy.requisites.markup import in_markup
from stablecopy.requisites.requisite import EMBED, FONT, IMAGE, MEDIA, STYLESHEET
from stablecopy.requisites.srcset import candidate_urls
from stablecopy.requisites.stylesheet import in_stylesheet
from stablecopy.samplesite.resource import Resource
from stablecopy.samplesite.server import SiteServer
from tests.helpers import FAST, json_lines, run_cli

BASE = "https://news.example/world/story.html"
DEFAULTS = {key: getattr(defaults, key) for key in dir(defaults) if key.startswith("STABLECOPY_")}
HTML = "text/html; charset=utf-8"
CSS = "text/css"


def found(markup: str, base: str = BASE) -> dict[str, tuple[str, str | None]]:
    root = lxml.html.fromstring(markup)
    return {r.url: (r.kind, r.skipped) for r in in_markup(root, base)}


def test_every_kind_of_element_a_page_loads_is_found() -> None:
    page = found("""<html><head>
<link rel="stylesheet" href="/css/a.css"><link rel="icon" href="/fav.ico">
<link rel="apple-touch-icon" href="/touch.png"><link rel="manifest" href="/site.webmanifest">
<link rel="preload" as="font" href="/f.woff2" crossorigin><link rel="modulepreload" href="/m.js">
<link rel="preload" as="image" imagesrcset="/p1.jpg 1x, /p2.jpg 2x">
<link rel="alternate" href="/feed.xml"><link rel="canonical" href="/x">
<script src="//cdn.example/lib.js"></script>
<style>@import url(/css/b.css); body { background: url('/bg.png') }</style>
</head><body background="/legacy.gif">
<img src="img/a.jpg" srcset="img/a-2x.jpg 2x, img/a-3x.jpg 3x">
<picture><source srcset="/wide.webp 1200w, /narrow.webp 600w"><img src="/fallback.jpg"></picture>
<img src="data:image/gif;base64,R0lGOD" data-src="/lazy.jpg" data-srcset="/lazy-2x.jpg 2x">
<img data-lazy-src="/lazy2.jpg"><img data-original="/lazy3.jpg"><div data-bg="url(/lazybg.jpg)"></div>
<img data-src='{"not": "a url"}'>
<video poster="/poster.jpg" src="/clip.mp4"><source src="/clip.webm"><track src="/subs.vtt"></video>
<audio src="/pod.mp3"></audio><input type="image" src="/go.png"><object data="/doc.svg"></object>
<embed src="/old.swf"><iframe src="/embed/map.html"></iframe>
<svg><image href="/svg-img.png"/><use xlink:href="/sprite.svg#icon"/><use href="#local"/></svg>
<p style="background-image: url(&quot;/inline.png&quot;)">x</p>
<a href="/next.html">a link is not a requisite</a><img src="javascript:void(0)"><img src="#top">
</body></html>""")
    absolute = "https://news.example"
    expected = {
        "/css/a.css": STYLESHEET, "/fav.ico": "icon", "/touch.png": "icon",
        "/site.webmanifest": "manifest", "/f.woff2": FONT, "/m.js": "script",
        "/p1.jpg": IMAGE, "/p2.jpg": IMAGE, "/css/b.css": STYLESHEET, "/bg.png": IMAGE,
        "/legacy.gif": IMAGE, "/world/img/a.jpg": IMAGE, "/world/img/a-2x.jpg": IMAGE,
        "/world/img/a-3x.jpg": IMAGE, "/wide.webp": IMAGE, "/narrow.webp": IMAGE,
        "/fallback.jpg": IMAGE, "/lazy.jpg": IMAGE, "/lazy-2x.jpg": IMAGE, "/lazy2.jpg": IMAGE,
        "/lazy3.jpg": IMAGE, "/lazybg.jpg": IMAGE, "/poster.jpg": IMAGE, "/clip.mp4": MEDIA,
        "/clip.webm": MEDIA, "/subs.vtt": "track", "/pod.mp3": MEDIA, "/go.png": IMAGE,
        "/doc.svg": "object", "/old.swf": "object", "/embed/map.html": EMBED,
        "/svg-img.png": IMAGE, "/sprite.svg": IMAGE, "/inline.png": IMAGE,
    }  # fmt: skip
    wanted = {absolute + path: kind for path, kind in expected.items()}
    wanted["https://cdn.example/lib.js"] = "script"  # scheme-relative: the page's scheme
    assert {url: kind for url, (kind, _) in page.items()} == wanted
    # Streams are found, and marked skipped: never fetched.
    assert page[absolute + "/clip.mp4"][1] == page[absolute + "/pod.mp3"][1] == "media stream"
    assert page[absolute + "/css/a.css"][1] is None


def test_base_href_and_encoding_shape_the_urls() -> None:
    page = found('<html><head><base href="https://static.example/v2/"></head><body>'
                 '<img src="photo é.jpg"></body></html>')  # fmt: skip
    assert list(page) == ["https://static.example/v2/photo%20%C3%A9.jpg"]


def test_srcset_is_split_as_html_splits_it() -> None:
    cloudinary = "https://res.example/image/upload/w_640,h_360,c_fill/a.jpg"
    assert candidate_urls(f"{cloudinary} 640w, /b.jpg 1280w") == [cloudinary, "/b.jpg"]
    assert candidate_urls("/a.jpg, /b.jpg 2x") == ["/a.jpg", "/b.jpg"]
    assert candidate_urls("/a.jpg,/b.jpg 2x") == ["/a.jpg,/b.jpg"]  # one URL, as browsers read it
    assert candidate_urls("  /a.jpg (max-width: 2px, x) 1x , /c.jpg") == ["/a.jpg", "/c.jpg"]
    assert candidate_urls("") == []


def test_stylesheets_are_tokenized_not_pattern_matched() -> None:
    css = b"""@charset "utf-8";
/* url(/in-a-comment.png) is no requisite */
@import "print.css" print; @import url(theme.css);
@font-face { font-family: X; src: url(../fonts/x.woff2) format("woff2"), url('../fonts/x.woff'); }
@media (min-width: 40em) { @supports (display: grid) { .a { background: url("/grid.png") } } }
.b { background-image: image-set("b1.png" 1x, url(b2.png) 2x); content: "url(not.png)"; }
.c { cursor: url(data:image/png;base64,AAAA), auto; mask: url(#clip); }
"""
    got = {r.url: r.kind for r in in_stylesheet(css, "https://cdn.example/css/site.css")}
    assert got == {
        "https://cdn.example/css/print.css": STYLESHEET,
        "https://cdn.example/css/theme.css": STYLESHEET,
        "https://cdn.example/fonts/x.woff2": FONT,
        "https://cdn.example/fonts/x.woff": FONT,
        "https://cdn.example/grid.png": IMAGE,
        "https://cdn.example/css/b1.png": IMAGE,
        "https://cdn.example/css/b2.png": IMAGE,
    }


def test_ad_and_tracker_hosts_are_blocked_by_the_bundled_list_and_by_setting() -> None:
    bundled = HostBlocklist.from_settings(Settings(DEFAULTS))
    assert bundled.blocks("securepubads.g.doubleclick.net")
    assert bundled.blocks("www.googletagmanager.com")
    assert not bundled.blocks("doubleclick.net.example.org")  # a suffix, not a parent domain
    assert not bundled.blocks("static.nytimes.com")
    none = HostBlocklist.from_settings(
        Settings({**DEFAULTS, "STABLECOPY_REQUISITE_BLOCKLISTS": []})
    )
    assert not none.blocks("securepubads.g.doubleclick.net")
    mine = HostBlocklist.from_settings(
        Settings({**DEFAULTS, "STABLECOPY_BLOCKED_HOSTS": ["ads.example"]})
    )
    assert mine.blocks("x.ads.example")


# --- crawls ----------------------------------------------------------------------------------------


def _page(body: str) -> Resource:
    return Resource(
        body=f"<!DOCTYPE html><html><body>{body}</body></html>".encode(), content_type=HTML
    )


def _captured(data: Path) -> dict[str, dict[str, object]]:
    listed = run_cli("captures", "--json", "--data-dir", str(data))
    assert listed.returncode == 0, listed.stderr
    return {str(row["url"]): row for row in json_lines(listed.stdout)}


@pytest.fixture(scope="module")
def cdn() -> Iterator[SiteServer]:
    """A second host whose robots.txt forbids a folder and asks for a Crawl-delay."""
    files = {
        "/robots.txt": Resource(
            b"User-agent: *\nCrawl-delay: 1\nDisallow: /private/\n", "text/plain"
        ),
        "/a.png": Resource(b"\x89PNG-a", "image/png"),
        "/b.png": Resource(b"\x89PNG-b", "image/png"),
        "/c.png": Resource(b"\x89PNG-c", "image/png"),
        "/private/d.png": Resource(b"\x89PNG-d", "image/png"),
        "/big.png": Resource(b"\x89PNG" + b"0" * 300_000, "image/png"),
        "/stream": Resource(b"\x00" * 1000, "video/mp4"),
    }
    with SiteServer(resources=lambda _base: files, host="127.0.0.2") as server:
        yield server


@pytest.fixture(scope="module")
def edge_site(cdn: SiteServer) -> Iterator[SiteServer]:
    c = cdn.base

    def site(base: str) -> dict[str, Resource]:
        return {
            "/page.html": _page(
                f'<img src="{c}/a.png"><img src="{c}/b.png"><img src="{c}/c.png">'
                f'<img src="{c}/private/d.png"><img src="{c}/big.png"><img src="{c}/stream">'
                '<img src="/gone.png"><img src="/moved.png"><iframe src="/frame1.html"></iframe>'
            ),
            "/moved.png": Resource(b"", HTML, status=301, headers=(("Location", "/here.png"),)),
            "/here.png": Resource(b"\x89PNG-here", "image/png"),
            "/frame1.html": _page('<iframe src="/frame2.html"></iframe><img src="/f1.png">'),
            "/frame2.html": _page('<iframe src="/frame3.html"></iframe><img src="/f2.png">'),
            "/frame3.html": _page("never fetched: three iframes deep"),
            "/f1.png": Resource(b"\x89PNG-f1", "image/png"),
            "/f2.png": Resource(b"\x89PNG-f2", "image/png"),
        }

    with SiteServer(resources=site) as server:
        yield server


@pytest.fixture(scope="module")
def edge_crawl(edge_site: SiteServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("edges") / "data"
    done = run_cli(
        "crawl", edge_site.url("/page.html"), "--data-dir", str(data), *FAST,
        "-s", "STABLECOPY_REQUISITE_MAX_SIZE=100000",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return data


@pytest.mark.catalogue
def test_a_page_says_what_its_copy_lacks_and_why(
    edge_crawl: Path, edge_site: SiteServer, cdn: SiteServer
) -> None:
    captured = _captured(edge_crawl)
    page = captured[edge_site.url("/page.html")]
    summary = page["requisites"]
    assert isinstance(summary, dict)
    assert summary["complete"] is False
    assert summary["failed"] == 1  # /gone.png: 404
    shown = run_cli("show", str(page["id"]), "--data-dir", str(edge_crawl)).stdout
    assert "INCOMPLETE" in shown
    lines = {line.split()[2]: line for line in shown.splitlines() if line.startswith("  ")}
    assert "HTTP 404" in lines[edge_site.url("/gone.png")]
    assert lines[f"{cdn.base}/private/d.png"].split()[0] == "skipped"
    assert "robots.txt" in lines[f"{cdn.base}/private/d.png"]
    assert "too large" in lines[f"{cdn.base}/big.png"]
    assert "media stream" in lines[f"{cdn.base}/stream"]
    assert "embed depth" in lines[edge_site.url("/frame3.html")]
    # A redirect is archived, and so is where it leads, as a requisite of it.
    assert "HTTP 301" in lines[edge_site.url("/moved.png")]
    assert lines[edge_site.url("/here.png")].split()[0] == "archived"
    # The iframes' own requisites are the page's too.
    assert lines[edge_site.url("/f2.png")].split()[0] == "archived"
    # Skipped bodies are not archived; nothing skipped counts as a failed page.
    assert f"{cdn.base}/big.png" not in captured
    assert f"{cdn.base}/stream" not in captured
    assert page["fetched_as"] == "page"
    assert captured[edge_site.url("/frame1.html")]["fetched_as"] == "embed"
    needed = run_cli("show", str(captured[f"{cdn.base}/a.png"]["id"]), "--data-dir",
                     str(edge_crawl)).stdout  # fmt: skip
    assert f"needed_by  {page['id']} ({edge_site.url('/page.html')})" in needed


@pytest.mark.catalogue
def test_a_host_crawl_delay_is_honoured(edge_crawl: Path, cdn: SiteServer) -> None:
    """Its requests are at least its Crawl-delay apart (a lower bound: never flaky)."""
    times = sorted(moment for moment, path in cdn.timed_requests if path.endswith(".png"))
    assert len(times) >= 3
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert min(gaps) >= 0.95, gaps


@pytest.mark.catalogue
def test_verify_of_a_page_checks_its_requisites(edge_crawl: Path, edge_site: SiteServer) -> None:
    checked = run_cli("verify", "--url", edge_site.url("/page.html"), "--json",
                      "--data-dir", str(edge_crawl))  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    summary = json_lines(checked.stdout)[-1]["summary"]
    assert isinstance(summary, dict)
    assert summary["captures"] >= 10  # the page, its images, iframes and theirs


@pytest.mark.catalogue
def test_a_second_crawl_stores_no_requisite_twice(site: SiteServer, tmp_path: Path) -> None:
    pages = [site.url(p) for p in ("/", "/world/", "/news/")]
    for _ in range(2):
        done = run_cli("crawl", *pages, "--data-dir", str(tmp_path), *FAST)
        assert done.returncode == 0, done.stderr
    listed = json_lines(run_cli("captures", "--json", "--data-dir", str(tmp_path)).stdout)
    second = [row for row in listed if row["crawl_id"] == 2 and row["fetched_as"] != "page"]
    assert len(second) >= 6  # stylesheets, font, script, icon, images, on two hosts
    assert {row["record_type"] for row in second} == {"revisit"}
    assert {urlsplit(str(row["url"])).hostname for row in second} >= {"127.0.0.1", "127.0.0.2"}


@pytest.mark.catalogue
def test_requisites_are_fetched_once_per_crawl(site: SiteServer, tmp_path: Path) -> None:
    before = len(site.cdn.requests)
    pages = [site.url(p) for p in ("/", "/world/", "/news/", "/region/", "/about/")]
    done = run_cli("crawl", *pages, "--data-dir", str(tmp_path), *FAST)
    assert done.returncode == 0, done.stderr
    fetched = [path for _, path, _ in site.cdn.requests[before:]]
    assert fetched.count("/fonts/ledger-display.woff2") == 1  # five pages need it
    assert len(fetched) == len(set(fetched))


def test_the_scrapy_internals_the_robots_middleware_relies_on_are_there() -> None:
    """CrawlDelayRobots overrides two methods of Scrapy's RobotsTxtMiddleware, reads its parsers
    and default user agent, and sets its download slots' delay and jitter: a Scrapy upgrade that
    renames any of them fails here, not silently in a crawl that ignores robots.txt."""
    from scrapy.core.downloader import Downloader, Slot
    from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware

    assert list(inspect.signature(RobotsTxtMiddleware.process_request_2).parameters) == [
        "self", "rp", "request",
    ]  # fmt: skip
    assert inspect.iscoroutinefunction(RobotsTxtMiddleware.robot_parser)
    init = inspect.getsource(RobotsTxtMiddleware.__init__)
    for name in ("self._parsers", "self._default_useragent", "self._robotstxt_useragent"):
        assert name in init
    slot = Slot(concurrency=1, delay=0.0)
    assert (slot.delay, slot.jitter) == (0.0, 0.0)
    assert callable(Downloader.get_slot_key)
    assert "self.slots" in inspect.getsource(Downloader.__init__)


def test_requisite_requests_can_wait_on_disk_or_in_redis() -> None:
    """A frontier that spills to disk (or lives in Redis) stores requests by their spider
    methods' names: a requisite's callback and errback must be the spider's own."""
    from scrapy.http import HtmlResponse, Request
    from scrapy.utils.request import request_from_dict
    from scrapy.utils.test import get_crawler

    from stablecopy.spiders.articles import ArticlesSpider

    settings = {**DEFAULTS, "STABLECOPY_SEED_URLS": ["https://news.example/"]}
    crawler = get_crawler(ArticlesSpider, settings)
    spider = ArticlesSpider.from_crawler(crawler)
    page = HtmlResponse(
        "https://news.example/a.html",
        body=b'<link rel=stylesheet href="/s.css"><img src="https://cdn.example/p.jpg">',
        encoding="utf-8",
        request=Request("https://news.example/a.html"),
    )
    made = [r for r in spider.parse_page(page) if isinstance(r, Request)]
    assert {r.url for r in made} == {"https://news.example/s.css", "https://cdn.example/p.jpg"}
    for request in made:
        stored = request.to_dict(spider=spider)
        assert (stored["callback"], stored["errback"]) == ("parse_requisite", "requisite_failed")
        assert request_from_dict(stored, spider=spider).callback == spider.parse_requisite


@pytest.mark.catalogue
def test_what_a_requisite_was_fetched_as_is_in_its_record_and_read_back(
    edge_crawl: Path, edge_site: SiteServer, cdn: SiteServer
) -> None:
    """Response records of requisites say what they were fetched as (WARC-Resource-Type), so a
    repair that rebuilds the catalogue from the files (after a crash) knows them from pages."""
    from stablecopy.archive.recovery import archived_events
    from stablecopy.events import Captured
    from tests.helpers import raw_records

    layout = DataLayout.create(edge_crawl)
    kinds: dict[str, str | None] = {}
    for path in sorted(layout.warc_dir.glob("*.warc.gz")):
        for record in raw_records(path):
            if record.type == "response":
                kinds[record.headers["WARC-Target-URI"]] = record.headers.get("WARC-Resource-Type")
        for event in archived_events(path, layout.relative(path)):
            if isinstance(event, Captured):
                assert event.requisite == kinds[event.url], event.url
    assert kinds[f"{cdn.base}/a.png"] == "image"
    assert kinds[edge_site.url("/frame1.html")] == "embed"
    assert kinds[edge_site.url("/page.html")] is None

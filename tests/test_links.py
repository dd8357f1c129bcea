"""NewLinks: each followed URL once per crawl, resolved as a browser would, nothing else lost."""

from __future__ import annotations

import random
from urllib.parse import urljoin, urlsplit

import pytest
from scrapy.http import HtmlResponse

from stablecopy.spiders.links import NewLinks, joined


def _page(url: str, body: str) -> HtmlResponse:
    return HtmlResponse(url, body=body.encode("utf-8"), encoding="utf-8")


def _anywhere(url: str) -> bool:
    return True


def test_links_are_resolved_stripped_of_fragments_and_made_safe() -> None:
    page = _page(
        "http://news.test/world/index.html",
        """<a href=" story.html#top ">a</a> <a href="/über uns/">b</a>
        <area href="../map.html"> <a href="#comments">skip</a> <a href="mailto:x@y">skip</a>
        <a href="JavaScript:void(0)">skip</a> <a href="photo.JPG">image</a>
        <a href="report.pdf">pdf</a> <a href="//other.test/x">other</a>""",
    )
    assert list(NewLinks()(page, _anywhere)) == [
        "http://news.test/world/story.html",
        "http://news.test/%C3%BCber%20uns/",
        "http://news.test/map.html",
        "http://news.test/world/report.pdf",
        "http://other.test/x",
    ]


def test_a_base_href_is_honoured() -> None:
    page = _page(
        "http://news.test/a/b.html",
        '<head><base href="http://news.test/archive/"></head><a href="c.html">c</a>',
    )
    assert list(NewLinks()(page, _anywhere)) == ["http://news.test/archive/c.html"]


def test_a_link_met_on_an_earlier_page_is_not_returned_again() -> None:
    links = NewLinks()
    nav = '<a href="/news/">News</a><a href="/sport/">Sport</a>'
    first = list(links(_page("http://news.test/", nav + '<a href="/a.html">a</a>'), _anywhere))
    second = list(
        links(_page("http://news.test/a.html", nav + '<a href="/b.html">b</a>'), _anywhere)
    )
    assert first == ["http://news.test/news/", "http://news.test/sport/", "http://news.test/a.html"]
    assert second == ["http://news.test/b.html"]


def test_a_link_one_page_does_not_want_stays_open_for_another() -> None:
    links = NewLinks()
    body = '<a href="http://other.test/story.html">x</a>'
    on_news = list(links(_page("http://news.test/", body), lambda url: "news.test" in url))
    on_other = list(links(_page("http://other.test/", body), lambda url: "other.test" in url))
    assert on_news == []
    assert on_other == ["http://other.test/story.html"]


@pytest.mark.parametrize(
    "base",
    ["http://news.test/world/a/b.html", "https://u:p@news.test:8443/x/?q=1", "http://news.test"],
)
def test_a_link_resolves_exactly_as_urljoin_resolves_it(base: str) -> None:
    """The shortcut for root-relative paths never differs from urljoin, whatever the href holds:
    dot segments, parameters, empty queries, tabs and newlines, fragments, backslashes."""
    rng = random.Random(20261121)
    alphabet = "/.?#;a%:@ \\é&=\t\n\r"
    scheme, netloc = urlsplit(base)[:2]
    for _ in range(20_000):
        href = "/" * rng.randint(0, 2) + "".join(
            rng.choice(alphabet) for _ in range(rng.randint(0, 12))
        )
        expected = urljoin(base, href).split("#", 1)[0]
        assert joined(base, f"{scheme}://{netloc}", href) == expected, href

"""A generated news site of any size, the same bytes every time: for crash tests and benchmarks.

A front page, section pages (paginated) and topic pages list the articles; every article page has
real page chrome (a consent banner, navigation with some ninety links, a share bar, a related-stories
box, a newsletter box, a footer) around paragraphs of text drawn from the bundled article texts.
A sitemap lists every article. Served by SiteServer, or written to a folder for any web server.
"""

from __future__ import annotations

import html
import random
import re
from functools import cache
from pathlib import Path

from stablecopy.samplesite.pages import (
    FOOTER,
    NEWSLETTER,
    SITE_NAME,
    Resource,
    banner,
    banner_names,
    data_text,
)

SECTIONS = ("news", "world", "politics", "business", "science", "culture", "sport", "opinion",
            "region", "health")  # fmt: skip
TOPICS = 80  # topic pages in the navigation, besides the sections: some ninety links in all
PER_PAGE = 50
RELATED = 5
HTML = "text/html; charset=utf-8"


@cache
def _words() -> tuple[str, ...]:
    """Words of the bundled article texts, to write plausible paragraphs with."""
    text = " ".join(
        data_text(name)
        for name in ("seed-000.txt", "seed-004.txt", "article-new.txt", "article-fr.txt")
    )
    return tuple(word for word in re.findall(r"[^\W\d_]+", text) if len(word) > 1)


def _sentence(rng: random.Random) -> str:
    words = _words()
    chosen = [words[rng.randrange(len(words))] for _ in range(rng.randint(8, 22))]
    return " ".join(chosen).capitalize() + "."


def _paragraphs(rng: random.Random, size: int) -> list[str]:
    paragraphs: list[str] = []
    total = 0
    while total < size:
        paragraph = " ".join(_sentence(rng) for _ in range(rng.randint(3, 6)))
        paragraphs.append(paragraph)
        total += len(paragraph) + 7
    return paragraphs


def article_path(number: int) -> str:
    return f"/{SECTIONS[number % len(SECTIONS)]}/{2024 + number % 3}/story-{number:06d}.html"


def _nav() -> str:
    links = [f'<li><a href="/{s}/">{s.title()}</a></li>' for s in SECTIONS]
    links += [f'<li><a href="/topic/{t:02d}/">Topic {t:02d}</a></li>' for t in range(TOPICS)]
    return f'<nav class="main-navigation" aria-label="Main"><ul>{"".join(links)}</ul></nav>'


def _page(title: str, body: str, consent: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)} – {SITE_NAME}</title>
<meta property="og:site_name" content="{SITE_NAME}"></head>
<body><a class="skip-link" href="#content">Skip to content</a>
<header class="site-header"><div class="site-title"><a href="/">{SITE_NAME}</a></div>{_nav()}</header>
<main id="content">{body}</main>
<footer class="site-footer"><p>{html.escape(FOOTER)}</p></footer>
{consent}
</body></html>
"""


def _article(number: int, count: int, size: int, consent: str) -> str:
    rng = random.Random(number * 1_000_003 + 17)
    title = _sentence(rng).rstrip(".")
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in _paragraphs(rng, size))
    related = "".join(
        f'<li><a href="{article_path(other)}">Story {other}</a></li>'
        for other in sorted({rng.randrange(count) for _ in range(RELATED)} - {number})
    )
    body = f"""<article class="post"><header><h1 class="entry-title">{html.escape(title)}</h1>
<div class="entry-meta">By <span class="author">Staff Writer {number % 23}</span>
<time datetime="2024-05-{1 + number % 28:02d}">2024-05-{1 + number % 28:02d}</time></div></header>
<div class="share-bar">Share this story: <a href="#">Facebook</a> <a href="#">Email</a></div>
<div class="entry-content">{paragraphs}</div></article>
<aside class="related"><h3>Related stories</h3><ul>{related}</ul></aside>
<aside class="newsletter-box"><h3>Newsletter</h3><p>{NEWSLETTER}</p></aside>"""
    return _page(title, body, consent)


def _listing(title: str, numbers: list[int], extra: str = "") -> str:
    items = "".join(f'<li><a href="{article_path(n)}">Story {n}</a></li>' for n in numbers)
    return _page(title, f"<h1>{html.escape(title)}</h1><ul>{items}</ul>{extra}", "")


def _section_pages(section: int, numbers: list[int]) -> dict[str, str]:
    name = SECTIONS[section]
    pages: dict[str, str] = {}
    chunks = [numbers[i : i + PER_PAGE] for i in range(0, len(numbers), PER_PAGE)] or [[]]
    for page, chunk in enumerate(chunks, start=1):
        path = f"/{name}/" if page == 1 else f"/{name}/page-{page}/"
        more = (
            f'<p><a href="/{name}/page-{page + 1}/">Older stories</a></p>'
            if page < len(chunks)
            else ""
        )
        pages[path] = _listing(f"{name.title()}, page {page}", chunk, more)
    return pages


def generated_site(base: str, articles: int, article_bytes: int = 50_000) -> dict[str, Resource]:
    """Every URL of a site of `articles` articles of about `article_bytes` of text each."""
    site: dict[str, Resource] = {}
    banners = banner_names()
    for number in range(articles):
        consent = banner(banners[number % len(banners)])
        page = _article(number, articles, article_bytes, consent)
        site[article_path(number)] = Resource(body=page.encode(), content_type=HTML)
    for section in range(len(SECTIONS)):
        numbers = list(range(section, articles, len(SECTIONS)))
        for path, page in _section_pages(section, numbers).items():
            site[path] = Resource(body=page.encode(), content_type=HTML)
    for topic in range(TOPICS):
        numbers = list(range(topic, articles, TOPICS))[:PER_PAGE]
        site[f"/topic/{topic:02d}/"] = Resource(
            body=_listing(f"Topic {topic:02d}", numbers).encode(), content_type=HTML
        )
    site["/"] = Resource(
        body=_listing("Latest news", list(range(articles))[-PER_PAGE:][::-1]).encode(),
        content_type=HTML,
    )
    urls = "".join(f"<url><loc>{base}{article_path(n)}</loc></url>" for n in range(articles))
    site["/sitemap.xml"] = Resource(
        body=(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>\n'
        ).encode(),
        content_type="application/xml",
    )
    site["/robots.txt"] = Resource(
        body=f"User-agent: *\nDisallow: /private/\n\nSitemap: {base}/sitemap.xml\n".encode(),
        content_type="text/plain",
    )
    return site


def article_paths(articles: int) -> list[str]:
    return [article_path(number) for number in range(articles)]


def write_site(site: dict[str, Resource], folder: Path) -> None:
    """Write a site's files for a static web server (`/a/` becomes `/a/index.html`)."""
    for path, resource in site.items():
        target = folder / (path.lstrip("/") + ("index.html" if path.endswith("/") else ""))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(resource.body)

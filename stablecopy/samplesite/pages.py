"""The bundled sample news site: pages built from the seed texts, wrapped in realistic page chrome.

Each article page carries the boilerplate a real news page has (skip link, navigation, share bar,
newsletter box, tip box, tag list, footer) and one consent banner, in a chosen position. The site also
has a front page, a sitemap, a news sitemap, a sitemap index, an RSS and an Atom feed, a redirect,
a PDF, a robots.txt that disallows a folder, and pages in German, French and Spanish (one latin-1).

The site comes in editions, so recurring crawls have something to find: from edition 2 on, one
article has an edited paragraph, one only rotates its advertisement, one is gone (404, though the
sitemap and feeds still list it), and a new article appears on the front page and in the listings.
Pages that carry an ETag or a Last-Modified date answer conditional requests with 304.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, replace
from importlib.resources import files

from stablecopy.samplesite import assets
from stablecopy.samplesite.assets import CAMPAIGNS, Hosts
from stablecopy.samplesite.resource import Resource

SITE_NAME = "The Loopback Ledger"
PUBLISHED = {
    "iran-backed": "2023-03-24T18:30:00+00:00",
    "attacks": "2023-07-08T09:15:00+00:00",
    "bibliothek": "2024-05-14T07:00:00+02:00",
    "marche": "2024-06-01T10:00:00+02:00",
    "carril-bici": "2024-09-19T12:00:00+02:00",
    "night-buses": "2024-11-14T16:00:00+01:00",
}
# What each edition changes (see build_site).
EDITED = "attacks"  # one paragraph edited from edition 2
ROTATING_AD = "iran-backed"  # a different advertisement every edition, nothing else changes
GONE = "carril-bici"  # 404 from edition 2, still listed by the sitemap and feeds
NEW = "night-buses"  # appears in edition 2
EDITED_PARAGRAPH = 1
CORRECTION = (
    " (Correction: an earlier version of this article gave the wrong date for the first attack.)"
)


def data_text(name: str) -> str:
    folder = files("stablecopy.samplesite").joinpath("data")
    for part in name.split("/"):
        folder = folder.joinpath(part)
    return folder.read_text("utf-8")


def banner(name: str) -> str:
    """The HTML of one bundled consent banner (data/banners/<name>.html)."""
    return data_text(f"banners/{name}.html").strip()


def banner_names() -> list[str]:
    folder = files("stablecopy.samplesite").joinpath("data").joinpath("banners")
    return sorted(
        p.name.removesuffix(".html") for p in folder.iterdir() if p.name.endswith(".html")
    )


@dataclass(frozen=True)
class Article:
    """An article's own words: what a clean capture must keep, and nothing else."""

    slug: str
    path: str
    lang: str
    title: str
    author: str
    paragraphs: tuple[str, ...]
    disclaimer: str = ""
    hashtags: str = ""
    section: str = "news"


def seed_article() -> Article:
    """Seed 000, split into its article and the page chrome that came with it."""
    lines = [line.strip() for line in data_text("seed-000.txt").splitlines() if line.strip()]
    title = lines[1]
    body_end = next(i for i, line in enumerate(lines) if line.startswith("#"))
    return Article(
        slug="iran-backed",
        path="/news/2023/iran-backed-and-us-backed-forces-fighting-in-eastern-syria.html",
        lang="en",
        title=title,
        author="Staff Writer",
        paragraphs=tuple(lines[2:body_end]),
        hashtags=lines[body_end],
        disclaimer=lines[body_end + 1],
    )


# The seed page's own chrome, exactly as its reader saw it; none of it may survive extraction.
SEED_BOILERPLATE = (
    'Press "Enter" to skip to content',
    "Have a tip we should know?",
    "We use cookies to ensure that we provide you with the best experience.",
    "Optimized by Optimole",
)


def translated_article() -> Article:
    lines = [line.strip() for line in data_text("seed-004.txt").splitlines() if line.strip()]
    return Article(
        slug="attacks",
        path="/news/2023/attacks-on-us-forces-in-syria-and-iraq.html",
        lang="en",
        title="Attacks on U.S. forces in Syria and Iraq continue after June bombings",
        author="Foreign Desk",
        paragraphs=tuple(lines),
        section="world",
    )


def _text_article(slug: str, name: str, path: str, lang: str) -> Article:
    lines = [line.strip() for line in data_text(name).splitlines() if line.strip()]
    return Article(
        slug=slug,
        path=path,
        lang=lang,
        title=lines[0],
        author=lines[1].split(" ", 1)[1],
        paragraphs=tuple(lines[2:]),
        section="region",
    )


def new_article() -> Article:
    """The article edition 2 adds."""
    article = _text_article(NEW, "article-new.txt", "/news/2024/night-buses-return.html", "en")
    return replace(article, section="news")


def edited(article: Article, edition: int) -> Article:
    """The article as it reads in `edition`: the edited one gains a correction from edition 2."""
    if article.slug != EDITED or edition < 2:
        return article
    paragraphs = list(article.paragraphs)
    paragraphs[EDITED_PARAGRAPH] += CORRECTION
    return replace(article, paragraphs=tuple(paragraphs))


def articles(edition: int = 1) -> list[Article]:
    """The articles of an edition, newest listed first from edition 2."""
    items = [
        seed_article(),
        translated_article(),
        _text_article("bibliothek", "article-de.txt", "/region/de/stadtbibliothek.html", "de"),
        _text_article("marche", "article-fr.txt", "/region/fr/marche-couvert.html", "fr"),
        _text_article("carril-bici", "article-es.txt", "/region/es/carril-bici.html", "es"),
    ]
    if edition >= 2:
        items.insert(0, new_article())
    return [edited(article, edition) for article in items]


NAV = [("/", "Home"), ("/news/", "News"), ("/world/", "World"), ("/region/", "Region"),
       ("/about/", "About us")]  # fmt: skip
SECTIONS = {"news": "News", "world": "World", "region": "Region"}
NEWSLETTER = "Get the Ledger in your inbox every morning. Sign up for our free newsletter."
FOOTER = "© 2024 The Loopback Ledger. All rights reserved. Terms of use · Privacy policy · Contact"
CHROME_STRINGS = (NEWSLETTER, "Sign up for our free newsletter", "Share this story", FOOTER)


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def render_article(
    article: Article,
    consent: str = "",
    position: str = "after",
    related: list[Article] | None = None,
    charset: str = "utf-8",
    campaign: str = "",
    hosts: Hosts = assets.ONE_HOST,
) -> str:
    """A full article page; `consent` is banner HTML placed before, inside or after the article;
    `campaign` fills an advertisement slot (an image, no text). Its requisites come from `hosts`:
    stylesheets, font, photos (one responsive, one lazy), an embedded chart, an ad tag."""
    nav = "".join(f'<li><a href="{href}">{_esc(label)}</a></li>' for href, label in NAV)
    paragraphs = [f"<p>{_esc(p)}</p>" for p in article.paragraphs]
    if position == "inside" and consent:
        paragraphs.insert(len(paragraphs) // 2, consent)
    tags = ""
    if article.hashtags:
        links = " ".join(
            f'<a href="/tag/{tag.strip("#").lower()}/" rel="tag">{_esc(tag)}</a>'
            for tag in article.hashtags.split()
        )
        tags = f'<div class="post-tags">{links}</div>'
    disclaimer = (
        f'<p class="disclaimer"><em>{_esc(article.disclaimer)}</em></p>'
        if article.disclaimer
        else ""
    )
    related_items = "".join(
        f'<li><a href="{a.path}">{_esc(a.title)}</a></li>' for a in (related or [])
    )
    published = PUBLISHED.get(article.slug, "2024-01-01T00:00:00+00:00")
    return f"""<!DOCTYPE html>
<html lang="{article.lang}">
<head>
<meta charset="{charset}">
<title>{_esc(article.title)} – {SITE_NAME}</title>
<meta name="author" content="{_esc(article.author)}">
<meta property="og:site_name" content="{SITE_NAME}">
<meta property="og:title" content="{_esc(article.title)}">
<meta property="article:published_time" content="{published}">
{assets.head(hosts)}
{assets.ad_tag(hosts)}
</head>
<body class="single-post">
<a class="skip-link screen-reader-text" href="#content">Press "Enter" to skip to content</a>
{consent if position == "before" else ""}
<header class="site-header"><div class="site-title"><a href="/">{SITE_NAME}</a></div>
<nav class="main-navigation" aria-label="Main"><ul>{nav}</ul></nav></header>
<div class="share-bar" aria-label="Share"><span>Share this story:</span>
<a href="#" class="share-facebook">Facebook</a> <a href="#" class="share-twitter">Twitter</a>
<a href="#" class="share-linkedin">LinkedIn</a> <a href="#" class="share-email">Email</a></div>
<main id="content" class="site-main">
<article class="post">
<header class="entry-header"><h1 class="entry-title">{_esc(article.title)}</h1>
<div class="entry-meta">By <span class="author">{_esc(article.author)}</span>
<time datetime="{published}">{published[:10]}</time></div></header>
{assets.lead_figure(hosts)}
<div class="entry-content">
{"".join(paragraphs)}
{assets.lazy_figure(hosts)}
{assets.chart_embed()}
{tags}
{disclaimer}
</div>
</article>
<aside class="tip-box"><h3>Have a tip we should know?</h3>
<p><a href="/tips/">Send it to the newsroom</a></p></aside>
<aside class="newsletter-box"><h3>Newsletter</h3><p>{NEWSLETTER}</p>
<form action="/subscribe" method="post"><input type="email" name="email"><button>Subscribe</button></form></aside>
<aside class="related"><h3>Related stories</h3><ul>{related_items}</ul></aside>
{assets.ad_slot(hosts, campaign)}
</main>
<footer class="site-footer"><p>{_esc(FOOTER)}</p>
<p class="optml-badge"><a href="#">Optimized by Optimole</a></p></footer>
{consent if position == "after" else ""}
</body>
</html>
"""


def render_listing(
    heading: str,
    items: list[Article],
    consent: str,
    extra: str = "",
    hosts: Hosts = assets.ONE_HOST,
) -> str:
    """A front or section page: teasers linking to articles, with the site's chrome."""
    nav = "".join(f'<li><a href="{href}">{_esc(label)}</a></li>' for href, label in NAV)
    teasers = "".join(
        f'<li class="teaser"><a href="{a.path}">{_esc(a.title)}</a></li>' for a in items
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{_esc(heading)} – {SITE_NAME}</title>
<link rel="alternate" type="application/rss+xml" href="/feed.xml">
{assets.head(hosts)}
</head><body>
<header><div class="site-title">{SITE_NAME}</div><nav><ul>{nav}</ul></nav></header>
<main><h1>{_esc(heading)}</h1><ul class="teasers">{teasers}</ul>
{extra}
</main>
<footer><p>{_esc(FOOTER)}</p></footer>
{consent}
</body></html>
"""


def _sitemap(base: str, items: list[Article]) -> str:
    urls = "".join(
        f"<url><loc>{base}{a.path}</loc><lastmod>{PUBLISHED[a.slug][:10]}</lastmod></url>"
        for a in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>\n'
    )


def _news_sitemap(base: str, items: list[Article]) -> str:
    urls = "".join(
        f"<url><loc>{base}{a.path}</loc><news:news><news:publication>"
        f"<news:name>{SITE_NAME}</news:name><news:language>{a.lang}</news:language>"
        f"</news:publication><news:publication_date>{PUBLISHED[a.slug]}</news:publication_date>"
        f"<news:title>{_esc(a.title)}</news:title></news:news></url>"
        for a in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/'
        'sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
        f"{urls}</urlset>\n"
    )


def _sitemap_index(base: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{base}/sitemap.xml</loc></sitemap>"
        f"<sitemap><loc>{base}/news-sitemap.xml</loc></sitemap></sitemapindex>\n"
    )


def _rss(base: str, items: list[Article]) -> str:
    entries = "".join(
        f"<item><title>{_esc(a.title)}</title><link>{base}{a.path}</link>"
        f'<guid isPermaLink="true">{base}{a.path}</guid></item>'
        for a in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>{SITE_NAME}</title><link>{base}/</link><description>Latest news</description>"
        f"{entries}</channel></rss>\n"
    )


def _atom(base: str, items: list[Article]) -> str:
    entries = "".join(
        f'<entry><title>{_esc(a.title)}</title><link rel="alternate" href="{base}{a.path}"/>'
        f"<id>{base}{a.path}</id><updated>{PUBLISHED[a.slug]}</updated></entry>"
        for a in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{SITE_NAME}</title><id>{base}/</id><updated>2024-09-19T12:00:00Z</updated>"
        f"{entries}</feed>\n"
    )


def _pdf() -> bytes:
    """A small, valid one-page PDF (binary content that must be archived, never extracted)."""
    text = b"BT /F1 18 Tf 72 720 Td (The Loopback Ledger annual report 2024) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
            b" /Resources << /Font << /F1 5 0 R >> >> >>"
        ),
        b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


ROBOTS = "User-agent: *\nDisallow: /private/\n\nSitemap: {base}/sitemap.xml\n"
# Which banner each article page carries, and where: every consent manager and language, every place.
PLACEMENT = {
    "iran-backed": ("cookie-notice-en", "after"),
    "attacks": ("onetrust-en", "before"),
    "bibliothek": ("cookiebot-de", "inside"),
    "marche": ("didomi-fr", "after"),
    "carril-bici": ("complianz-es", "before"),
    "night-buses": ("cookie-notice-en", "after"),
}


def _validators(article: Article, edition: int) -> tuple[tuple[str, str], ...]:
    """What a page says about its freshness: the rotating-ad page nothing (its ad server never
    says), the French article an ETag too, the others a Last-Modified date that moves on edit."""
    if article.slug == ROTATING_AD:
        return ()
    changed = article.slug == EDITED and edition >= 2
    headers = [("Last-Modified", LAST_EDIT if changed else FIRST_PUBLISHED)]
    if article.slug == "marche":
        headers.append(("ETag", '"marche-v1"'))
    return tuple(headers)


FIRST_PUBLISHED = "Fri, 24 Mar 2023 18:30:00 GMT"
LAST_EDIT = "Sat, 09 Nov 2024 08:00:00 GMT"


def build_site(base: str, edition: int = 1, hosts: Hosts | None = None) -> dict[str, Resource]:
    """Every URL of the sample site in `edition`, keyed by path, for a server reachable at `base`
    (its requisites on the CDN and ad hosts of `hosts`; on the site itself when not given)."""
    hosts = hosts or Hosts(site=base)
    items = articles(edition)
    site: dict[str, Resource] = assets.site_files(hosts)
    html_type = "text/html; charset=utf-8"
    for article in items:
        name, position = PLACEMENT[article.slug]
        others = [a for a in items if a is not article][:3]
        charset = "iso-8859-1" if article.lang == "de" else "utf-8"
        campaign = CAMPAIGNS[(edition - 1) % len(CAMPAIGNS)] if article.slug == ROTATING_AD else ""
        page = render_article(article, banner(name), position, others, charset, campaign, hosts)
        encoding = {"iran-backed": "gzip", "attacks": "gzip+chunked", "carril-bici": "chunked"}
        site[article.path] = Resource(
            body=page.encode(charset, "xmlcharrefreplace"),
            content_type=f"text/html; charset={charset}",
            encoding=encoding.get(article.slug, "identity"),
            headers=_validators(article, edition),
        )
        if article.slug == GONE and edition >= 2:
            site[article.path] = Resource(
                body=b"<html><body><h1>Gone</h1><p>This story was withdrawn.</p></body></html>",
                content_type=html_type,
                status=404,
            )
    front_links = (
        '<p><a href="/news/2023/old-link-to-iran-story">Most read: the eastern Syria story</a></p>'
        '<p><a href="/reports/ledger-annual-report-2024.pdf">Our annual report (PDF)</a></p>'
        '<p><a href="/private/staff-only.html">Staff area</a></p>'
        '<p><a href="/archive/2019/">Archive: 2019</a></p>'  # gone: a 404
    )
    for slug, heading in SECTIONS.items():
        listed = [a for a in items if a.section == slug]
        site[f"/{slug}/"] = Resource(
            body=render_listing(heading, listed, banner("plain-en"), hosts=hosts).encode(),
            content_type=html_type,
            # The region page never changes and says so: later crawls get a 304.
            headers=(("ETag", '"region-v1"'),) if slug == "region" else (),
        )
    site["/about/"] = Resource(
        body=render_listing(
            "About us", [], "", f"<p>{SITE_NAME} is a sample site.</p>", hosts
        ).encode(),
        content_type=html_type,
    )
    site["/"] = Resource(
        body=render_listing("Latest news", items, banner("plain-en"), front_links, hosts).encode(),
        content_type=html_type,
        encoding="gzip",
        headers=(
            ("Set-Cookie", "ledger_session=4f1c2a; Path=/; HttpOnly"),
            ("Set-Cookie", "consent=pending; Path=/; Max-Age=31536000"),
            ("Set-Cookie", "ab_bucket=b; Path=/"),
        ),
    )
    site["/news/2023/old-link-to-iran-story"] = Resource(
        body=b"", content_type=html_type, status=301, headers=(("Location", seed_article().path),)
    )
    site["/private/staff-only.html"] = Resource(
        body=b"<html><body><p>Staff rota. Not for robots.</p></body></html>", content_type=html_type
    )
    site["/reports/ledger-annual-report-2024.pdf"] = Resource(
        body=_pdf(), content_type="application/pdf"
    )
    site["/robots.txt"] = Resource(
        body=ROBOTS.format(base=base).encode(), content_type="text/plain"
    )
    xml = "application/xml; charset=utf-8"
    site["/sitemap.xml"] = Resource(body=_sitemap(base, items).encode(), content_type=xml)
    site["/news-sitemap.xml"] = Resource(
        body=_news_sitemap(base, items[:2]).encode(), content_type=xml
    )
    site["/sitemap-index.xml"] = Resource(body=_sitemap_index(base).encode(), content_type=xml)
    site["/feed.xml"] = Resource(
        body=_rss(base, items).encode(), content_type="application/rss+xml", encoding="gzip"
    )
    site["/atom.xml"] = Resource(
        body=_atom(base, items).encode(), content_type="application/atom+xml"
    )
    return site

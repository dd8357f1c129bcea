"""The sample site's page requisites, spread over three hosts as a news site's are.

The site itself serves its stylesheet (which `@import`s a second one from the CDN), a favicon, the
paper texture the stylesheet tiles, and an embedded chart (an iframe with a stylesheet of its own).
The "CDN" (another loopback address) serves the web font, the masthead, responsive and lazy-loaded
photos and the lazy-loading script. The ad host serves an ad tag and the rotating advertisement,
which an archive is not meant to keep. Static files answer conditional requests (ETag and
Last-Modified), and the font is served with CORS, as a browser needs across origins.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from stablecopy.samplesite.resource import Resource

# The advertisements the ad host rotates, one per edition of the site.
CAMPAIGNS = ("spring-sale", "summer-tyres", "autumn-books", "winter-coats")
STATIC_DATE = "Mon, 04 Mar 2024 09:00:00 GMT"
# A transparent pixel: what a lazy image shows until the script swaps in its real source.
PLACEHOLDER = "data:image/gif;base64,R0lGODlhAQABAAAAACH5BAEKAAEALAAAAAABAAEAAAICTAEAOw=="
TYPES = {
    "png": "image/png",
    "woff2": "font/woff2",
    "css": "text/css; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
}


@dataclass(frozen=True)
class Hosts:
    """Where the site's requisites live: the site, its CDN and its ad server (base URLs).
    An empty CDN or ad base puts those files on the site itself."""

    site: str = ""
    cdn: str = ""
    ads: str = ""


ONE_HOST = Hosts()  # every requisite on the page's own host, by path


@cache
def static_bytes(name: str) -> bytes:
    folder = files("stablecopy.samplesite").joinpath("data").joinpath("static")
    return folder.joinpath(name).read_bytes()


def _static(body: bytes, content_type: str, *extra: tuple[str, str]) -> Resource:
    tag = hashlib.sha256(body).hexdigest()[:16]
    headers = (("ETag", f'"{tag}"'), ("Last-Modified", STATIC_DATE), *extra)
    return Resource(body=body, content_type=content_type, headers=headers)


def _file(name: str, *extra: tuple[str, str]) -> Resource:
    return _static(static_bytes(name), TYPES[name.rsplit(".", 1)[1]], *extra)


def _text(body: str, kind: str) -> Resource:
    return _static(body.encode(), TYPES[kind])


def head(hosts: Hosts) -> str:
    """What every page's <head> links: stylesheet, favicon, the font preloaded, the script."""
    return (
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<link rel="stylesheet" href="/static/site.css">\n'
        '<link rel="icon" type="image/png" href="/static/favicon.png">\n'
        f'<link rel="preload" href="{hosts.cdn}/fonts/ledger-display.woff2" as="font" '
        'type="font/woff2" crossorigin>\n'
        f'<script src="{hosts.cdn}/assets/lazy.js" defer></script>'
    )


def ad_tag(hosts: Hosts) -> str:
    return f'<script async src="{hosts.ads}/ads/tag.js"></script>'


def ad_slot(hosts: Hosts, campaign: str) -> str:
    """An advertisement: an image from the ad host, no text."""
    if not campaign:
        return ""
    return (
        f'<div class="ad-slot" data-campaign="{campaign}">'
        f'<img src="{hosts.ads}/ads/{campaign}.png" width="300" height="250" alt=""></div>'
    )


def lead_figure(hosts: Hosts) -> str:
    """The lead photo: responsive (srcset and sizes), no caption (no words to extract)."""
    cdn = hosts.cdn
    return (
        '<figure class="lead"><picture>'
        f'<source media="(min-width: 1400px)" srcset="{cdn}/img/photo-1280.png">'
        f'<img src="{cdn}/img/photo-640.png" srcset="{cdn}/img/photo-640.png 640w, '
        f'{cdn}/img/photo-1280.png 1280w" sizes="640px" width="640" height="360" alt="">'
        "</picture></figure>"
    )


def lazy_figure(hosts: Hosts) -> str:
    """A photo further down, loaded by the script from `data-src` as news CMSs do."""
    return (
        f'<figure class="inline"><img class="lazy" src="{PLACEHOLDER}" '
        f'data-src="{hosts.cdn}/img/street.png" width="480" height="270" alt=""></figure>'
    )


def chart_embed() -> str:
    return (
        '<iframe class="chart" src="/embed/chart.html" width="420" height="220" '
        'title="Chart"></iframe>'
    )


def _site_css(hosts: Hosts) -> str:
    return f"""@import url("{hosts.cdn}/assets/typography.css");
html {{ background: #e9e4d8 url("paper.png"); }}
body {{ margin: 0 auto; max-width: 960px; font: 16px/1.5 "DejaVu Sans", sans-serif;
  color: #1d1d1f; background: #fffdf8; }}
.site-header, body > header {{ background: #102a54 url("{hosts.cdn}/img/masthead.png") center / cover
  no-repeat; color: #fff; padding: 20px 32px; }}
.site-header a, body > header a {{ color: #fff; text-decoration: none; }}
nav ul {{ list-style: none; margin: 8px 0 0; padding: 0; display: flex; gap: 16px; }}
.share-bar {{ padding: 8px 32px; background: #ece8de; font-size: 14px; }}
main {{ padding: 8px 32px 24px; }}
figure {{ margin: 16px 0; }}
figure img {{ display: block; max-width: 100%; height: auto; }}
.tip-box, .newsletter-box, .related {{ border-top: 3px solid #102a54; margin-top: 16px; }}
iframe.chart {{ border: 1px solid #c9c3b5; display: block; }}
.ad-slot {{ width: 300px; height: 250px; margin: 16px 0; }}
footer {{ padding: 12px 32px; background: #22252b; color: #d8d8d8; font-size: 14px; }}
footer a {{ color: #d8d8d8; }}
"""


TYPOGRAPHY_CSS = """@font-face {
  font-family: "Ledger Display";
  src: url("../fonts/ledger-display.woff2") format("woff2");
  font-display: block;
}
h1, h2, h3, .site-title { font-family: "Ledger Display", monospace; letter-spacing: 0.01em; }
.site-title { font-size: 34px; }
h1 { font-size: 36px; line-height: 1.2; color: #102a54; }
"""
EMBED_CSS = """body { margin: 0; padding: 10px; background: #f7f3ff; font: 13px sans-serif; }
img { display: block; }
"""
LAZY_JS = """document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("img[data-src]").forEach(function (img) {
    img.src = img.getAttribute("data-src");
  });
});
"""
AD_TAG_JS = "/* The ad network's tag: it would fetch and rotate advertisements. */\n"


def chart_page() -> str:
    return """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Chart</title>
<link rel="stylesheet" href="/static/embed.css"></head>
<body><img src="/static/chart.png" width="400" height="200" alt=""></body></html>
"""


def site_files(hosts: Hosts) -> dict[str, Resource]:
    """The requisites the site serves itself (and, with no CDN or ad host, theirs too)."""
    found = {
        "/static/site.css": _text(_site_css(hosts), "css"),
        "/static/embed.css": _text(EMBED_CSS, "css"),
        "/static/favicon.png": _file("favicon.png"),
        "/static/paper.png": _file("paper.png"),
        "/static/chart.png": _file("chart.png"),
        "/embed/chart.html": _static(chart_page().encode(), "text/html; charset=utf-8"),
    }
    if not hosts.cdn:
        found.update(cdn_files())
    if not hosts.ads:
        found.update(ad_files())
    return found


def cdn_files() -> dict[str, Resource]:
    cors = ("Access-Control-Allow-Origin", "*")
    return {
        "/assets/typography.css": _text(TYPOGRAPHY_CSS, "css"),
        "/assets/lazy.js": _text(LAZY_JS, "js"),
        "/fonts/ledger-display.woff2": _file("ledger-display.woff2", cors),
        "/img/masthead.png": _file("masthead.png"),
        "/img/photo-640.png": _file("photo-640.png"),
        "/img/photo-1280.png": _file("photo-1280.png"),
        "/img/street.png": _file("street.png"),
    }


def ad_files() -> dict[str, Resource]:
    ads = {f"/ads/{campaign}.png": _file("ad.png") for campaign in CAMPAIGNS}
    ads["/ads/tag.js"] = Resource(body=AD_TAG_JS.encode(), content_type=TYPES["js"])
    return ads

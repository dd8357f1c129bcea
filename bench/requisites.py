"""The "page requisites" round: stablecopy against `wget --page-requisites --warc-file` on one site.

A site of article pages that each need a stylesheet (which `@import`s another with a web font and a
background), a favicon, a script, a responsive photo (`srcset`, two widths) and an inline image of
their own, on the site and on a "CDN" host (another loopback address), the way news pages are built.
Both tools start from the front page, follow its links one hop and fetch what every page needs
from both hosts; both write WARC files, neither extracts text. The measure is what the servers
answered per second of wall time (pages and requisites), and the CPU of each tool's process tree.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.measure import run
from bench.rounds import SCRAPY_SPEED, settings_args
from stablecopy.samplesite.assets import static_bytes
from stablecopy.samplesite.resource import Resource
from stablecopy.samplesite.server import SiteServer

PNG = "image/png"
HTML = "text/html; charset=utf-8"
CSS = "text/css; charset=utf-8"


@dataclass(frozen=True)
class RequisiteRun:
    tool: str
    served: int  # responses the two hosts sent, pages and requisites
    wall_s: float
    cpu_s: float
    exit_code: int

    @property
    def per_s(self) -> float:
        return self.served / self.wall_s if self.wall_s else 0.0


def _cdn(pages: int) -> dict[str, Resource]:
    photo = static_bytes("photo-640.png")
    files = {
        "/css/type.css": Resource(
            b'@font-face { font-family: L; src: url("../fonts/l.woff2") format("woff2"); }\n'
            b"h1 { font-family: L, serif; }\n.top { background: url(../img/top.png); }\n",
            CSS,
        ),
        "/fonts/l.woff2": Resource(static_bytes("ledger-display.woff2"), "font/woff2"),
        "/img/top.png": Resource(static_bytes("masthead.png"), PNG),
        "/js/lazy.js": Resource(b"/* lazy loading */\n", "text/javascript"),
    }
    for number in range(pages):
        for width in (640, 1280):
            files[f"/img/{number}-{width}.png"] = Resource(photo + b"%d" % number, PNG)
    return files


def _site(pages: int, cdn: str) -> dict[str, Resource]:
    site = {
        "/static/site.css": Resource(
            f'@import url("{cdn}/css/type.css");\nbody {{ margin: 0 auto; max-width: 900px; }}\n'.encode(),
            CSS,
        ),
        "/favicon.png": Resource(static_bytes("favicon.png"), PNG),
    }
    links = []
    for number in range(pages):
        path = f"/story/{number}.html"
        links.append(f'<li><a href="{path}">Story {number}</a></li>')
        body = (
            '<!DOCTYPE html><html><head><link rel="stylesheet" href="/static/site.css">'
            f'<link rel="icon" href="/favicon.png"><script src="{cdn}/js/lazy.js"></script>'
            f"<title>Story {number}</title></head><body><div class=top></div><h1>Story {number}</h1>"
            f'<img src="{cdn}/img/{number}-640.png" srcset="{cdn}/img/{number}-640.png 640w, '
            f'{cdn}/img/{number}-1280.png 1280w" width=640 height=360 alt="">'
            f'<img src="/inline/{number}.png" alt=""><p>{"Words of the story. " * 200}</p>'
            "</body></html>"
        )
        site[path] = Resource(body.encode(), HTML)
        site[f"/inline/{number}.png"] = Resource(static_bytes("street.png") + b"%d" % number, PNG)
    site["/"] = Resource(f"<html><body><ul>{''.join(links)}</ul></body></html>".encode(), HTML)
    return site


@contextmanager
def _served(pages: int) -> Iterator[tuple[SiteServer, SiteServer]]:
    cdn = SiteServer(resources=lambda _base: _cdn(pages), host="127.0.0.2")
    with cdn, SiteServer(resources=lambda _base: _site(pages, cdn.base)) as site:
        yield site, cdn


def _commands(seed: str, cdn_host: str, out: Path) -> dict[str, list[str]]:
    return {
        "stablecopy": [
            sys.executable, "-m", "stablecopy", "crawl", seed, "--follow", "--depth", "1",
            "--data-dir", str(out / "stablecopy"), *settings_args(SCRAPY_SPEED),
            "-s", "STABLECOPY_EXTRACT_ENABLED=false",
        ],
        "wget": [
            "wget", "--recursive", "--level=1", "--page-requisites", "--span-hosts",
            f"--domains=127.0.0.1,{cdn_host}", "--no-verbose", "--no-host-directories",
            f"--directory-prefix={out / 'wget-files'}", "--delete-after",
            f"--warc-file={out / 'wget'}", seed,
        ],
    }  # fmt: skip


def requisites_round(work: Path, pages: int = 300, rounds: int = 3) -> list[RequisiteRun]:
    """Each tool `rounds` times, interleaved, over a fresh output folder each time."""
    runs: list[RequisiteRun] = []
    with _served(pages) as (site, cdn):
        for number in range(rounds):
            for tool, command in _commands(
                site.url("/"), "127.0.0.2", work / f"req-{number}"
            ).items():
                before = len(site.requests) + len(cdn.requests)
                usage = run(command, work / f"req-{tool}-{number}.log")
                served = len(site.requests) + len(cdn.requests) - before
                runs.append(RequisiteRun(tool, served, usage.wall_s, usage.cpu_s, usage.exit_code))
    return runs


def requisites_table(runs: list[RequisiteRun]) -> list[str]:
    lines = [
        "| Page requisites round | responses | pages+requisites/s | CPU s | ratio to wget |",
        "|---|---|---|---|---|",
    ]
    by_tool: dict[str, list[RequisiteRun]] = {}
    for one in runs:
        by_tool.setdefault(one.tool, []).append(one)
    wget = statistics.median(r.per_s for r in by_tool.get("wget", [])) if "wget" in by_tool else 0
    for tool, own in by_tool.items():
        rate = statistics.median(r.per_s for r in own)
        ratio = f"{rate / wget:.2f}" if wget else "n/a"
        lines.append(
            f"| {tool} | {statistics.median(r.served for r in own):.0f} | {rate:.1f} "
            f"({min(r.per_s for r in own):.1f}–{max(r.per_s for r in own):.1f}) | "
            f"{statistics.median(r.cpu_s for r in own):.1f} | {ratio} |"
        )
    return lines

"""The tools a round runs, each over the same site, as the commands that run them."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
# As fast as the machine allows, the same for every Scrapy-based tool: no politeness delay.
SCRAPY_SPEED = {
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "false",
    "CONCURRENT_REQUESTS": "16",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
    "LOG_LEVEL": "INFO",
}
DEPTH = "1000"  # every page of the site is reachable from the front page through the listings


def settings_args(settings: dict[str, str]) -> list[str]:
    return [arg for key, value in settings.items() for arg in ("-s", f"{key}={value}")]


@dataclass(frozen=True)
class Tool:
    """One contender: `command(seed, out)` crawls the site from `seed`, writing under `out`."""

    key: str
    label: str
    command: Callable[[str, Path], list[str]]
    env: Callable[[], dict[str, str]] = lambda: dict(os.environ)
    needs: str = ""  # an executable that must exist, or the tool is left out (and said so)


def _stablecopy(*extra: str) -> Callable[[str, Path], list[str]]:
    def command(seed: str, out: Path) -> list[str]:
        return [
            sys.executable, "-m", "stablecopy", "crawl", seed, "--follow", "--depth", DEPTH,
            "--data-dir", str(out), *settings_args(SCRAPY_SPEED), *extra,
        ]  # fmt: skip

    return command


def _bare(seed: str, out: Path) -> list[str]:
    """The same spider with none of stablecopy's components: Scrapy's own defaults only."""
    off = {"ADDONS": "{}", "DOWNLOADER_MIDDLEWARES": "{}", "EXTENSIONS": "{}",
           "ITEM_PIPELINES": "{}", "USER_AGENT": "stablecopy-bench",
           "SCHEDULER_MEMORY_QUEUE": "scrapy.squeues.LifoMemoryQueue"}  # fmt: skip
    return [
        sys.executable, "-m", "scrapy", "crawl", "articles", "-a", f"url={seed}",
        "-a", "follow=1", "-a", f"depth={DEPTH}", *settings_args({**SCRAPY_SPEED, **off}),
    ]  # fmt: skip


def _bare_env() -> dict[str, str]:
    return {**os.environ, "SCRAPY_SETTINGS_MODULE": "stablecopy.settings"}


def _wget(seed: str, out: Path) -> list[str]:
    return [
        "wget", "--recursive", "--level=inf", "--no-verbose", "--no-host-directories",
        f"--directory-prefix={out / 'files'}", "--delete-after",
        f"--warc-file={out / 'wget'}", seed,
    ]  # fmt: skip


def peers_python() -> Path:
    return Path(os.environ.get("STABLECOPY_BENCH_PEERS", HERE.parent / ".venv-peers")) / "bin"


def _webarchive(seed: str, out: Path) -> list[str]:
    exporter = '{"scrapy_webarchive.extensions.WaczExporter": 543}'
    return [
        str(peers_python() / "scrapy"), "runspider", str(HERE / "peers" / "follow_spider.py"),
        "-a", f"url={seed}", *settings_args(
            {**SCRAPY_SPEED, "EXTENSIONS": exporter, "SW_EXPORT_URI": f"{out}/",
             "ROBOTSTXT_OBEY": "true", "USER_AGENT": "stablecopy-bench"}
        ),
    ]  # fmt: skip


TOOLS = (
    Tool("full", "stablecopy crawl (WARC + clean text + catalogue)", _stablecopy()),
    Tool("capture", "stablecopy crawl, extraction off",
         _stablecopy("-s", "STABLECOPY_EXTRACT_ENABLED=false")),
    Tool("bare", "Scrapy, same spider, no stablecopy components", _bare, _bare_env),
    Tool("wget", "wget --recursive --warc-file", _wget, needs="wget"),
    Tool("webarchive", "scrapy-webarchive 0.5.3 (Scrapy 2.11)", _webarchive,
         needs=str(peers_python() / "scrapy")),
)  # fmt: skip

"""ReplayGuard: a crawl never fetches this archive's own replay server (it would archive the archive).

`stablecopy serve` leaves a `listening` file (host, port, pid) in its collection folder while it
runs; this downloader middleware refuses any request to that port on this machine's names, seeds
included, and says so once per URL.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scrapy.exceptions import IgnoreRequest
from scrapy.utils.httpobj import urlparse_cached

from stablecopy.crawl.processes import is_running
from stablecopy.layout import DataLayout

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

REPLAY_SUBDIR = "replay"
LISTENING = "listening"  # in a collection folder: "host port pid" while pywb serves it
REFRESH = 2.0  # seconds between looks at which replay servers run
_LOCAL_NAMES = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "::"}


@dataclass(frozen=True)
class Listening:
    host: str
    port: int


def listening_servers(layout: DataLayout) -> set[Listening]:
    """The replay servers of this data directory that are running now."""
    found: set[Listening] = set()
    for marker in (layout.root / REPLAY_SUBDIR).glob(f"*/{LISTENING}"):
        try:
            host, port, pid = marker.read_text("utf-8").split()[:3]
            if is_running(int(pid)):
                found.add(Listening(host.strip("[]").lower(), int(port)))
        except (OSError, ValueError):
            continue
    return found


class ReplayGuard:
    """Downloader middleware refusing requests to this archive's replay servers."""

    def __init__(self, layout: DataLayout) -> None:
        self.layout = layout
        self.local = _LOCAL_NAMES | {socket.gethostname().lower(), socket.getfqdn().lower()}
        self._refused: set[str] = set()
        self._known: set[Listening] = set()
        self._checked_at = -REFRESH

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(DataLayout.from_settings(crawler.settings))

    def _is_replay(self, host: str, port: int) -> bool:
        servers = (
            listening_servers(self.layout) if (self.layout.root / REPLAY_SUBDIR).is_dir() else set()
        )
        for server in servers:
            if port != server.port:
                continue
            names = {server.host} | (self.local if server.host in _LOCAL_NAMES else set())
            if host in names:
                return True
        return False

    def process_request(self, request: Request) -> None:
        parts = urlparse_cached(request)
        host = (parts.hostname or "").lower()
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if host and self._is_replay(host, port):
            if request.url not in self._refused:
                self._refused.add(request.url)
                logger.warning(
                    "not crawling %s: it is this archive's own replay server", request.url
                )
            raise IgnoreRequest(f"{request.url} is this archive's replay server")

"""ReplayGuard: a crawl never fetches this archive's own replay server (it would archive the archive).

`stablecopy serve` leaves a `listening` file (host, port, pid) in its collection folder while it
runs; this downloader middleware refuses any request to that port at one of the server's
addresses, however the URL spells it, seeds included, and says so once per URL.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import time
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


Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _literal(host: str) -> Address | None:
    """`host` as an address literal, in any spelling inet_aton or ipaddress reads; else None."""
    with contextlib.suppress(ValueError):
        return ipaddress.ip_address(host)
    with contextlib.suppress(OSError):
        return ipaddress.IPv4Address(socket.inet_aton(host))
    return None


def _resolved(host: str) -> set[Address]:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return set()
    found: set[Address] = set()
    for info in infos:
        with contextlib.suppress(ValueError):
            found.add(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]))
    return found


def addresses(host: str) -> set[Address]:
    """Every address `host` stands for: any spelling of a literal (`127.1`, `2130706433`,
    `0x7f000001`, `::ffff:127.0.0.1`), else what the resolver says (empty if it knows none).
    IPv4-mapped IPv6 addresses count as the IPv4 address they map."""
    host = host.strip("[]")
    literal = _literal(host)
    found = {literal} if literal is not None else _resolved(host)
    return {
        a.ipv4_mapped if isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped else a
        for a in found
    }


class ReplayGuard:
    """Downloader middleware refusing requests to this archive's replay servers.

    A request is refused when its port is a replay server's and its host is one of that server's
    addresses, however spelled: addresses are compared, not names. A server listening on every
    interface (0.0.0.0, ::) is reached through any loopback address or this machine's own."""

    def __init__(self, layout: DataLayout) -> None:
        self.layout = layout
        self._refused: set[str] = set()
        self._servers: set[Listening] = set()
        self._checked_at = -REFRESH
        self._own: set[Address] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(DataLayout.from_settings(crawler.settings))

    def _running(self) -> set[Listening]:
        """The replay servers running now, looked up at most every REFRESH seconds."""
        now = time.monotonic()
        if now - self._checked_at >= REFRESH:
            self._checked_at = now
            replay = self.layout.root / REPLAY_SUBDIR
            self._servers = listening_servers(self.layout) if replay.is_dir() else set()
        return self._servers

    def _this_machine(self) -> set[Address]:
        if self._own is None:
            self._own = addresses(socket.gethostname()) | addresses(socket.getfqdn())
        return self._own

    def _is_replay(self, host: str, port: int) -> bool:
        servers = [server for server in self._running() if server.port == port]
        if not servers:
            return False  # the cheap test first: no name is resolved for other ports
        asked = addresses(host)
        for server in servers:
            bound = addresses(server.host)
            if asked & bound:
                return True
            local = any(a.is_loopback or a.is_unspecified for a in bound)
            everywhere = any(a.is_unspecified for a in bound)
            if local and any(a.is_loopback for a in asked):
                return True
            if everywhere and asked & self._this_machine():
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

"""HostBlocklist: the ad and tracker hosts whose requisites are not archived, kept as data.

Lists are in EasyList/EasyPrivacy domain style (`||host^`, options and path rules ignored); a host
is blocked when it, or a domain it is under, is listed. STABLECOPY_REQUISITE_BLOCKLISTS names the
lists ("default" is the bundled rules/ad-hosts.txt; [] blocks nothing), STABLECOPY_BLOCKED_HOSTS
adds hosts. Pages the crawl is asked for are never blocked: only what they pull in.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Self

    from scrapy.settings import BaseSettings

DEFAULT = "default"


def _hosts(lines: Iterable[str]) -> Iterator[str]:
    for line in lines:
        rule = line.strip()
        if not rule or rule.startswith(("!", "#", "[", "@@")):
            continue
        rule = rule.split("$", 1)[0].removeprefix("||").removesuffix("^").rstrip(".")
        if rule and "/" not in rule and "*" not in rule:
            yield rule.lower()


class HostBlocklist:
    def __init__(self, hosts: Iterable[str]) -> None:
        self.hosts = frozenset(host.strip().lower().rstrip(".") for host in hosts if host.strip())

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> Self:
        hosts: list[str] = list(settings.getlist("STABLECOPY_BLOCKED_HOSTS"))
        for name in settings.getlist("STABLECOPY_REQUISITE_BLOCKLISTS"):
            if name == DEFAULT:
                text = (
                    files("stablecopy.requisites").joinpath("rules/ad-hosts.txt").read_text("utf-8")
                )
            else:
                text = Path(name).read_text("utf-8")
            hosts.extend(_hosts(text.splitlines()))
        return cls(hosts)

    def blocks(self, host: str | None) -> bool:
        """Whether `host` or a domain it is under is listed."""
        if not host or not self.hosts:
            return False
        labels = host.lower().rstrip(".").split(".")
        return any(".".join(labels[i:]) in self.hosts for i in range(len(labels)))

"""The stablecopy Scrapy add-on: settings derived from other STABLECOPY_* settings, once, at startup."""

from __future__ import annotations

import os

from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings

from stablecopy import __version__

# Scrapy extensions that are off unless their setting is true (stablecopy sets both false). Taken
# out of EXTENSIONS_BASE when off, rather than loaded only to refuse (Scrapy imports every class
# named in EXTENSIONS itself, even one set to None): the remote control alone imports aiohttp,
# 0.17 s and 8 MB at every crawl's start.
_SWITCHED_EXTENSIONS = {
    "REMOTE_CONTROL_ENABLED": "scrapy.extensions.remote_control.RemoteControl",
    "TELNETCONSOLE_ENABLED": "scrapy.extensions.telnet.TelnetConsole",
}


def user_agent(contact_url: str) -> str:
    """The User-Agent every stablecopy request carries: who we are and how to reach the operator."""
    return f"stablecopy/{__version__} (archival crawler; +{contact_url})"


def share_frontier(settings: BaseSettings) -> None:
    """With STABLECOPY_REDIS_URL: scrapy-redis's queue and duplicate filter, under the crawl's keys,
    never cleared by a worker that leaves (SCHEDULER_PERSIST), and the Crew that ends the crawl."""
    from stablecopy.frontier.crew import Crew
    from stablecopy.frontier.keys import FrontierKeys

    keys = FrontierKeys.from_settings(settings)
    settings.set("SCHEDULER", "stablecopy.frontier.scheduler.SharedScheduler", "addon")
    settings.set("DUPEFILTER_CLASS", "scrapy_redis.dupefilter.RFPDupeFilter", "addon")
    settings.set("SCHEDULER_PERSIST", True, "addon")
    settings.set("SCHEDULER_FLUSH_ON_START", False, "addon")
    settings.set("SCHEDULER_QUEUE_KEY", keys.queue, "addon")
    settings.set("SCHEDULER_DUPEFILTER_KEY", keys.dupefilter, "addon")
    settings.set("REDIS_URL", settings.get("STABLECOPY_REDIS_URL"), "addon")
    settings.set_in_component_priority_dict("EXTENSIONS", Crew, 50)


def run_stored(settings: BaseSettings) -> None:
    """With STABLECOPY_RUN_STORED: the seeds and settings crawl STABLECOPY_CRAWL_ID holds in the
    catalogue, at command-line priority, except those given on the command line itself (a job
    on a Scrapyd node gets only the crawl id and where its catalogue and data directory are).

    Called by the spider's update_settings: Scrapy builds the spider (which reads its seeds)
    before add-ons run."""
    from stablecopy.catalog.crawls import carried_settings, load_crawl
    from stablecopy.catalog.session import CatalogError
    from stablecopy.layout import DataLayout

    crawl_id = settings.getint("STABLECOPY_CRAWL_ID")
    if not crawl_id:
        raise ValueError("STABLECOPY_RUN_STORED needs STABLECOPY_CRAWL_ID, the crawl to run")
    db_url = DataLayout.from_settings(settings).db_url
    try:
        crawl = load_crawl(db_url, crawl_id)
    except CatalogError as exc:
        raise ValueError(f"cannot run crawl {crawl_id} as stored: {exc}") from exc
    for key, value in carried_settings(crawl).items():
        if (settings.getpriority(key) or 0) < SETTINGS_PRIORITIES["cmdline"]:
            settings.set(key, value, "cmdline")


class Addon:
    """Sets USER_AGENT from STABLECOPY_CONTACT_URL unless USER_AGENT was set explicitly, shares
    the frontier on Redis when STABLECOPY_REDIS_URL is set, and leaves out extensions switched off."""

    def update_settings(self, settings: BaseSettings) -> None:
        # A crawl fetches only what it archives. Scrapy's cookie handling asks tldextract for
        # public suffixes, and tldextract would download the list from publicsuffix.org on first
        # use; its bundled snapshot is used instead (an explicit environment setting still wins).
        os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
        priority = settings.getpriority("USER_AGENT") or 0
        if priority <= SETTINGS_PRIORITIES["addon"]:
            settings.set("USER_AGENT", user_agent(settings.get("STABLECOPY_CONTACT_URL")), "addon")
        if settings.get("STABLECOPY_REDIS_URL"):
            share_frontier(settings)
        base = settings.getdict("EXTENSIONS_BASE")
        for flag, path in _SWITCHED_EXTENSIONS.items():
            if not settings.getbool(flag):
                base.pop(path, None)
        settings.set("EXTENSIONS_BASE", base, settings.getpriority("EXTENSIONS_BASE") or 0)

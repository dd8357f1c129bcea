"""The stablecopy Scrapy add-on: settings derived from other STABLECOPY_* settings, once, at startup."""

from __future__ import annotations

import os

from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings

from stablecopy import __version__


def user_agent(contact_url: str) -> str:
    """The User-Agent every stablecopy request carries: who we are and how to reach the operator."""
    return f"stablecopy/{__version__} (archival crawler; +{contact_url})"


class Addon:
    """Sets USER_AGENT from STABLECOPY_CONTACT_URL unless USER_AGENT was set explicitly."""

    def update_settings(self, settings: BaseSettings) -> None:
        # A crawl fetches only what it archives. Scrapy's cookie handling asks tldextract for
        # public suffixes, and tldextract would download the list from publicsuffix.org on first
        # use; its bundled snapshot is used instead (an explicit environment setting still wins).
        os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
        priority = settings.getpriority("USER_AGENT") or 0
        if priority <= SETTINGS_PRIORITIES["addon"]:
            settings.set("USER_AGENT", user_agent(settings.get("STABLECOPY_CONTACT_URL")), "addon")

"""The add-on: the User-Agent names stablecopy and the operator's contact, unless set outright;
extensions switched off are left out."""

from __future__ import annotations

from scrapy.settings import Settings
from scrapy.utils.conf import build_component_list

from stablecopy import __version__
from stablecopy.crawl.addon import Addon


def settings(**cmdline: str) -> Settings:
    result = Settings()
    result.setmodule("stablecopy.settings", priority="project")
    for key, value in cmdline.items():
        result.set(key, value, priority="cmdline")
    Addon().update_settings(result)
    return result


def test_user_agent_names_stablecopy_and_the_contact_url() -> None:
    agent = settings(STABLECOPY_CONTACT_URL="mailto:webarchive@library.example").get("USER_AGENT")
    assert (
        agent == f"stablecopy/{__version__} (archival crawler; +mailto:webarchive@library.example)"
    )


def test_an_explicit_user_agent_wins() -> None:
    assert settings(USER_AGENT="MyArchive/1.0").get("USER_AGENT") == "MyArchive/1.0"


def extensions(**cmdline: str) -> list[str]:
    return build_component_list(
        settings(**cmdline).get_component_priority_dict_with_base("EXTENSIONS")
    )


def test_extensions_switched_off_are_not_even_loaded() -> None:
    enabled = extensions()
    assert "scrapy.extensions.remote_control.RemoteControl" not in enabled
    assert "scrapy.extensions.telnet.TelnetConsole" not in enabled
    assert "scrapy.extensions.corestats.CoreStats" in enabled
    assert "stablecopy.catalog.recorder.CatalogRecorder" in enabled


def test_an_extension_switched_on_stays() -> None:
    assert "scrapy.extensions.telnet.TelnetConsole" in extensions(TELNETCONSOLE_ENABLED="true")

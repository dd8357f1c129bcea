"""URL keys: the SURT form captures are stored, sorted and looked up by (as in CDX indexes), and
the form a URL is catalogued in, so a URL typed with unicode or spaces finds its captures."""

from __future__ import annotations

from functools import lru_cache

from w3lib.url import safe_url_string


@lru_cache(maxsize=4096)  # a crawl asks for a URL's key when it looks up its last capture, and
# again when it catalogues the new one, a few requests later
def url_key(url: str) -> str:
    """The SURT form of a URL (what CDX indexes sort and look up by)."""
    import surt  # here, not above: it loads tldextract and requests, a fifth of a second

    try:
        return str(surt.surt(url))
    except Exception:  # noqa: BLE001 (surt fails in many ways on odd URLs; the URL itself will do)
        return url


def catalogued_url(url: str) -> str:
    """A URL as the catalogue holds it: percent-encoded as sent (IRIs, spaces), no fragment."""
    return str(safe_url_string(url.strip().split("#", 1)[0]))

"""URL keys: the SURT form captures are stored, sorted and looked up by (as in CDX indexes)."""

from __future__ import annotations

import surt


def url_key(url: str) -> str:
    """The SURT form of a URL (what CDX indexes sort and look up by)."""
    try:
        return str(surt.surt(url))
    except Exception:  # noqa: BLE001 (surt fails in many ways on odd URLs; the URL itself will do)
        return url

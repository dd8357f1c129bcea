"""Resource: one URL of a sample-site host, what it serves and how it goes over the wire."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Resource:
    """One URL of the site: what it serves and how it is sent over the wire."""

    body: bytes
    content_type: str
    status: int = 200
    encoding: str = (
        "identity"  # identity | gzip (when the client accepts it) | chunked | gzip+chunked
    )
    headers: tuple[tuple[str, str], ...] = ()

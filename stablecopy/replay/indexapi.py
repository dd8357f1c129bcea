"""Replay's index as a read-only HTTP interface on loopback, answered from the catalogue itself:
`/index?key=K&end_key=E[&closest=T][&limit=N]` gives CDXJ lines, `/citation/XXXX-XXXX` what a
citation id names.

The pywb process asks it for every lookup (its index source and its citation-id middleware), so
replay needs no index of its own: nothing is built at start, nothing is polled while idle, and a
capture replays as soon as its transaction commits.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from warcio.timeutils import timestamp_to_datetime

from stablecopy.catalog.replaylookup import captures_in_range, cited
from stablecopy.export.cdxj import cdxj_lines
from stablecopy.labels import timestamp14

logger = logging.getLogger(__name__)
StartResponse = Callable[[str, list[tuple[str, str]]], Any]
MAX_LINES = 100_000  # pywb's own default limit of a CDX query
LINES_PER_CHUNK = 1000


def _moment(stamp: str) -> datetime:
    """`closest` as pywb passes it (1 to 14 digits), read as pywb reads it (warcio pads a partial
    timestamp to the end of the period it names: "2" is the end of 2999)."""
    return timestamp_to_datetime(stamp, tz_aware=True).astimezone(UTC)


def _send(start_response: StartResponse, status: str, kind: str, body: bytes) -> list[bytes]:
    start_response(status, [("Content-Type", kind), ("Content-Length", str(len(body)))])
    return [body]


class IndexApi:
    """The WSGI app: CDXJ lines of a key range, and citation ids."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        try:
            if path == "/index":
                return self._index(query, start_response)
            if path.startswith("/citation/"):
                with Session(self.engine) as session:
                    reference = path.removeprefix("/citation/")
                    return self._citation(session, reference, start_response)
        except (ValueError, KeyError) as exc:
            return _send(start_response, "400 Bad Request", "text/plain", str(exc).encode())
        except SQLAlchemyError as exc:
            logger.warning("replay index: the catalogue cannot be read: %s", exc)
            return _send(start_response, "503 Service Unavailable", "text/plain",
                         b"the catalogue cannot be read")  # fmt: skip
        return _send(start_response, "404 Not Found", "text/plain", b"no such thing")

    def _index(self, query: dict[str, str], start_response: StartResponse) -> Iterable[bytes]:
        """The lines, streamed in chunks (a prefix query may be long): the first chunk is read
        before answering, so a catalogue that cannot be read is a 503, not a cut-off 200."""
        low, high = query["key"], query["end_key"]
        limit = min(int(query.get("limit", MAX_LINES)), MAX_LINES)
        closest = _moment(query["closest"]) if query.get("closest") else None
        chunks = self._chunks(low, high, limit, closest)
        first = next(chunks, b"")
        start_response("200 OK", [("Content-Type", "text/x-cdxj")])
        return itertools.chain([first], chunks)

    def _chunks(self, low: str, high: str, limit: int, closest: datetime | None) -> Iterator[bytes]:
        with (
            Session(self.engine) as session,
            closing(captures_in_range(session, low, high, limit, closest)) as captures,
        ):
            lines = cdxj_lines(captures, citations=True)
            if closest is None:  # the first `limit` lines; a memento gets both sides whole
                lines = itertools.islice(lines, limit)
            while batch := list(itertools.islice(lines, LINES_PER_CHUNK)):
                yield "".join(f"{line}\n" for line in batch).encode("utf-8")

    def _citation(
        self, session: Session, reference: str, start_response: StartResponse
    ) -> list[bytes]:
        found = cited(session, reference)
        if found is None:
            return _send(start_response, "404 Not Found", "text/plain", b"no such citation id")
        text = None
        if found.text_file is not None:
            text = {"file": found.text_file, "offset": found.text_offset,
                    "sha256": found.text_sha256}  # fmt: skip
        body = {"timestamp": timestamp14(found.fetched_at), "url": found.url, "text": text}
        return _send(start_response, "200 OK", "application/json", json.dumps(body).encode())

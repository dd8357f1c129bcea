"""ReadBack: Scrapy responses rebuilt from archived records, for the spider.

Two callers: a 304 Not Modified is handed on with its original's status, headers and body, so the
spider sees the page and its links as if sent again; a resumed crawl answers a URL it already
captured from that capture's records instead of fetching it again.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy.http import Headers
from scrapy.responsetypes import responsetypes

from stablecopy import signals as sc_signals
from stablecopy.archive import meta, records
from stablecopy.archive.reader import RecordReadError, read_record
from stablecopy.archive.revisits import NOT_MODIFIED
from stablecopy.events import ArchivedResponse, ArchivedResponseQuery, PriorCapture, RecordLocation
from stablecopy.layout import DataLayout, UnsafePathError

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.http import Response
    from scrapy.signalmanager import SignalManager
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)


class ReadBack:
    def __init__(
        self, layout: DataLayout, signals: SignalManager, stats: StatsCollector | None
    ) -> None:
        self.layout = layout
        self.signals = signals
        self.stats = stats

    def restored(self, request: Request, response: Response, prior: PriorCapture) -> Response:
        """A 304 answered with the original's archived content, flagged `revisit`; the 304
        itself if the original cannot be read."""
        restored = self._rebuilt(
            request,
            prior.location,
            flags=[*response.flags, meta.REVISIT_FLAG],
            certificate=response.certificate,
            ip_address=response.ip_address,
            protocol=response.protocol,
        )
        return restored or response

    def served(self, request: Request, crawl_id: int) -> Response | None:
        """What crawl `crawl_id` already captured of the URL, read back and flagged `cached`
        (never archived again); None if it has nothing."""
        query = ArchivedResponseQuery(records.without_fragment(request.url), crawl_id)
        answers = self.signals.send_catch_log(sc_signals.archived_response_requested, query=query)
        answer = next((a for _, a in answers if isinstance(a, ArchivedResponse)), None)
        if answer is None:
            return None
        head, payload = answer.location, answer.payload_location
        if answer.revisit_profile == NOT_MODIFIED and payload is not None:
            head, payload = payload, None  # a 304 stands for its original, headers and all
        response = self._rebuilt(request, head, payload, flags=["cached", meta.ARCHIVED_FLAG])
        if response is None:
            return None
        request.meta[meta.RECORD_ID] = answer.record_id
        request.meta[meta.TRUNCATED] = answer.truncated
        if answer.revisit_profile:
            request.meta[meta.REVISIT] = answer.revisit_profile
        if answer.has_text:
            request.meta[meta.TEXT_DONE] = True
        if self.stats:
            self.stats.inc_value("stablecopy/resumed_from_archive")
        return response

    def _rebuilt(
        self,
        request: Request,
        head: RecordLocation,
        payload: RecordLocation | None = None,
        flags: list[str] | None = None,
        **extra: Any,
    ) -> Response | None:
        """Status and headers from `head`, the body (still content-encoded, as stored) from
        `payload` or `head`. None if they cannot be read."""
        try:
            headed = read_record(self.layout.resolve(head.warc_file), head.offset)
            body = headed.payload
            if payload is not None:
                body = read_record(self.layout.resolve(payload.warc_file), payload.offset).payload
        except (RecordReadError, UnsafePathError) as exc:
            logger.warning("cannot read %s back from the archive: %s", request.url, exc)
            return None
        headers = Headers(list(headed.http_headers))
        cls = responsetypes.from_args(headers=headers, url=request.url, body=body)
        return cls(
            url=request.url,
            status=headed.http_status or 200,
            headers=headers,
            body=body,
            request=request,
            flags=flags or [],
            **extra,
        )

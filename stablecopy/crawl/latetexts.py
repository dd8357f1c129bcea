"""LateTexts: clean text made after the crawl, by `stablecopy repair`, for the captures that lack it.

A crawl killed with pages waiting for extraction, or whose worker died under a page three times,
leaves captures with no clean text, or an `error` in its place. `crawl --resume` makes them as it
goes; a crawl that will not be resumed gets them here: each response is read back from the archive
(decoded as the crawl would have decoded it), extracted with the crawl's own extraction settings, and
its text archived in a new WARC file of that crawl (conversion and metadata records pointing at the
response, as the crawl writes them) and catalogued, refilling a failed row.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from scrapy.exceptions import IgnoreRequest
from scrapy.settings import Settings
from sqlalchemy.orm import Session

from stablecopy.archive.reader import RecordReadError, read_record
from stablecopy.archive.textrecords import write_text_records
from stablecopy.archive.warcinfo import CrawlInfo
from stablecopy.archive.writer import ClosedFile, WarcWriter, Written
from stablecopy.catalog import queries
from stablecopy.catalog.models import Capture, Crawl
from stablecopy.catalog.rows import extraction_row, warc_file_row
from stablecopy.crawl.decoding import decoded_body
from stablecopy.crawl.runner import project_settings
from stablecopy.events import ExtractedText, RecordLocation, WarcFileClosed
from stablecopy.extract.charset import page_text
from stablecopy.extract.job import extract_within
from stablecopy.extract.options import ExtractOptions
from stablecopy.layout import DataLayout, UnsafePathError

logger = logging.getLogger(__name__)


@dataclass
class LateTextReport:
    made: int = 0
    unreadable: list[str] | None = None


def _settings(crawl: Crawl) -> Settings:
    """The crawl's settings as it ran (its snapshot over the defaults)."""
    return project_settings({k: v for k, v in (crawl.settings or {}).items() if v is not None})


class LateTexts:
    """Makes, archives and catalogues the missing clean texts of one data directory's crawls."""

    def __init__(self, session: Session, layout: DataLayout) -> None:
        self.session = session
        self.layout = layout
        self.report = LateTextReport(unreadable=[])

    def run(self) -> LateTextReport:
        by_crawl: dict[int, list[Capture]] = {}
        for capture in queries.captures_lacking_text(self.session):
            by_crawl.setdefault(capture.crawl_id, []).append(capture)
        for crawl_id, captures in by_crawl.items():
            crawl = self.session.get(Crawl, crawl_id)
            if crawl is None:
                continue
            settings = _settings(crawl)
            if not settings.getbool("STABLECOPY_EXTRACT_ENABLED"):
                continue  # that crawl made no clean text on purpose
            self._make(crawl, settings, captures)
        return self.report

    def _make(self, crawl: Crawl, settings: Settings, captures: list[Capture]) -> None:
        closed: list[ClosedFile] = []
        info = CrawlInfo.from_settings(
            settings,
            "clean text made by `stablecopy repair` for captures of this crawl that had none",
        )
        writer = WarcWriter.from_settings(
            settings,
            self.layout.warc_dir,
            warcinfo_fields=lambda _name: info.fields(crawl.id),
            on_close=closed.append,
        )
        options = ExtractOptions.from_settings(settings)
        timeout = settings.getfloat("STABLECOPY_EXTRACT_TIMEOUT")
        limit = settings.getint("STABLECOPY_EXTRACT_MAX_SIZE")
        try:
            for capture, html in self._pages(captures, settings.getint("DOWNLOAD_MAXSIZE")):
                if limit and len(html) > limit:
                    continue  # the crawl would not have tried either
                result = extract_within(html, capture.url, options, timeout)
                text = ExtractedText(record_id=capture.record_id, url=capture.url, result=result)
                archived, _ = write_text_records(writer, text, self._location)
                writer.sync()
                self.session.add(extraction_row(archived, capture, earlier=capture.extraction))
                self.report.made += 1
        finally:
            writer.close()
            for file in closed:
                event = WarcFileClosed(
                    self.layout.relative(file.path), file.size, file.sha256, file.records,
                    file.opened_at, file.closed_at,
                )  # fmt: skip
                self.session.add(warc_file_row(event, crawl.id))
            self.session.commit()

    def _pages(self, captures: list[Capture], max_size: int) -> Iterator[tuple[Capture, str]]:
        """Each capture's page as the crawl read it: its body decoded, then its characters."""
        for capture in captures:
            try:
                path = self.layout.resolve(capture.warc_file)
                record = read_record(path, capture.warc_offset)
            except (RecordReadError, UnsafePathError) as exc:
                assert self.report.unreadable is not None
                self.report.unreadable.append(f"{capture.url}: {exc}")
                continue
            headers = {name.lower(): value for name, value in record.http_headers}
            try:
                body = decoded_body(record.payload, headers.get("content-encoding", ""), max_size)
            except IgnoreRequest:
                continue  # larger than DOWNLOAD_MAXSIZE once decoded: the crawl had no text of it
            yield capture, page_text(body, headers.get("content-type"))

    def _location(self, written: Written) -> RecordLocation:
        return RecordLocation(
            self.layout.relative(Path(written.path)), written.offset, written.length
        )

"""The notary: signs the capture log's tree head, has it time-stamped (RFC 3161), archives the head
and its tokens as WARC resource records, and publishes the head to where witnesses keep it.

`Notary.notarise()` does it once (`stablecopy log sign`); the `LogNotary` extension does it at the
end of every crawl and every STABLECOPY_TREE_HEAD_INTERVAL seconds during a long one.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from scrapy import signals as scrapy_signals
from scrapy.exceptions import NotConfigured
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from twisted.internet import threads
from twisted.internet.task import LoopingCall

from stablecopy import signals as sc_signals
from stablecopy.archive.records import new_record_id, resource_record
from stablecopy.archive.warcinfo import CrawlInfo
from stablecopy.archive.writer import ClosedFile, WarcWriteError, WarcWriter
from stablecopy.catalog import caplog
from stablecopy.catalog.models import TimestampToken, TreeHeadRow
from stablecopy.catalog.rows import warc_file_row
from stablecopy.catalog.session import CatalogError, open_catalog, session_factory
from stablecopy.events import WarcFileClosed
from stablecopy.evidence import timestamp
from stablecopy.evidence.keys import KeyFileError, KeyFiles
from stablecopy.evidence.publish import publish
from stablecopy.evidence.treehead import TreeHead
from stablecopy.layout import DataLayout

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings
    from twisted.internet.defer import Deferred

logger = logging.getLogger(__name__)

HEAD_URI = f"{caplog.RECORD_URI}tree-head:{{size}}:{{timestamp}}"
TOKEN_URI = f"{caplog.RECORD_URI}timestamp:{{size}}:{{timestamp}}:{{n}}"
HEAD_TYPE = "application/json"
TOKEN_TYPE = "application/timestamp-reply"


def key_files(settings: BaseSettings, layout: DataLayout) -> KeyFiles:
    return KeyFiles.configured(settings.get("STABLECOPY_KEYS_DIR"), layout.root)


def tsa_roots(settings: BaseSettings) -> list[x509.Certificate]:
    path = settings.get("STABLECOPY_TSA_CA_FILE") or ""
    if not path:
        return []
    try:
        return timestamp.load_certificates(Path(path).expanduser().read_bytes())
    except OSError as exc:
        raise timestamp.TimestampError(
            f"cannot read STABLECOPY_TSA_CA_FILE {path}: {exc.strerror}"
        ) from exc


@dataclass
class Notarised:
    head: TreeHead
    tokens: list[timestamp.Token] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    warc_file: str | None = None


class Notary:
    def __init__(self, engine: Engine, layout: DataLayout, settings: BaseSettings) -> None:
        self.engine = engine
        self.layout = layout
        self.settings = settings
        self.keys = key_files(settings, layout)
        self.tsa_urls = [url for url in settings.getlist("STABLECOPY_TSA_URLS") if url]

    def notarise(self, crawl_id: int | None = None) -> Notarised:
        """Sign the log as committed now, time-stamp, archive and publish the head."""
        key = self.keys.log_key()
        roots = tsa_roots(self.settings)
        with session_factory(self.engine)() as session:
            head, row = caplog.sign_head(session, key, crawl_id)
            done = Notarised(head)
            for url in self.tsa_urls:
                try:
                    done.tokens.append(timestamp.request(url, head.signed_bytes(), roots))
                except timestamp.TimestampError as exc:
                    done.failures.append(str(exc))
                    logger.warning("tree head %d not time-stamped: %s", head.size, exc)
            try:
                done.warc_file = self._archive(session, row, head, done.tokens, crawl_id)
            except (WarcWriteError, OSError) as exc:
                done.failures.append(f"cannot archive the tree head: {exc}")
                logger.error("cannot archive tree head %d: %s", head.size, exc)
                self._keep_tokens(session, row, done.tokens, {})
            session.commit()
        published = {**head.as_json(), "tokens": len(done.tokens)}
        done.failures += publish(
            published,
            file=self.settings.get("STABLECOPY_TREE_HEAD_FILE") or "",
            webhook=self.settings.get("STABLECOPY_TREE_HEAD_WEBHOOK") or "",
        )
        return done

    def _archive(
        self,
        session: Session,
        row: TreeHeadRow,
        head: TreeHead,
        tokens: list[timestamp.Token],
        crawl_id: int | None,
    ) -> str | None:
        """Write the head and its tokens as resource records in a WARC file of their own, and
        catalogue the file (its leaf goes into the log after this head)."""
        closed: list[ClosedFile] = []
        info = CrawlInfo.from_settings(self.settings, "signed tree heads of the capture log")
        writer = WarcWriter(
            directory=self.layout.warc_dir,
            prefix=f"{self.settings.get('STABLECOPY_WARC_PREFIX')}-log",
            max_size=self.settings.getint("STABLECOPY_WARC_MAX_SIZE"),
            warcinfo_fields=lambda _name: info.fields(crawl_id),
            on_close=closed.append,
        )
        now = datetime.now(UTC)
        warcinfo = writer.reserve(0)
        names = {"size": head.size, "timestamp": head.timestamp}
        head_id = new_record_id()
        records = [resource_record(
            HEAD_URI.format(**names), HEAD_TYPE,
            json.dumps(head.as_json(), sort_keys=True, indent=2).encode(), head_id, now, warcinfo,
        )]  # fmt: skip
        token_ids = {}
        for n, token in enumerate(tokens):
            token_ids[n] = new_record_id()
            records.append(resource_record(
                TOKEN_URI.format(n=n, **names), TOKEN_TYPE, token.der, token_ids[n], now,
                warcinfo, concurrent_to=head_id,
            ))  # fmt: skip
        writer.write(records)
        writer.close()
        row.record_id = head_id
        self._keep_tokens(session, row, tokens, token_ids)
        for file in closed:
            session.add(warc_file_row(WarcFileClosed(
                self.layout.relative(file.path), file.size, file.sha256, file.records,
                file.opened_at, file.closed_at,
            ), crawl_id))  # fmt: skip
        return self.layout.relative(closed[0].path) if closed else None

    @staticmethod
    def _keep_tokens(
        session: Session,
        row: TreeHeadRow,
        tokens: list[timestamp.Token],
        record_ids: dict[int, str],
    ) -> None:
        for n, token in enumerate(tokens):
            session.add(TimestampToken(
                tree_head_id=row.id, tsa_url=token.tsa_url, token=token.der,
                gen_time=token.gen_time, tsa_name=token.tsa_name, record_id=record_ids.get(n),
            ))  # fmt: skip


class LogNotary:
    """Signs and time-stamps the log at the end of a crawl (its WARC files closed and catalogued)
    and every STABLECOPY_TREE_HEAD_INTERVAL seconds during it."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.layout = DataLayout.from_settings(settings)
        keys = key_files(settings, self.layout)
        if not keys.exists():
            logger.info(
                "capture log: no archive key in %s, tree heads are not signed "
                "(`stablecopy keys init` makes one)", keys.folder,
            )  # fmt: skip
            raise NotConfigured  # (with a reason Scrapy would log it as a warning)
        if not settings.getlist("STABLECOPY_TSA_URLS"):
            logger.info("capture log: no time-stamping authority (STABLECOPY_TSA_URLS): "
                        "tree heads are signed, not time-stamped")  # fmt: skip
        self.engine = open_catalog(self.layout.db_url, writer=True)
        self.notary = Notary(self.engine, self.layout, settings)
        self.crawl_id: int | None = None
        self.interval = settings.getfloat("STABLECOPY_TREE_HEAD_INTERVAL")
        self._ticker = LoopingCall(self._periodic)
        self._running: Deferred[Notarised | None] | None = None
        self._final = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        notary = cls(crawler)
        crawler.signals.connect(notary.crawl_opened, signal=sc_signals.crawl_opened)
        crawler.signals.connect(notary.log_committed, signal=sc_signals.log_committed)
        crawler.signals.connect(notary.engine_stopped, signal=scrapy_signals.engine_stopped)
        return notary

    def crawl_opened(self, event: object) -> None:
        self.crawl_id = getattr(event, "crawl_id", None)
        if self.interval > 0:
            self._ticker.start(self.interval, now=False)

    def _sign(self) -> Notarised | None:
        try:
            done = self.notary.notarise(self.crawl_id)
        except (KeyFileError, CatalogError, SQLAlchemyError, caplog.LogError,
                timestamp.TimestampError) as exc:  # fmt: skip
            logger.error("capture log: tree head not signed: %s", exc)
            if self.crawler.stats:
                self.crawler.stats.inc_value("stablecopy/log/errors")
            return None
        logger.info("capture log: signed tree head of %d leaves (%d time-stamps)",
                    done.head.size, len(done.tokens))  # fmt: skip
        if self.crawler.stats:
            self.crawler.stats.set_value("stablecopy/log/tree_size", done.head.size)
            self.crawler.stats.inc_value("stablecopy/log/heads")
        return done

    def _periodic(self) -> Deferred[Notarised | None] | None:
        if self._running is not None:
            return None  # the previous one is still waiting for its TSA
        self._running = threads.deferToThread(self._sign)
        self._running.addBoth(self._finished)
        return None

    def _finished(self, result: Notarised | None) -> Notarised | None:
        self._running = None
        return result

    def log_committed(self) -> None:
        """The crawl's rows are committed; its WARC files close after: sign once the engine stops."""
        self._final = True

    def engine_stopped(self) -> None:
        if self._ticker.running:
            self._ticker.stop()
        if self._final:
            self._sign()
        self.engine.dispose()

"""End to end: `stablecopy crawl` as a real process against the sample site on loopback.

One crawl of the whole site (plus hostile routes) is shared; each test checks one behaviour of what
it left behind, using warcio and a hand-written reader as oracles.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select
from warcio.archiveiterator import ArchiveIterator
from warcio.cli import main as warcio_main

from stablecopy.catalog.models import Capture, Crawl, Extraction, FetchFailure, WarcFile
from stablecopy.samplesite import pages
from stablecopy.samplesite.server import SiteServer
from tests.conftest import RESPONSE_LIMIT, CrawlRun
from tests.helpers import RawRecord, gunzip, json_lines, raw_records, run_cli, warcio_records
from tests.routes import huge_body

pytestmark = pytest.mark.catalogue

WARC_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
WARC_NAME = re.compile(r"^stablecopy-\d{20}-\d{5}-\d+-[a-z0-9._-]+\.warc\.gz$")


def records(run: CrawlRun) -> list[RawRecord]:
    return [record for path in run.warcs for record in raw_records(path)]


def responses(run: CrawlRun) -> dict[str, list[RawRecord]]:
    found = defaultdict(list)
    for record in records(run):
        if record.type == "response":
            found[record.headers["WARC-Target-URI"]].append(record)
    return found


def header_values(head: bytes, name: str) -> list[bytes]:
    prefix = name.lower().encode() + b":"
    return [
        line.split(b":", 1)[1].strip()
        for line in head.split(b"\r\n")
        if line.lower().startswith(prefix)
    ]


def test_crawl_finishes_and_reports(full_crawl: CrawlRun) -> None:
    result = full_crawl.result
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert re.search(r"Crawl 1 finished: \d+ captures", result.stderr)
    assert "pages captured" in result.stderr  # the progress line (plain form off a terminal)
    assert "queued" in result.stderr


def test_invalid_seed_lines_are_reported_with_file_and_line(full_crawl: CrawlRun) -> None:
    stderr = full_crawl.result.stderr
    seeds = str(full_crawl.seeds_file)
    assert f"{seeds}:19: unsupported scheme 'ftp'" in stderr
    assert f"{seeds}:20: unsupported scheme 'javascript'" in stderr
    assert f"{seeds}:21: a URL cannot contain spaces" in stderr


def test_warcio_check_passes_on_every_file(full_crawl: CrawlRun) -> None:
    assert full_crawl.warcs
    for path in full_crawl.warcs:
        with pytest.raises(SystemExit) as exited:
            warcio_main(["check", str(path)])
        assert exited.value.code == 0, path


def test_files_are_named_closed_and_headed_by_warcinfo(full_crawl: CrawlRun) -> None:
    for path in full_crawl.warcs:
        assert WARC_NAME.match(path.name), path.name
        found = raw_records(path)
        info = found[0]
        assert info.type == "warcinfo"
        assert info.headers["WARC-Filename"] == path.name
        fields = dict(
            line.split(": ", 1) for line in info.block.decode("utf-8").strip().split("\r\n")
        )
        assert fields["format"] == "WARC file version 1.1"
        assert fields["robots"] == "classic"
        assert fields["isPartOf"] == "stablecopy-crawl-1"
        assert "sha256" in fields["stablecopy-digest-algorithm"]
        assert "crossed the connection" in fields["stablecopy-capture-method"]
        assert fields["http-header-user-agent"].startswith("stablecopy/")
        for name in ("scrapy/", "warcio/", "stablecopy/"):
            assert name in fields["software"]
        for record in found[1:]:
            assert record.headers["WARC-Warcinfo-ID"] == info.headers["WARC-Record-ID"]
    assert not list(full_crawl.layout.warc_dir.glob("*.open"))


def test_every_response_has_its_request_sharing_one_date(full_crawl: CrawlRun) -> None:
    by_id = {r.headers["WARC-Record-ID"]: r for r in records(full_crawl)}
    pairs = 0
    for record in by_id.values():
        assert record.headers.get("WARC-Date") is None or WARC_DATE.match(
            record.headers["WARC-Date"]
        )
        if record.type != "response":
            continue
        request = by_id[record.headers["WARC-Concurrent-To"]]
        assert request.type == "request"
        assert request.headers["WARC-Concurrent-To"] == record.headers["WARC-Record-ID"]
        assert request.headers["WARC-Date"] == record.headers["WARC-Date"]
        assert request.headers["WARC-Target-URI"] == record.headers["WARC-Target-URI"]
        # The address that answered: the site's, its CDN's or its ad server's (other loopbacks).
        target_host = urlsplit(record.headers["WARC-Target-URI"]).hostname
        assert record.headers["WARC-IP-Address"] == target_host
        assert record.headers["Content-Type"] == "application/http; msgtype=response"
        pairs += 1
    assert pairs >= 20


def test_digests_are_sha256_hex_of_what_was_stored(full_crawl: CrawlRun) -> None:
    for record in records(full_crawl):
        assert "sha1" not in str(record.headers).lower()
        block_digest = record.headers.get("WARC-Block-Digest")
        assert block_digest == "sha256:" + hashlib.sha256(record.block).hexdigest()
        if record.type in ("response", "request"):
            _, payload = record.http_split()
            assert record.headers["WARC-Payload-Digest"] == (
                "sha256:" + hashlib.sha256(payload).hexdigest()
            )
        elif record.type == "conversion":
            assert record.headers["WARC-Payload-Digest"] == block_digest
        else:  # warcinfo and metadata records have no payload to digest
            assert "WARC-Payload-Digest" not in record.headers


def test_warcio_reads_back_the_same_digests(full_crawl: CrawlRun) -> None:
    for path in full_crawl.warcs:
        for record in warcio_records(path):
            assert not record["digest_problems"], record["headers"]


def test_gzip_response_is_stored_compressed_and_decodes_to_the_page(
    full_crawl: CrawlRun, site: SiteServer
) -> None:
    article = pages.seed_article()
    (record,) = responses(full_crawl)[site.url(article.path)]
    head, body = record.http_split()
    assert header_values(head, "Content-Encoding") == [b"gzip"]
    assert body[:2] == b"\x1f\x8b"
    assert gunzip(body) == site.httpd.resources[article.path].body
    assert header_values(head, "Content-Length") == [str(len(body)).encode()]


def test_chunked_responses_are_stored_dechunked_without_a_chunked_header(
    full_crawl: CrawlRun, site: SiteServer
) -> None:
    for path, gzipped in (
        ("/news/2023/attacks-on-us-forces-in-syria-and-iraq.html", True),
        ("/region/es/carril-bici.html", False),
    ):
        (record,) = responses(full_crawl)[site.url(path)]
        head, body = record.http_split()
        assert not header_values(head, "Transfer-Encoding")
        assert (gunzip(body) if gzipped else body) == site.httpd.resources[path].body


def test_repeated_set_cookie_headers_are_all_kept(full_crawl: CrawlRun, site: SiteServer) -> None:
    (record,) = responses(full_crawl)[site.url("/")]
    head, _ = record.http_split()
    cookies = header_values(head, "Set-Cookie")
    assert cookies == [value.encode() for name, value in site.httpd.resources["/"].headers]


def test_request_records_keep_query_and_host_but_never_cookies(
    full_crawl: CrawlRun, site: SiteServer
) -> None:
    requests = [r for r in records(full_crawl) if r.type == "request"]
    host = site.base.removeprefix("http://").encode()
    for record in requests:
        head = record.block
        own = urlsplit(record.headers["WARC-Target-URI"]).netloc.encode()
        assert header_values(head, "Host") in ([own], [])
        assert not header_values(head, "Cookie")
        assert not header_values(head, "Authorization")
        (agent,) = header_values(head, "User-Agent")
        assert agent.startswith(b"stablecopy/")
        assert b"+https://" in agent
    query = [r for r in requests if "page=2" in r.headers["WARC-Target-URI"]]
    # The request line as sent, query kept; Host where Twisted wrote it (after Scrapy's headers).
    assert query[0].block.startswith(b"GET /news/?page=2&sort=new HTTP/1.1\r\n")
    assert b"\r\nHost: " + host + b"\r\n" in query[0].block
    # ...while the server did receive the cookies it had set: they were filtered, not absent.
    sent = [headers for _, _, headers in site.requests if "Cookie" in headers]
    assert any("ledger_session=4f1c2a" in headers["Cookie"] for headers in sent)


def test_requests_ask_only_for_encodings_every_replay_tool_decodes(full_crawl: CrawlRun) -> None:
    for record in records(full_crawl):
        if record.type == "request":
            assert header_values(record.block, "Accept-Encoding") == [b"gzip, deflate"]
            assert not header_values(record.block, "Accept-Language")


def test_redirect_hops_each_get_a_response_record(full_crawl: CrawlRun, site: SiteServer) -> None:
    (hop,) = responses(full_crawl)[site.url("/news/2023/old-link-to-iran-story")]
    head, _ = hop.http_split()
    assert head.startswith(b"HTTP/1.1 301 Moved Permanently\r\n")
    assert header_values(head, "Location") == [pages.seed_article().path.encode()]
    assert responses(full_crawl)[site.url(pages.seed_article().path)]


def test_robots_txt_is_archived_and_obeyed(full_crawl: CrawlRun, site: SiteServer) -> None:
    (robots,) = responses(full_crawl)[site.url("/robots.txt")]
    assert b"Disallow: /private/" in robots.block
    assert site.url("/private/staff-only.html") not in responses(full_crawl)
    assert not [path for _, path, _ in site.requests if path.startswith("/private/")]


def test_404_and_pdf_are_archived_but_only_html_is_extracted(
    full_crawl: CrawlRun, site: SiteServer
) -> None:
    with full_crawl.session() as session:
        missing = session.scalars(select(Capture).where(Capture.url == site.url("/archive/2019/")))
        assert [c.status for c in missing] == [404]
        pdf = session.scalars(select(Capture).where(Capture.url.endswith(".pdf"))).one()
        assert pdf.content_type == "application/pdf"
        assert pdf.extraction is None
        (record,) = responses(full_crawl)[pdf.url]
        assert record.http_split()[1] == site.httpd.resources[pdf.url.removeprefix(site.base)].body


def test_latin1_page_is_archived_as_sent_and_extracted_as_text(
    full_crawl: CrawlRun, site: SiteServer
) -> None:
    path = "/region/de/stadtbibliothek.html"
    (record,) = responses(full_crawl)[site.url(path)]
    assert record.http_split()[1] == site.httpd.resources[path].body
    assert "Öffnungszeiten".encode("latin-1") in record.block
    with full_crawl.session() as session:
        capture = session.scalars(select(Capture).where(Capture.url == site.url(path))).one()
        assert capture.extraction is not None
        assert capture.extraction.language == "de"
        assert "Öffnungszeiten" in (capture.extraction.title or "")


def test_catalogue_offsets_lead_to_the_right_records(full_crawl: CrawlRun) -> None:
    with full_crawl.session() as session:
        rows = session.scalars(select(Capture)).all()
    assert len(rows) >= 20
    for row in rows:
        path = full_crawl.layout.resolve(row.warc_file)
        member = path.read_bytes()[row.warc_offset : row.warc_offset + row.warc_length]
        (record,) = raw_records_from_bytes(member)
        assert record.headers["WARC-Record-ID"] == row.record_id
        assert record.headers["WARC-Type"] == "response"
        assert record.headers["WARC-Payload-Digest"] == row.payload_digest
        assert record.headers["WARC-Block-Digest"] == row.block_digest
        assert hashlib.sha256(record.http_split()[1]).hexdigest() == row.payload_sha256
        assert row.payload_digest == f"sha256:{row.payload_sha256}"
        assert (
            row.fetched_at.isoformat(timespec="microseconds").replace("+00:00", "Z")
            == (record.headers["WARC-Date"])
        )


def test_request_and_metadata_records_are_located_too(full_crawl: CrawlRun) -> None:
    by_place = {
        (f"warcs/{path.name}", r.offset, r.length): r
        for path in full_crawl.warcs
        for r in raw_records(path)
    }
    with full_crawl.session() as session:
        captures = session.scalars(select(Capture)).all()
        extractions = session.scalars(select(Extraction)).all()
        for capture in captures:
            request = by_place[(capture.warc_file, capture.request_offset, capture.request_length)]
            assert request.headers["WARC-Record-ID"] == capture.request_record_id
            assert re.fullmatch(r"[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", capture.short_id or "")
        for extraction in extractions:
            place = (
                extraction.metadata_file,
                extraction.metadata_offset,
                extraction.metadata_length,
            )
            assert by_place[place].headers["WARC-Record-ID"] == extraction.metadata_record_id
    assert len({c.short_id for c in captures}) == len(captures)


def test_warcio_reads_each_catalogued_offset_as_its_response(full_crawl: CrawlRun) -> None:
    with full_crawl.session() as session:
        rows = session.scalars(select(Capture)).all()
    for row in rows:
        with full_crawl.layout.resolve(row.warc_file).open("rb") as handle:
            handle.seek(row.warc_offset)
            record = next(iter(ArchiveIterator(handle)))
            assert record.rec_type == "response"
            assert record.rec_headers.get_header("WARC-Record-ID") == row.record_id
            assert hashlib.sha256(record.raw_stream.read()).hexdigest() == row.payload_sha256


def test_a_data_directory_moved_whole_still_resolves(full_crawl: CrawlRun, tmp_path: Path) -> None:
    moved = tmp_path / "moved"
    shutil.copytree(full_crawl.data_dir, moved)
    # A SQLite catalogue moves with the folder; a server catalogue stays where it is.
    db_url = full_crawl.layout.db_url
    where = ["--data-dir", str(moved), *([] if db_url.startswith("sqlite") else ["--db", db_url])]
    listed = run_cli("captures", "--json", *where)
    first_text = next(row for row in json_lines(listed.stdout) if row["text_sha256"])
    shown = run_cli("show", str(first_text["id"]), "--text", *where)
    assert shown.returncode == 0, shown.stderr
    assert (
        hashlib.sha256(shown.stdout.removesuffix("\n").encode()).hexdigest()
        == (first_text["text_sha256"])
    )


def raw_records_from_bytes(member: bytes) -> list[RawRecord]:
    import tempfile
    from pathlib import Path

    with tempfile.NamedTemporaryFile(suffix=".warc.gz") as handle:
        handle.write(member)
        handle.flush()
        return raw_records(Path(handle.name))


def test_cli_json_matches_the_warcs(full_crawl: CrawlRun) -> None:
    listed = full_crawl.captures_json()
    by_id = {r.headers["WARC-Record-ID"]: r for r in records(full_crawl)}
    assert listed
    for row in listed:
        record = by_id[row["record_id"]]
        assert record.headers["WARC-Target-URI"] == row["url"]
        assert record.headers["WARC-Date"] == row["fetched_at"]
        assert record.headers["WARC-Payload-Digest"] == row["payload_digest"]
        assert record.offset == row["warc_offset"]
        assert record.length == row["warc_length"]
        assert row["warc_file"].startswith("warcs/")
        for key in ("id", "crawl_id", "status", "content_type", "payload_sha256", "title"):
            assert key in row
        if row["text_sha256"]:
            assert row["extraction_status"] == "ok"


def test_article_text_keeps_every_paragraph_and_drops_the_boilerplate(
    full_crawl: CrawlRun, site: SiteServer
) -> None:
    by_id = {r.headers["WARC-Record-ID"]: r for r in records(full_crawl)}
    for article in pages.articles():
        with full_crawl.session() as session:
            capture = session.scalars(select(Capture).where(Capture.url == site.url(article.path)))
            extraction = capture.one().extraction
            assert extraction is not None
            assert extraction.status == "ok"
            conversion = by_id[extraction.conversion_record_id or ""]
            assert conversion.headers["WARC-Refers-To"] == capture_record_id(full_crawl, article)
            assert conversion.headers["Content-Type"] == "text/plain; charset=utf-8"
            assert hashlib.sha256(conversion.block).hexdigest() == extraction.text_sha256
        text = " ".join(conversion.block.decode("utf-8").split())
        for paragraph in article.paragraphs:
            assert " ".join(paragraph.split()) in text
        for chrome in pages.SEED_BOILERPLATE + pages.CHROME_STRINGS:
            assert chrome not in text
        banner_name, _ = pages.PLACEMENT[article.slug]
        banner_words = " ".join(re.sub(r"<[^>]+>", " ", pages.banner(banner_name)).split()).split()
        for start in range(len(banner_words) - 5):
            assert " ".join(banner_words[start : start + 6]) not in text


def capture_record_id(run: CrawlRun, article: pages.Article) -> str:
    with run.session() as session:
        return session.scalars(
            select(Capture.record_id).where(Capture.url.endswith(article.path))
        ).one()


def test_metadata_record_says_how_the_text_was_made(full_crawl: CrawlRun) -> None:
    found = [r for r in records(full_crawl) if r.type == "metadata"]
    assert found
    responses_by_id = {
        r.headers["WARC-Record-ID"] for r in records(full_crawl) if r.type == "response"
    }
    for record in found:
        assert record.headers["WARC-Refers-To"] in responses_by_id
        assert record.headers["Content-Type"] == "application/warc-fields"
        fields = record.block.decode("utf-8")
        assert "extractor: trafilatura\r\n" in fields
        assert "extractor-version: " in fields
        assert "extraction-status: " in fields


def test_extraction_rows_record_the_outcome(full_crawl: CrawlRun) -> None:
    with full_crawl.session() as session:
        rows = session.scalars(select(Extraction)).all()
    assert {row.status for row in rows} <= {"ok", "empty", "not-html", "error"}
    ok = [row for row in rows if row.status == "ok"]
    assert len(ok) >= 5
    for row in ok:
        assert row.text_sha256
        assert row.conversion_file
        assert row.extractor == "trafilatura"


def test_pages_without_text_get_a_recorded_status(full_crawl: CrawlRun, site: SiteServer) -> None:
    metadata = {
        r.headers["WARC-Refers-To"]: r.block.decode("utf-8")
        for r in records(full_crawl)
        if r.type == "metadata"
    }
    with full_crawl.session() as session:
        for path, status in (("/test/no-text", "empty"), ("/test/binary-as-html", "not-html")):
            row = session.scalars(select(Capture).where(Capture.url == site.url(path))).one()
            assert row.extraction is not None
            assert row.extraction.status == status
            assert row.extraction.conversion_record_id is None
            assert row.extraction.text_sha256 is None
            assert f"extraction-status: {status}\r\n" in metadata[row.record_id]


def test_failed_fetches_are_recorded_without_fake_records(
    full_crawl: CrawlRun, site: SiteServer
) -> None:
    with full_crawl.session() as session:
        failures = session.scalars(select(FetchFailure)).all()
    by_url = defaultdict(set)
    for failure in failures:
        by_url[failure.url].add(failure.error_type)
        assert failure.message
    assert any("ConnectionRefused" in e for e in by_url[full_crawl.unreachable])
    assert any("Timeout" in e for e in by_url[site.url("/test/stall?seconds=4")])
    assert by_url[site.url("/test/reset-before-response")]
    archived = responses(full_crawl)
    for url in (full_crawl.unreachable, site.url("/test/stall?seconds=4")):
        assert url not in archived


def test_5xx_is_archived_and_retried(full_crawl: CrawlRun, site: SiteServer) -> None:
    hops = responses(full_crawl)[site.url("/test/flaky")]
    statuses = sorted(int(r.block.split(b" ", 2)[1]) for r in hops)
    assert statuses == [200, 503]


def test_oversized_body_is_archived_truncated(full_crawl: CrawlRun, site: SiteServer) -> None:
    (record,) = responses(full_crawl)[site.url("/test/huge")]
    assert record.headers["WARC-Truncated"] == "length"
    _, body = record.http_split()
    assert body == huge_body()[:RESPONSE_LIMIT]
    with full_crawl.session() as session:
        row = session.scalars(select(Capture).where(Capture.url == site.url("/test/huge"))).one()
        assert row.truncated == "length"
        assert row.payload_length == RESPONSE_LIMIT


def test_truncated_pages_get_no_clean_text(full_crawl: CrawlRun, site: SiteServer) -> None:
    with full_crawl.session() as session:
        for path in ("/test/huge", "/test/reset-mid-body"):
            row = session.scalars(select(Capture).where(Capture.url == site.url(path))).one()
            assert row.truncated
            assert row.extraction is None


def test_body_cut_by_a_reset_is_archived_as_disconnect(
    full_crawl: CrawlRun, site: SiteServer
) -> None:
    (record,) = responses(full_crawl)[site.url("/test/reset-mid-body")]
    assert record.headers["WARC-Truncated"] == "disconnect"
    assert record.http_split()[1].startswith(b"<html><body><p>cut short")


def test_crawl_row_and_closed_files_are_catalogued(full_crawl: CrawlRun) -> None:
    with full_crawl.session() as session:
        crawl = session.get(Crawl, 1)
        assert crawl is not None
        assert crawl.status == "finished"
        assert crawl.finished_at is not None
        assert crawl.finished_at > crawl.started_at
        assert crawl.captures == session.query(Capture).count()
        assert crawl.software["warcio"]
        assert crawl.settings["ROBOTSTXT_OBEY"] is True
        assert crawl.seeds
        assert all(seed.startswith("http") for seed in crawl.seeds)
        files = session.scalars(select(WarcFile)).all()
    assert sorted(f.path for f in files) == [f"warcs/{p.name}" for p in full_crawl.warcs]
    for file in files:
        data = full_crawl.layout.resolve(file.path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == file.sha256
        assert len(data) == file.size


def test_show_text_reads_the_clean_text_back_from_its_warc_record(
    full_crawl: CrawlRun, site: SiteServer
) -> None:
    from tests.helpers import run_cli

    article = pages.seed_article()
    with full_crawl.session() as session:
        capture_id = session.scalars(
            select(Capture.id).where(Capture.url == site.url(article.path))
        ).one()
    shown = run_cli("show", str(capture_id), "--text", "--data-dir", str(full_crawl.data_dir))
    assert shown.returncode == 0, shown.stderr
    assert article.paragraphs[0] in shown.stdout
    provenance = run_cli("show", str(capture_id), "--data-dir", str(full_crawl.data_dir))
    assert "payload_sha256" in provenance.stdout
    assert "warc_offset" in provenance.stdout

"""`stablecopy verify`: every kind of damage found, named (capture, file, offset, what), and recorded.

Each test tampers with its own copy of a real crawl's data directory, the way bit rot or a careless
(or malicious) hand would, and checks the finding verify makes of it.
"""

from __future__ import annotations

import gzip
import io
import itertools
import os
import struct
import uuid
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select, update
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from stablecopy.archive import fixity
from stablecopy.archive.reader import read_record
from stablecopy.catalog.models import Capture, Extraction, FixityEvent
from stablecopy.catalog.session import open_catalog
from stablecopy.layout import DataLayout
from stablecopy.samplesite.server import SiteServer
from tests.conftest import CrawlRun
from tests.helpers import FAST, json_lines, peak_rss_kb, run_cli
from tests.pgcatalogue import copy_data_dir

pytestmark = pytest.mark.catalogue

ARTICLE = "/news/2023/iran-backed-and-us-backed-forces-fighting-in-eastern-syria.html"


def crawl_once(site: SiteServer, folder: Path, *extra: str) -> Path:
    data = folder / "data"
    result = run_cli("crawl", site.url(ARTICLE), "--data-dir", str(data), *FAST, *extra)
    assert result.returncode == 0, result.stderr
    return data


@pytest.fixture(scope="module")
def page_only(site: SiteServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """robots.txt and one article, no clean text, no requisites: the article's response is the
    file's last member."""
    return crawl_once(
        site,
        tmp_path_factory.mktemp("page"),
        "--no-requisites",
        "-s",
        "STABLECOPY_EXTRACT_ENABLED=False",
    )


@pytest.fixture(scope="module")
def with_text(site: SiteServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return crawl_once(site, tmp_path_factory.mktemp("text"))


def copy_of(data: Path, tmp_path: Path) -> tuple[Path, DataLayout]:
    target = tmp_path / "copy"
    copy_data_dir(data, target)
    return target, DataLayout.create(target)


def article(layout: DataLayout) -> Capture:
    engine = open_catalog(layout.db_url)
    with engine.connect() as connection:
        row = connection.execute(select(Capture).where(Capture.url.endswith(ARTICLE))).one()
    engine.dispose()
    return row  # type: ignore[return-value]


def verify(data: Path, *args: str) -> tuple[int, list[dict[str, object]], dict[str, object]]:
    result = run_cli("verify", "--json", "--data-dir", str(data), *args)
    lines = json_lines(result.stdout)
    assert "Traceback" not in result.stderr
    return result.returncode, [line for line in lines if "finding" in line], lines[-1]["summary"]  # type: ignore[return-value]


def member(path: Path, offset: int) -> tuple[bytes, int]:
    """The decompressed content of the gzip member at `offset`, and the member's length."""
    data = path.read_bytes()
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    content = inflater.decompress(data[offset:])
    return content, len(data) - offset - len(inflater.unused_data)


def rewrite_member(path: Path, offset: int, change: Callable[[bytes], bytes]) -> None:
    """Decompress one member, change its content, gzip it again and put it back in place."""
    content, length = member(path, offset)
    compressor = zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    rebuilt = compressor.compress(change(content)) + compressor.flush()
    data = path.read_bytes()
    path.write_bytes(data[:offset] + rebuilt + data[offset + length :])


def flip(content: bytes, marker: bytes, shift: int = 0) -> bytes:
    """Flip one bit of the byte at `marker` (+shift) in `content`."""
    at = content.index(marker) + shift
    return content[:at] + bytes([content[at] ^ 0x01]) + content[at + 1 :]


def one(findings: list[dict[str, object]]) -> dict[str, object]:
    assert len(findings) == 1, findings
    return findings[0]


def test_an_untouched_archive_is_all_intact_and_the_checks_are_remembered(
    page_only: Path, tmp_path: Path
) -> None:
    data, layout = copy_of(page_only, tmp_path)
    status, findings, summary = verify(data)
    assert (status, findings) == (0, [])
    assert summary["intact"] is True
    assert summary["captures"] == 2  # robots.txt and the article
    assert summary["records"] == 4  # each with its request
    verify(data)
    shown = run_cli("show", str(article(layout).id), "--data-dir", str(data))
    assert "verified 2 times, last " in shown.stdout
    assert "all intact" in shown.stdout


def test_a_flipped_payload_byte_is_an_altered_payload(page_only: Path, tmp_path: Path) -> None:
    data, layout = copy_of(page_only, tmp_path)
    capture = article(layout)
    path = layout.resolve(capture.warc_file)
    rewrite_member(path, capture.warc_offset, lambda c: flip(c, b"\r\n\r\n\x1f\x8b", 40))
    status, findings, _ = verify(data)
    found = one(findings)
    assert status == 1
    assert found["finding"] == "altered-payload"
    assert found["capture_id"] == capture.id
    assert found["warc_file"] == capture.warc_file
    assert found["offset"] == capture.warc_offset
    assert found["record_id"] == capture.record_id
    assert found["expected"] == capture.payload_sha256
    assert found["observed"] != capture.payload_sha256
    history = run_cli("show", capture.short_id or "", "--data-dir", str(data)).stdout
    assert "1 failed check(s)" in history
    assert "altered-payload" in history


def test_a_flipped_http_header_byte_is_altered_http_headers(
    page_only: Path, tmp_path: Path
) -> None:
    data, layout = copy_of(page_only, tmp_path)
    capture = article(layout)
    path = layout.resolve(capture.warc_file)
    rewrite_member(path, capture.warc_offset, lambda c: flip(c, b"Content-Type: text/html", 20))
    found = one(verify(data)[1])
    assert found["finding"] == "altered-http-headers"
    assert found["capture_id"] == capture.id


def test_a_changed_warc_header_is_altered_warc_headers(page_only: Path, tmp_path: Path) -> None:
    data, layout = copy_of(page_only, tmp_path)
    capture = article(layout)
    path = layout.resolve(capture.warc_file)
    rewrite_member(path, capture.warc_offset, lambda c: flip(c, b"WARC-Date: ", 12))
    found = one(verify(data)[1])
    assert found["finding"] == "altered-warc-headers"
    assert "WARC-Date" in str(found["detail"])
    assert found["capture_id"] == capture.id


def test_a_flipped_byte_in_the_gzip_member_is_a_damaged_record(
    page_only: Path, tmp_path: Path
) -> None:
    data, layout = copy_of(page_only, tmp_path)
    capture = article(layout)
    path = layout.resolve(capture.warc_file)
    raw = bytearray(path.read_bytes())
    raw[capture.warc_offset + capture.warc_length // 2] ^= 0x20
    path.write_bytes(bytes(raw))
    found = one(verify(data)[1])
    assert found["finding"] == "damaged-record"
    assert found["capture_id"] == capture.id
    assert found["offset"] == capture.warc_offset


def test_a_truncated_file_is_a_truncated_record(page_only: Path, tmp_path: Path) -> None:
    data, layout = copy_of(page_only, tmp_path)
    capture = article(layout)
    path = layout.resolve(capture.warc_file)
    path.write_bytes(path.read_bytes()[: capture.warc_offset + 100])
    found = one(verify(data)[1])
    assert found["finding"] == "truncated-record"
    assert found["capture_id"] == capture.id


def test_a_deleted_file_is_a_missing_file_for_each_capture(page_only: Path, tmp_path: Path) -> None:
    data, layout = copy_of(page_only, tmp_path)
    capture = article(layout)
    layout.resolve(capture.warc_file).unlink()
    status, findings, _ = verify(data)
    assert status == 1
    assert {f["finding"] for f in findings} == {"missing-file"}
    assert len(findings) == 4  # two captures, each with its request
    assert capture.id in {f["capture_id"] for f in findings}


def test_an_appended_foreign_record_is_an_orphan(page_only: Path, tmp_path: Path) -> None:
    data, layout = copy_of(page_only, tmp_path)
    path = layout.resolve(article(layout).warc_file)
    offset = path.stat().st_size
    foreign = io.BytesIO()
    writer = WARCWriter(foreign, gzip=True)
    http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
    body = b"<p>planted</p>"
    record = writer.create_warc_record(
        "https://elsewhere.example/", "response", payload=io.BytesIO(body), length=len(body),
        http_headers=http,
    )  # fmt: skip
    writer.write_record(record)
    with path.open("ab") as handle:
        handle.write(foreign.getvalue())
    found = one(verify(data)[1])
    assert found["finding"] == "orphan"
    assert found["offset"] == offset
    assert found["record_id"] == record.rec_headers.get_header("WARC-Record-ID")
    assert found["capture_id"] is None
    assert "https://elsewhere.example/" in str(found["detail"])


def text_records(layout: DataLayout) -> tuple[Capture, Extraction]:
    capture = article(layout)
    engine = open_catalog(layout.db_url)
    with engine.connect() as connection:
        extraction = connection.execute(
            select(Extraction).where(Extraction.capture_id == capture.id)
        ).one()
    engine.dispose()
    return capture, extraction  # type: ignore[return-value]


def test_changed_clean_text_is_altered_text(with_text: Path, tmp_path: Path) -> None:
    data, layout = copy_of(with_text, tmp_path)
    capture, extraction = text_records(layout)
    path = layout.resolve(extraction.conversion_file)
    same_length = lambda c: c.replace(b"Pentagon", b"Pentagom")
    rewrite_member(path, extraction.conversion_offset, same_length)
    findings = verify(data)[1]
    (text,) = [f for f in findings if f["finding"] == "altered-text"]
    assert text["capture_id"] == capture.id
    assert text["record_id"] == extraction.conversion_record_id
    # If gzip made the member longer or shorter, the metadata record after it moved too.
    assert {f["finding"] for f in findings} <= {"altered-text", "moved-record"}


def test_records_found_at_another_offset_are_moved_not_orphans(
    with_text: Path, tmp_path: Path
) -> None:
    data, layout = copy_of(with_text, tmp_path)
    _, extraction = text_records(layout)
    path = layout.resolve(extraction.conversion_file)
    content, length = member(path, extraction.conversion_offset)
    deflate = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = deflate.compress(content) + deflate.flush()
    extra = b"SC" + struct.pack("<H", 12) + b"x" * 12  # a gzip FEXTRA field: 16 more bytes
    padded = (
        b"\x1f\x8b\x08\x04" + b"\x00" * 4 + b"\x00\xff" + struct.pack("<H", len(extra)) + extra
        + body + struct.pack("<II", zlib.crc32(content), len(content))
    )  # fmt: skip
    raw = path.read_bytes()
    offset = extraction.conversion_offset
    path.write_bytes(raw[:offset] + padded + raw[offset + length :])
    kinds = {f["finding"]: f for f in verify(data)[1]}
    assert set(kinds) == {"altered-record", "moved-record"}
    assert kinds["altered-record"]["record_id"] == extraction.conversion_record_id
    assert "gzip member is" in str(kinds["altered-record"]["detail"])
    moved = kinds["moved-record"]
    assert moved["record_id"] == extraction.metadata_record_id
    assert f"the catalogue says {extraction.metadata_offset}" in str(moved["detail"])


def test_filtered_runs_check_only_what_was_asked(page_only: Path, tmp_path: Path) -> None:
    data, layout = copy_of(page_only, tmp_path)
    capture = article(layout)
    path = layout.resolve(capture.warc_file)
    rewrite_member(path, capture.warc_offset, lambda c: flip(c, b"\r\n\r\n\x1f\x8b", 40))
    status, findings, summary = verify(data, "--url", capture.url)
    assert status == 1
    assert one(findings)["finding"] == "altered-payload"
    assert summary["captures"] == 1
    robots = capture.url.split("/news/")[0] + "/robots.txt"
    assert verify(data, "--url", robots)[0] == 0
    assert verify(data, "--crawl", "1", "--since", "2000-01-01")[0] == 1
    nothing, _, summary = verify(data, "--since", "2999-01-01")
    assert (nothing, summary["captures"]) == (1, 0)  # nothing matched: not a success


def test_nothing_selected_is_an_error_never_an_empty_success(
    page_only: Path, tmp_path: Path
) -> None:
    """`--crawl 999` names no crawl; a selection that matches nothing verified nothing: neither
    may look like "all intact" or an empty table."""
    data = str(page_only)
    for command in (
        ("captures",),
        ("verify",),
        ("export", "--jsonl", str(tmp_path / "out.jsonl")),
    ):
        done = run_cli(*command, "--crawl", "999", "--data-dir", data)
        assert done.returncode == 1, command
        assert done.stderr.strip() == "Error: there is no crawl 999 in this catalogue", command
    assert not (tmp_path / "out.jsonl").exists()
    nothing = run_cli("verify", "--since", "2999-01-01", "--data-dir", data)
    assert nothing.returncode == 1
    assert "Error: no capture matches: nothing was verified" in nothing.stderr
    assert "all intact" not in nothing.stderr


def test_whole_files_are_checked_against_the_checksum_taken_at_close(
    page_only: Path, tmp_path: Path
) -> None:
    data, layout = copy_of(page_only, tmp_path)
    assert verify(data, "--files")[0] == 0
    path = layout.resolve(article(layout).warc_file)
    raw = bytearray(path.read_bytes())
    raw[-5] ^= 0x01
    path.write_bytes(bytes(raw))
    (layout.warc_dir / "stray-20260101000000000000-00000-1-x.warc.gz").write_bytes(b"")
    status, findings, summary = verify(data, "--files")
    assert status == 1
    assert summary["kind"] == "files"
    assert sorted(f["finding"] for f in findings) == ["file-checksum-mismatch", "uncatalogued-file"]
    path.unlink()
    assert {f["finding"] for f in verify(data, "--files")[1]} == {
        "missing-file",
        "uncatalogued-file",
    }


def test_every_check_is_a_premis_style_event(page_only: Path, tmp_path: Path) -> None:
    data, layout = copy_of(page_only, tmp_path)
    verify(data)
    engine = open_catalog(layout.db_url)
    with engine.connect() as connection:
        events = connection.execute(select(FixityEvent)).all()
    engine.dispose()
    assert len(events) == 2
    for event in events:
        assert event.algorithm == "SHA-256"
        assert event.outcome == "pass"
        assert event.expected == event.observed
        assert event.checked_at is not None
        assert event.object_kind == "capture"


def test_human_output_names_what_differs_in_one_line_each(page_only: Path, tmp_path: Path) -> None:
    data, layout = copy_of(page_only, tmp_path)
    capture = article(layout)
    layout.resolve(capture.warc_file).unlink()
    result = run_cli("verify", "--data-dir", str(data))
    assert result.returncode == 1
    assert f"missing-file: capture {capture.id} {capture.warc_file}@{capture.warc_offset}" in (
        result.stderr
    )
    assert "4 finding(s)" in result.stderr


def test_memory_stays_flat_however_big_the_records(
    site: SiteServer, page_only: Path, tmp_path: Path
) -> None:
    big = tmp_path / "big"
    result = run_cli(
        "crawl", site.url("/test/noise?size=24000000"), "--data-dir", str(big), *FAST,
        "-s", "STABLECOPY_EXTRACT_ENABLED=False",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert sum(p.stat().st_size for p in DataLayout.create(big).warc_dir.iterdir()) > 24_000_000
    small_peak = peak_rss_kb("verify", "--data-dir", str(page_only))
    big_peak = peak_rss_kb("verify", "--data-dir", str(big))
    # Streaming: a 24 MB record costs a few 1 MB buffers, not its size (twice over) in memory.
    assert big_peak - small_peak < 8_000, (small_peak, big_peak)


def test_a_file_still_being_written_is_read_as_it_stands(page_only: Path, tmp_path: Path) -> None:
    data, layout = copy_of(page_only, tmp_path)
    path = layout.resolve(article(layout).warc_file)
    path.rename(path.with_name(path.name + ".open"))
    read = read_record(path, article(layout).warc_offset)  # by its catalogued (final) name
    assert read.headers["WARC-Record-ID"] == article(layout).record_id
    status, findings, summary = verify(data)
    assert (status, findings) == (0, [])
    assert summary["captures"] == 2
    human = run_cli("verify", "--data-dir", str(data))
    assert f"Note: {article(layout).warc_file} is still open" in human.stderr


def _damaged_copies(path: Path, tmp_path: Path, middle: int) -> list[Path]:
    data = path.read_bytes()
    flipped = bytearray(data)
    flipped[middle + 40] ^= 0xFF  # inside a record's compressed bytes, past its gzip header
    cut = tmp_path / "truncated.warc.gz"
    cut.write_bytes(data[: middle + 100])
    damaged = tmp_path / "damaged.warc.gz"
    damaged.write_bytes(bytes(flipped))
    return [path, damaged, cut]


def test_a_file_read_in_parallel_gives_what_one_reader_gives(
    full_crawl: CrawlRun, tmp_path: Path
) -> None:
    path = max(full_crawl.warcs, key=lambda p: p.stat().st_size)
    starts = [r.offset for r in fixity.scan(path) if isinstance(r, fixity.RecordFacts)]
    assert len(starts) > 20
    middle = starts[len(starts) // 2]
    with fixity.Readers(workers=2, min_piece=1) as readers:
        for copy in _damaged_copies(path, tmp_path, middle):
            size = copy.stat().st_size
            assert fixity._cuts(copy, size, 8)  # the file is really read in stretches
            serial = list(fixity.scan(copy))
            assert list(readers.scan(copy)) == serial
    assert any(isinstance(r, fixity.Damage) for r in fixity.scan(tmp_path / "damaged.warc.gz"))


def test_a_warc_file_archived_inside_a_record_does_not_split_the_reading(tmp_path: Path) -> None:
    """A gzipped WARC kept uncompressed inside a record (a stored deflate block) holds what looks
    like the start of a record; a stretch cut there cannot join up, and the file is read in one go."""
    inner = gzip.compress(b"WARC/1.1\r\nWARC-Type: resource\r\nContent-Length: 0\r\n\r\n\r\n\r\n")
    records = []
    for number in range(6):
        # Incompressible around it, so deflate stores the inner file's bytes as they are.
        payload = os.urandom(30_000) + inner + os.urandom(30_000)
        head = (
            f"WARC/1.1\r\nWARC-Type: resource\r\nWARC-Record-ID: <urn:uuid:{uuid.uuid4()}>\r\n"
            f"WARC-Target-URI: http://archive.test/{number}.warc.gz\r\n"
            f"Content-Type: application/warc\r\nContent-Length: {len(payload)}\r\n\r\n"
        ).encode()
        records.append(gzip.compress(head + payload + b"\r\n\r\n"))
    path = tmp_path / "nested.warc.gz"
    path.write_bytes(b"".join(records))
    starts = set(itertools.accumulate(len(r) for r in records[:-1]))
    size = path.stat().st_size
    assert set(fixity._cuts(path, size, 8)) - starts  # some cut falls inside a record
    serial = list(fixity.scan(path))
    assert [r.offset for r in serial] == [0, *sorted(starts)]
    assert all(isinstance(r, fixity.RecordFacts) for r in serial)
    with fixity.Readers(workers=2, min_piece=1) as readers:
        assert list(readers.scan(path)) == serial


@pytest.mark.parametrize(
    ("stored", "kind"),
    [("warcs", "unreadable-file"), ("warcs/" + "x" * 5000, "unreadable-file"), ("", "unsafe-path")],
)
def test_a_row_edited_to_name_no_file_is_a_finding_never_a_crash(
    page_only: Path, tmp_path: Path, stored: str, kind: str
) -> None:
    """A folder, a name too long for the system, an empty name: each row is a finding."""
    data, layout = copy_of(page_only, tmp_path)
    capture = article(layout)
    engine = open_catalog(layout.db_url)
    with engine.begin() as connection:
        connection.execute(update(Capture).where(Capture.id == capture.id).values(warc_file=stored))
    engine.dispose()
    for args in ((), ("--url", capture.url)):
        status, findings, _ = verify(data, *args)
        assert status == 1, args
        pairs = {(f["finding"], f["capture_id"]) for f in findings}
        assert (kind, capture.id) in pairs, args
        # Beside it, only the record the row no longer points at, found in its real file.
        assert pairs <= {(kind, capture.id), ("orphan", None)}, args

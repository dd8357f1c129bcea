"""WARC files on disk: names, the `.open` suffix, warcinfo heads, rollover, offsets, failed writes."""

from __future__ import annotations

import hashlib
import random
import re
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest
from warcio.cli import main as warcio_main

from stablecopy.archive import deflate, records
from stablecopy.archive.deflate import DEFAULT_CODEC, GzipCodec
from stablecopy.archive.writer import ClosedFile, WarcWriter, warc_filename
from tests.helpers import raw_records

BEGAN = datetime(2026, 11, 21, 8, 5, 5, 41260, tzinfo=UTC)


def writer(
    directory: Path,
    closed: list[ClosedFile],
    max_size: int = 10**9,
    gzip: GzipCodec = DEFAULT_CODEC,
) -> WarcWriter:
    return WarcWriter(
        directory,
        prefix="Test Crawl",
        max_size=max_size,
        gzip=gzip,
        warcinfo_fields=lambda name: [("software", "tests"), ("note", name)],
        on_close=closed.append,
        clock=lambda: BEGAN,
        host="Crawler_01.Example",
        pid=4242,
    )


def pair(w: WarcWriter, body: bytes, url: str = "http://x.test/") -> list[records.BuiltRecord]:
    info = w.reserve(len(body))
    exchange = records.Exchange(
        url=url,
        method="GET",
        request_headers=[],
        request_body=b"",
        protocol="HTTP/1.1",
        status=200,
        response_headers=[(b"Content-Type", b"text/plain")],
        body=body,
        began_at=BEGAN,
    )
    response_id, request_id = records.new_record_id(), records.new_record_id()
    return [
        records.request_record(exchange, request_id, response_id, info),
        records.response_record(exchange, response_id, request_id, info),
    ]


def test_file_names_are_lowercase_and_safe() -> None:
    name = warc_filename("My Crawl!", BEGAN, 7, 99, "Host.Example/ÖÄ")
    assert name == "my-crawl-20261121080505041260-00007-99-host.example.warc.gz"
    assert re.fullmatch(r"[a-z0-9._-]+", name)


def test_file_is_open_while_written_and_renamed_when_closed(tmp_path: Path) -> None:
    closed: list[ClosedFile] = []
    w = writer(tmp_path, closed)
    w.write(pair(w, b"hello"))
    (open_file,) = tmp_path.iterdir()
    assert open_file.name.endswith(".warc.gz.open")
    w.close()
    (final,) = tmp_path.iterdir()
    assert final.name == "test-crawl-20261121080505041260-00000-4242-crawler_01.example.warc.gz"
    assert closed[0].path == final
    assert closed[0].sha256 == hashlib.sha256(final.read_bytes()).hexdigest()
    assert closed[0].size == final.stat().st_size
    assert closed[0].records == 3


def test_each_file_starts_with_warcinfo_that_the_records_point_to(tmp_path: Path) -> None:
    w = writer(tmp_path, [])
    placed = w.write(pair(w, b"one"))
    w.close()
    (path,) = tmp_path.iterdir()
    found = raw_records(path)
    assert [r.type for r in found] == ["warcinfo", "request", "response"]
    assert b"note: " + path.name.encode() in found[0].block
    for record in found[1:]:
        assert record.headers["WARC-Warcinfo-ID"] == found[0].headers["WARC-Record-ID"]
    assert [(p.offset, p.length) for p in placed] == [(r.offset, r.length) for r in found[1:]]


def test_rollover_starts_a_new_file_before_the_limit_and_keeps_pairs_together(
    tmp_path: Path,
) -> None:
    closed: list[ClosedFile] = []
    w = writer(tmp_path, closed, max_size=20_000)
    body = random.Random(7).randbytes(7_680)  # does not compress
    for number in range(6):
        w.write(pair(w, body, url=f"http://x.test/{number}"))
    w.close()
    paths = sorted(tmp_path.iterdir())
    assert len(paths) >= 3
    assert [c.path for c in closed] == paths
    for path in paths:
        found = raw_records(path)
        assert found[0].type == "warcinfo"
        assert [r.type for r in found[1:]] == ["request", "response"] * ((len(found) - 1) // 2)
        assert path.stat().st_size <= 20_000 + 1024
        with pytest.raises(SystemExit) as exited:
            warcio_main(["check", str(path)])
        assert exited.value.code == 0
    serials = [int(re.findall(r"-(\d{5})-4242-", p.name)[0]) for p in paths]
    assert serials == list(range(len(paths)))


def test_a_record_bigger_than_the_limit_still_gets_a_file(tmp_path: Path) -> None:
    w = writer(tmp_path, [], max_size=1_000)
    w.write(pair(w, b"x" * 5_000))
    w.write(pair(w, b"y" * 5_000))
    w.close()
    assert len(list(tmp_path.iterdir())) == 2


def test_a_failed_write_cuts_the_file_back_to_its_last_whole_record(tmp_path: Path) -> None:
    """A real write failure (EFBIG from RLIMIT_FSIZE), in a child process so pytest keeps writing."""
    script = textwrap.dedent(
        f"""
        import os, resource, signal, sys
        sys.path.insert(0, {str(Path(__file__).parent.parent)!r})
        from pathlib import Path
        from tests.test_archive_writer import writer, pair
        from stablecopy.archive.writer import WarcWriteError
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (60_000, 60_000))
        w = writer(Path({str(tmp_path)!r}), [])
        written = 0
        try:
            for n in range(100):
                w.write(pair(w, os.urandom(20_000), url=f"http://x.test/{{n}}"))
                written += 1
        except WarcWriteError as exc:
            print("failed after", written, exc.errno)
        w.close()
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "failed after 2 27" in result.stdout  # errno 27: EFBIG, file too large
    (path,) = tmp_path.iterdir()
    found = raw_records(path)
    assert [r.type for r in found] == ["warcinfo"] + ["request", "response"] * 2
    with pytest.raises(SystemExit) as exited:
        warcio_main(["check", str(path)])
    assert exited.value.code == 0


CODECS = [GzipCodec("isal", 3), GzipCodec("isal", 0), GzipCodec("zlib", 6), GzipCodec("zlib", 1)]


@pytest.mark.parametrize("codec", CODECS, ids=lambda c: f"{c.engine}-{c.level}")
@pytest.mark.parametrize("reader", ["isal", "zlib"])
def test_the_fixity_scan_finds_every_record_where_the_writer_put_it(
    tmp_path: Path, codec: GzipCodec, reader: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large, highly compressible record followed by others: the member boundary falls where
    zlib reports its leftover input twice (a bug verify once had); every offset must still match,
    whichever library wrote the members and whichever reads them; warcio reads them all."""
    from stablecopy.archive.fixity import RecordFacts, scan

    if reader == "zlib":  # as on a machine without python-isal
        monkeypatch.setattr(deflate, "isal_zlib", None)
    closed: list[ClosedFile] = []
    w = writer(tmp_path, closed, gzip=codec)
    placed = []
    bodies = (b"small page", bytes(range(256)) * 4096 * 64, b"after the big one", b"last")
    for body in bodies:
        placed += w.write(pair(w, body))
    w.close()
    found = [item for item in scan(closed[0].path) if isinstance(item, RecordFacts)]
    assert [(r.offset, r.length) for r in found[1:]] == [(p.offset, p.length) for p in placed]
    assert [r.payload_sha256 for r in found if r.record_type == "response"] == [
        hashlib.sha256(body).hexdigest() for body in bodies
    ]
    with pytest.raises(SystemExit) as exited:
        warcio_main(["check", str(closed[0].path)])
    assert exited.value.code == 0


def test_ask_for_a_codec_that_does_not_exist_and_be_told_what_does() -> None:
    with pytest.raises(ValueError, match="must be isal or zlib, not 'brotli'"):
        GzipCodec.chosen("brotli", 3)
    with pytest.raises(ValueError, match="must be 0 to 3 for isal, not 6"):
        GzipCodec.chosen("isal", 6)
    assert GzipCodec.chosen(" ZLIB ", 9) == GzipCodec("zlib", 9)


def test_isal_asked_for_where_it_is_missing_falls_back_to_zlib(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(deflate, "isal_zlib", None)
    assert GzipCodec.chosen("isal", 3) == GzipCodec("zlib", 6)
    assert "python-isal is not installed" in caplog.text

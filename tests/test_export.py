"""`stablecopy export`: WACZ packages a real validator accepts, CDXJ equal to cdxj-indexer's, JSON lines."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cdxj_indexer.main import write_cdx_index
from sqlalchemy import select
from sqlalchemy.orm import Session
from warcio.cli import main as warcio_main

from stablecopy.catalog.models import Capture
from stablecopy.catalog.session import open_catalog
from stablecopy.export.cdxj import write_cdxj
from stablecopy.layout import DataLayout
from stablecopy.samplesite.server import SiteServer
from tests.conftest import CrawlRun
from tests.helpers import FAST, json_lines, peak_rss_kb, raw_records, run_cli

pytestmark = pytest.mark.catalogue


def wacz_validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wacz", "validate", "-f", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


def export(run: CrawlRun, target: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("export", "--wacz", str(target), "--data-dir", str(run.data_dir), *args)


@pytest.fixture(scope="module")
def whole(full_crawl: CrawlRun, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("wacz") / "crawl.wacz"
    result = export(full_crawl, target, "--crawl", "1", "--title", "Loopback Ledger, crawl 1")
    assert result.returncode == 0, result.stderr
    return target


def test_the_wacz_passes_the_wacz_validator(whole: Path) -> None:
    checked = wacz_validate(whole)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Validation succeeded" in checked.stdout


def test_members_are_stored_listed_and_hashed(whole: Path) -> None:
    with zipfile.ZipFile(whole) as package:
        names = package.namelist()
        described = json.loads(package.read("datapackage.json"))
        digest = json.loads(package.read("datapackage-digest.json"))
        assert digest == {
            "path": "datapackage.json",
            "hash": "sha256:" + hashlib.sha256(package.read("datapackage.json")).hexdigest(),
        }
        assert described["profile"] == "data-package"
        assert described["wacz_version"] == "1.1.1"
        assert described["title"] == "Loopback Ledger, crawl 1"
        assert described["created"].endswith("Z")
        listed = {r["path"]: r for r in described["resources"]}
        assert set(listed) == set(names) - {"datapackage.json", "datapackage-digest.json"}
        for name in listed:
            data = package.read(name)
            assert listed[name]["hash"] == "sha256:" + hashlib.sha256(data).hexdigest()
            assert listed[name]["bytes"] == len(data)
            if name.startswith("archive/"):
                assert package.getinfo(name).compress_type == zipfile.ZIP_STORED
    assert "indexes/index.cdxj" in names
    assert "pages/pages.jsonl" in names


def test_whole_warc_files_go_in_unchanged(whole: Path, full_crawl: CrawlRun) -> None:
    with zipfile.ZipFile(whole) as package:
        packed = {
            Path(name).name: hashlib.sha256(package.read(name)).hexdigest()
            for name in package.namelist()
            if name.startswith("archive/")
        }
    on_disk = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in full_crawl.warcs}
    assert packed == on_disk


def test_pages_carry_url_time_title_and_the_clean_text(whole: Path, full_crawl: CrawlRun) -> None:
    with zipfile.ZipFile(whole) as package:
        lines = [json.loads(line) for line in package.read("pages/pages.jsonl").splitlines()]
    header, pages = lines[0], lines[1:]
    assert header["format"] == "json-pages-1.0"
    assert header["id"] == "pages"
    captures = {row["url"]: row for row in full_crawl.captures_json() if row["text_sha256"]}
    texts = {page["url"]: page for page in pages if "text" in page}
    assert set(texts) == set(captures)
    for url, page in texts.items():
        row = captures[url]
        assert page["ts"] == row["fetched_at"]
        assert page.get("title") == row["title"]
        assert page["id"] == row["short_id"]
        assert hashlib.sha256(page["text"].encode()).hexdigest() == row["text_sha256"]


def test_the_index_lists_every_response_and_no_clean_text(
    whole: Path, full_crawl: CrawlRun
) -> None:
    with zipfile.ZipFile(whole) as package:
        index = package.read("indexes/index.cdxj").decode().splitlines()
    entries = [json.loads(line.split(" ", 2)[2]) for line in index]
    assert index == sorted(index)
    assert {e["url"] for e in entries} == {row["url"] for row in full_crawl.captures_json()}
    assert all(e["mime"] != "text/plain" or e["url"].endswith("robots.txt") for e in entries)


def test_a_selection_is_packed_as_byte_exact_excerpts(full_crawl: CrawlRun, tmp_path: Path) -> None:
    prefix = full_crawl.captures_json()[0]["url"].split("/robots.txt")[0] + "/region/"
    target = tmp_path / "region.wacz"
    result = export(full_crawl, target, "--url-prefix", prefix)
    assert result.returncode == 0, result.stderr
    assert "(1 excerpted)" in result.stderr
    assert wacz_validate(target).returncode == 0
    selected = [row for row in full_crawl.captures_json() if str(row["url"]).startswith(prefix)]
    originals = {
        r.headers["WARC-Record-ID"]: r for path in full_crawl.warcs for r in raw_records(path)
    }
    with zipfile.ZipFile(target) as package:
        (name,) = [n for n in package.namelist() if n.startswith("archive/")]
        excerpt = tmp_path / Path(name).name
        excerpt.write_bytes(package.read(name))
        index = [
            json.loads(line.split(" ", 2)[2])
            for line in package.read("indexes/index.cdxj").decode().splitlines()
        ]
    with pytest.raises(SystemExit) as exited:
        warcio_main(["check", str(excerpt)])
    assert exited.value.code == 0
    found = raw_records(excerpt)
    assert found[0].type == "warcinfo"
    ids = {r.headers["WARC-Record-ID"] for r in found}
    for row in selected:
        assert row["record_id"] in ids
        assert row["request_record_id"] in ids
    for record in found:  # every record is the original, byte for byte
        original = originals[record.headers["WARC-Record-ID"]]
        assert record.headers == original.headers
        assert record.block == original.block
    # The selected pages, and what they need to render, wherever it is hosted (site.css, the
    # CDN's font and images): requisites, and only requisites, beyond the prefix.
    indexed = {e["url"] for e in index}
    kinds = {str(row["url"]): row["fetched_as"] for row in full_crawl.captures_json()}
    assert indexed >= {row["url"] for row in selected}
    beyond = indexed - {row["url"] for row in selected}
    assert {kinds[url] for url in beyond} >= {"stylesheet", "font", "image"}
    assert "page" not in {kinds[url] for url in beyond}
    by_offset = {r.offset: r for r in found}
    for entry in index:
        assert by_offset[int(entry["offset"])].headers["WARC-Target-URI"] == entry["url"]


def test_time_filters_and_empty_selections(full_crawl: CrawlRun, tmp_path: Path) -> None:
    nothing = export(full_crawl, tmp_path / "none.wacz", "--until", "2000-01-01")
    assert nothing.returncode == 1
    assert nothing.stderr.strip() == "Error: no capture matches: nothing to export"
    assert not (tmp_path / "none.wacz").exists()
    since = export(
        full_crawl, tmp_path / "all.wacz", "--since", "2000-01-01", "--until", "2999-01-01"
    )
    assert since.returncode == 0, since.stderr
    assert run_cli("export", "--data-dir", str(full_crawl.data_dir)).returncode == 2


def test_cdxj_export_equals_cdxj_indexer_on_the_warcs(full_crawl: CrawlRun, tmp_path: Path) -> None:
    ours = run_cli("export", "--cdxj", "-", "--data-dir", str(full_crawl.data_dir))
    assert ours.returncode == 0, ours.stderr
    reference = tmp_path / "reference.cdxj"
    write_cdx_index(str(reference), [str(p) for p in full_crawl.warcs], {"sort": True})
    assert ours.stdout.splitlines() == reference.read_text().splitlines()


def test_jsonl_export_is_the_catalogue(full_crawl: CrawlRun, tmp_path: Path) -> None:
    target = tmp_path / "captures.jsonl"
    result = run_cli(
        "export", "--jsonl", str(target), "--crawl", "1", "--data-dir", str(full_crawl.data_dir)
    )
    assert result.returncode == 0, result.stderr
    rows = json_lines(target.read_text())
    listed = full_crawl.captures_json()
    # `captures --json` adds whether each page's copy is complete (its requisite set); the rest
    # is the same catalogue.
    assert all(("requisites" in row) == (row["fetched_as"] == "page") for row in listed)
    assert rows == [{k: v for k, v in row.items() if k != "requisites"} for row in listed]
    assert f"Wrote {target}: {len(rows)} captures." in result.stderr


def test_packing_streams_however_big_the_records(
    site: SiteServer, full_crawl: CrawlRun, tmp_path: Path
) -> None:
    data = tmp_path / "big"
    crawled = run_cli(
        "crawl", site.url("/test/noise?size=24000000"), "--data-dir", str(data), *FAST,
        "-s", "STABLECOPY_EXTRACT_ENABLED=False",
    )  # fmt: skip
    assert crawled.returncode == 0, crawled.stderr
    target = str(tmp_path / "big.wacz")
    peaks = []
    for _ in range(2):
        peaks.append(peak_rss_kb("export", "--wacz", target, "--data-dir", str(data)))
        Path(target).unlink()
    small = str(tmp_path / "small.wacz")
    baseline = peak_rss_kb("export", "--wacz", small, "--data-dir", str(full_crawl.data_dir))
    # A 24 MB record moves through fixed-size buffers; it is never held whole in memory.
    assert min(peaks) - baseline < 20_000, (peaks, baseline)


def test_captures_of_one_url_in_the_same_second_are_sorted_as_cdxj_indexer_sorts_them() -> None:
    moment = datetime(2026, 11, 21, 15, 36, 43, tzinfo=UTC)
    fetches = ((100, 503, "ff", 10), (400_000, 200, "aa", 600))  # a 503, then the retry's 200
    captures = [
        Capture(
            url="http://example.org/a",
            url_key="org,example)/a",
            record_type="response",
            fetched_at=moment + timedelta(microseconds=micro),
            status=status,
            content_type="text/html",
            payload_digest=f"sha256:{digest}",
            warc_length=500,
            warc_offset=offset,
            warc_file="warcs/one.warc.gz",
        )
        for micro, status, digest, offset in fetches
    ]
    out = io.StringIO()

    assert write_cdxj(captures, out) == 2

    lines = out.getvalue().splitlines()
    assert lines == sorted(lines)
    assert [json.loads(line.split(" ", 2)[2])["status"] for line in lines] == ["200", "503"]


def test_exports_land_whole_under_their_name_and_never_make_folders(
    full_crawl: CrawlRun, tmp_path: Path
) -> None:
    """Each format is written beside its target under a temporary name and renamed once whole;
    a folder that does not exist is an error, not created."""
    data = str(full_crawl.data_dir)
    for option, name in (
        ("--wacz", "crawl.wacz"),
        ("--cdxj", "index.cdxj"),
        ("--jsonl", "c.jsonl"),
    ):
        missing = tmp_path / "no-such-folder" / name
        refused = run_cli("export", option, str(missing), "--data-dir", data)
        assert refused.returncode == 1, option
        assert f"the folder {missing.parent} does not exist" in refused.stderr, option
        assert not missing.parent.exists(), option
        target = tmp_path / name
        done = run_cli("export", option, str(target), "--data-dir", data)
        assert done.returncode == 0, (option, done.stderr)
        assert target.stat().st_size > 0, option
        assert target.stat().st_mode & 0o777 == 0o666 & ~current_umask(), option
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.jsonl", "crawl.wacz", "index.cdxj"]


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_damaged_warc_file_is_never_packed(site: SiteServer, tmp_path: Path) -> None:
    """What goes into a package is checked against the catalogue first: a file cut short, or a
    selected record whose bytes changed, refuses the export (one error line, no file); the
    captures that are intact still export from the same file."""
    data = tmp_path / "data"
    crawled = run_cli(
        "crawl", site.url("/"), "--follow", "--depth", "1", "--data-dir", str(data), *FAST
    )
    assert crawled.returncode == 0, crawled.stderr
    (warc,) = sorted((data / "warcs").iterdir())
    engine = open_catalog(DataLayout.create(data).db_url)
    with Session(engine) as session:
        pages = session.execute(
            select(Capture.url, Capture.warc_offset, Capture.warc_length)
            .where(Capture.status == 200, Capture.content_type.like("text/html%"))
            .order_by(Capture.id)
        ).all()
    engine.dispose()
    damaged_url, offset, length = pages[1]
    intact_url = next(  # a page whose URL and the damaged one's are not prefixes of each other
        url
        for url, _, _ in reversed(pages)
        if not url.startswith(damaged_url) and not damaged_url.startswith(url)
    )
    out = tmp_path / "out"
    out.mkdir()

    original = warc.read_bytes()
    with warc.open("r+b") as handle:  # one byte inside the record's compressed bytes
        handle.seek(offset + length // 2)
        handle.write(bytes([original[offset + length // 2] ^ 0xFF]))
    refused = run_cli(
        "export", "--wacz", str(out / "one.wacz"), "--data-dir", str(data),
        "--url-prefix", damaged_url,
    )  # fmt: skip
    assert refused.returncode == 1
    assert error_lines(refused.stderr) == [error_lines(refused.stderr)[0]]
    assert f"warcs/{warc.name}" in refused.stderr
    intact = run_cli(
        "export", "--wacz", str(out / "other.wacz"), "--data-dir", str(data),
        "--url-prefix", intact_url,
    )  # fmt: skip
    assert intact.returncode == 0, intact.stderr
    assert wacz_validate(out / "other.wacz").returncode == 0

    warc.write_bytes(original[:-100])  # cut short
    whole = run_cli("export", "--wacz", str(out / "all.wacz"), "--data-dir", str(data))
    assert whole.returncode == 1
    assert "recorded when it was closed" in whole.stderr
    assert sorted(p.name for p in out.iterdir()) == ["other.wacz"]  # nothing else, no leftovers


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("Error:")]

"""Security: nothing in the catalogue can send stablecopy outside its data directory, secrets never
reach request records, and replay says so when it is reachable from elsewhere."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text as sql

from stablecopy.catalog.session import open_catalog
from stablecopy.layout import DataLayout
from stablecopy.samplesite.pages import seed_article
from stablecopy.samplesite.server import SiteServer
from tests.conftest import CrawlRun
from tests.helpers import FAST, raw_records, run_cli
from tests.pgcatalogue import copy_data_dir
from tests.replay import pywb

pytestmark = pytest.mark.catalogue

SECRET = "outside-the-data-directory: do not read me"


@pytest.fixture
def tampered(full_crawl: CrawlRun, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of a crawl whose catalogue names files outside the data directory."""
    data = tmp_path / "data"
    copy_data_dir(full_crawl.data_dir, data)
    outside = tmp_path / "secret.warc.gz"
    outside.write_text(SECRET)
    engine = open_catalog(DataLayout.create(data).db_url)
    with engine.begin() as db:
        capture, extraction = db.execute(
            sql("SELECT capture_id, id FROM extractions WHERE conversion_file IS NOT NULL LIMIT 1")
        ).one()
        db.execute(
            sql("UPDATE captures SET warc_file = '../secret.warc.gz' WHERE id = :id"),
            {"id": capture},
        )
        db.execute(
            sql("UPDATE extractions SET conversion_file = :file WHERE id = :id"),
            {"file": str(outside), "id": extraction},
        )
    engine.dispose()
    return data, outside


def test_paths_outside_the_data_directory_are_refused_everywhere(
    tampered: tuple[Path, Path], tmp_path: Path
) -> None:
    data, _ = tampered
    engine = open_catalog(DataLayout.create(data).db_url)
    with engine.connect() as db:
        capture = db.execute(
            sql("SELECT id FROM captures WHERE warc_file = '../secret.warc.gz'")
        ).scalar_one()
    engine.dispose()
    outputs = []
    verified = run_cli("verify", "--data-dir", str(data))
    assert verified.returncode == 1
    assert "unsafe-path: capture" in verified.stderr
    outputs.append(verified)
    shown = run_cli("show", str(capture), "--data-dir", str(data))
    assert shown.returncode == 0, shown.stderr
    assert "refused: refusing path outside the data directory" in shown.stdout
    outputs.append(shown)
    text = run_cli("show", str(capture), "--text", "--data-dir", str(data))
    assert text.returncode == 1
    assert "refusing path outside the data directory" in text.stderr
    outputs.append(text)
    exported = run_cli("export", "--wacz", str(tmp_path / "x.wacz"), "--data-dir", str(data))
    assert exported.returncode == 1
    assert "outside the data directory" in exported.stderr
    outputs.append(exported)
    for done in outputs:
        assert SECRET not in done.stdout + done.stderr
        assert "Traceback" not in done.stderr


def test_secret_request_headers_never_reach_request_records(
    site: SiteServer, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    headers = '{"Authorization": "Basic c2VjcmV0OnNlY3JldA==", "X-Api-Key": "k-123"}'
    crawled = run_cli(
        "crawl", site.url(seed_article().path), "--data-dir", str(data), *FAST,
        "-s", f"DEFAULT_REQUEST_HEADERS={headers}",
        "-s", "STABLECOPY_REDACT_HEADERS=Cookie,Authorization,Proxy-Authorization,X-Api-Key",
    )  # fmt: skip
    assert crawled.returncode == 0, crawled.stderr
    sent = [h for _, path, h in site.requests if path == seed_article().path]
    assert any(h.get("Authorization") and h.get("X-Api-Key") for h in sent)  # the server got them
    (warc,) = (data / "warcs").iterdir()
    records = raw_records(warc)
    for record in records:
        if record.type == "request":
            assert b"Authorization" not in record.block
            assert b"c2VjcmV0" not in record.block
            assert b"X-Api-Key" not in record.block
    info = next(r for r in records if r.type == "warcinfo").block.decode()
    assert re.search(r"stablecopy-redacted-request-headers: .*X-Api-Key", info)


def test_serve_warns_when_it_listens_beyond_this_machine(full_crawl: CrawlRun) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "stablecopy", "serve", "--host", "0.0.0.0", "--port", "0",
         "--data-dir", str(full_crawl.data_dir), "--pywb-python", pywb()],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        warning = process.stderr.readline()
        assert warning.startswith("Warning: listening on 0.0.0.0: anyone who can reach it")
    finally:
        process.terminate()
        process.communicate(timeout=30)
    default = run_cli("serve", "--help")
    assert "[default: 127.0.0.1]" in default.stdout

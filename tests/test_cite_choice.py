"""Which capture `cite` chooses, and what it tells the reader: the latest with content unless asked
otherwise, a warning for a newer error page passed over and for a failed fixity check, and hints
where a URL or a time was given in a form the catalogue does not hold."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from stablecopy.catalog.models import Capture
from stablecopy.catalog.session import open_catalog
from stablecopy.labels import timestamp14
from stablecopy.layout import DataLayout
from tests.helpers import FAST, run_cli
from tests.rawserver import RawServer, response

pytestmark = pytest.mark.catalogue

STORY = response(
    b"HTTP/1.1 200 OK",
    [b"Content-Type: text/html; charset=utf-8"],
    b"<html><head><title>Harbour plan approved</title></head><body><article><h1>Harbour plan"
    b"</h1>"
    + b"<p>The council approved the harbour plan on Tuesday evening.</p>" * 10
    + b"</article></body></html>",
)
GONE = response(b"HTTP/1.1 404 Not Found", [b"Content-Type: text/html"], b"<h1>Not found</h1>")


@pytest.fixture(scope="module")
def withdrawn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A story captured whole, then withdrawn: its latest capture is a 404."""
    data = tmp_path_factory.mktemp("withdrawn") / "data"
    with RawServer({"/news/story/": STORY, "/about/": STORY}) as server:
        url = server.url("/news/story/")
        for answer, also in ((STORY, [server.url("/about/")]), (GONE, [])):
            server.answer("/news/story/", answer)
            done = run_cli(
                "crawl", url, *also, "--data-dir", str(data), *FAST, "-s", "RETRY_ENABLED=0"
            )
            assert done.returncode in (0, 1), done.stderr
        yield data, url


def captures(data: Path) -> list[Capture]:
    engine = open_catalog(DataLayout.create(data).db_url)
    with Session(engine) as session:
        found = list(session.scalars(select(Capture).where(Capture.url.like("%/news/story/"))))
        session.expunge_all()
    engine.dispose()
    return sorted(found, key=lambda c: c.fetched_at)


def test_cite_passes_over_a_newer_error_page_and_says_so(withdrawn: tuple[Path, str]) -> None:
    data, url = withdrawn
    whole, gone = captures(data)
    assert (whole.status, gone.status) == (200, 404)
    cited = run_cli("cite", url, "--format", "csl-json", "--data-dir", str(data))
    assert cited.returncode == 0, cited.stderr
    assert json.loads(cited.stdout)[0]["id"] == whole.short_id
    assert "Warning: a newer capture" in cited.stderr
    assert gone.short_id in cited.stderr
    assert "404" in cited.stderr
    anyway = run_cli("cite", url, "--any-status", "--format", "csl-json", "--data-dir", str(data))
    assert json.loads(anyway.stdout)[0]["id"] == gone.short_id
    as_json = run_cli("cite", url, "--json", "--data-dir", str(data))
    facts = json.loads(as_json.stdout)
    assert facts["citation_id"] == whole.short_id
    assert any("404" in warning for warning in facts["warnings"])


def test_cite_warns_when_the_last_fixity_check_failed(
    withdrawn: tuple[Path, str], tmp_path: Path
) -> None:
    data, url = withdrawn
    whole, _ = captures(data)
    warc = DataLayout.create(data).resolve(whole.warc_file)
    original = warc.read_bytes()
    try:
        middle = whole.warc_offset + whole.warc_length // 2
        warc.write_bytes(
            original[:middle] + bytes([original[middle] ^ 0xFF]) + original[middle + 1 :]
        )
        assert run_cli("verify", "--url", url, "--data-dir", str(data)).returncode == 1
        cited = run_cli("cite", "--id", whole.short_id, "--json", "--data-dir", str(data))
        assert cited.returncode == 0, cited.stderr
        assert "Warning: the last fixity check" in cited.stderr
        assert any("fixity" in w for w in json.loads(cited.stdout)["warnings"])
    finally:
        warc.write_bytes(original)
    assert run_cli("verify", "--url", url, "--data-dir", str(data)).returncode == 0
    again = run_cli("cite", "--id", whole.short_id, "--data-dir", str(data))
    assert "Warning" not in again.stderr  # the latest check passed


def test_cite_takes_the_timestamp_of_an_archived_url_and_hints_at_a_near_url(
    withdrawn: tuple[Path, str],
) -> None:
    data, url = withdrawn
    whole, _ = captures(data)
    at = run_cli(
        "cite", url, "--at", timestamp14(whole.fetched_at), "--any-status", "--format", "csl-json",
        "--data-dir", str(data),
    )  # fmt: skip
    assert at.returncode == 0, at.stderr
    assert json.loads(at.stdout)[0]["id"] == whole.short_id
    near = run_cli("cite", url.rstrip("/"), "--data-dir", str(data))
    assert near.returncode == 1
    assert f"did you mean {url}?" in near.stderr


def test_diff_with_the_citation_id_of_another_url_says_so(
    withdrawn: tuple[Path, str], tmp_path: Path
) -> None:
    data, url = withdrawn
    other = url.replace("/news/story/", "/about/")
    engine = open_catalog(DataLayout.create(data).db_url)
    with Session(engine) as session:
        about = session.scalars(select(Capture.short_id).where(Capture.url == other)).one()
    engine.dispose()
    refused = run_cli("diff", url, "--from", about, "--data-dir", str(data))
    assert refused.returncode == 1
    assert f"capture {about} is of {other}, not of {url}" in refused.stderr


def test_show_gives_a_line_that_reproduces_the_payload_digest_without_stablecopy(
    withdrawn: tuple[Path, str],
) -> None:
    data, _ = withdrawn
    whole, _ = captures(data)
    shown = run_cli("show", whole.short_id, "--data-dir", str(data))
    line = next(ln for ln in shown.stdout.splitlines() if ln.startswith("check_payload"))
    command = line.removeprefix("check_payload").strip()
    assert command.startswith("python3 -c ")
    checked = subprocess.run(
        ["bash", "-c", command.replace("python3", shlex.quote(sys.executable), 1)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert checked.stdout.split()[0] == whole.payload_sha256

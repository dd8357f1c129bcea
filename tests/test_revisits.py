"""Revisits and change history: the sample site crawled in edition 1, then again in edition 2.

Between the two, one article gets an edited paragraph, one only rotates its advertisement, one is
gone (404) and one is new; pages with an ETag or Last-Modified answer the second crawl with 304,
the rest is byte-identical. The archive must store no second copy of what did not change, and
every consumer (warcio, pywb, the WACZ validator, our own commands) must resolve the revisits.
"""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cdxj_indexer.main import write_cdx_index
from sqlalchemy.orm import Session
from warcio.cli import main as warcio_main

from stablecopy.catalog import history
from stablecopy.catalog.models import Crawl
from stablecopy.catalog.session import open_catalog
from stablecopy.layout import DataLayout
from stablecopy.samplesite.pages import (
    CORRECTION,
    Resource,
    articles,
    build_site,
    new_article,
)
from stablecopy.samplesite.server import SiteHandler, SiteServer
from tests.helpers import FAST, RawRecord, json_lines, raw_records, run_cli
from tests.replay import fetch, serving

pytestmark = pytest.mark.catalogue

PROFILE = "http://netpreserve.org/warc/1.1/revisit/"
ARTICLES = {article.slug: article.path for article in articles()}
NEW = new_article().path


def _copy_of_about(handler: SiteHandler) -> None:
    """/about-copy/ serves exactly the bytes of /about/ (for revisits across URLs)."""
    handler.send_resource(handler.server.resources["/about/"])


@dataclass
class TwoEditions:
    site: SiteServer
    data: Path
    results: list[subprocess.CompletedProcess[str]]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = run_cli(*args, "--data-dir", str(self.data))
        assert done.returncode == 0, done.stderr
        return done

    def records(self) -> list[tuple[Path, RawRecord]]:
        warcs = sorted((self.data / "warcs").glob("*.warc.gz"))
        return [(path, record) for path in warcs for record in raw_records(path)]

    def captures(self, crawl: int) -> dict[str, dict[str, object]]:
        listed = json_lines(self.cli("captures", "--json", "--crawl", str(crawl)).stdout)
        return {str(c["url"]).removeprefix(self.site.base): c for c in listed}

    def history(self, path: str) -> list[dict[str, object]]:
        return json_lines(self.cli("history", self.site.url(path), "--json").stdout)


def crawl(site: SiteServer, data: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    seeds = [site.url("/"), site.url("/sitemap-index.xml"), site.url("/feed.xml")]
    return run_cli("crawl", *seeds, "--follow", "--data-dir", str(data), *FAST, *extra)


@pytest.fixture(scope="module")
def editions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoEditions]:
    data = tmp_path_factory.mktemp("editions") / "data"
    with SiteServer(routes={"/about-copy/": _copy_of_about}) as site:
        first = crawl(site, data)
        site.set_edition(2)
        second = crawl(site, data)
        yield TwoEditions(site, data, [first, second])


def test_both_crawls_succeed_and_say_what_changed(editions: TwoEditions) -> None:
    for result in editions.results:
        assert result.returncode == 0, result.stderr
    summary = editions.results[1].stderr
    assert "unchanged revisits" in summary
    assert re.search(r"Pages: 1 new, \d+ changed, \d+ unchanged \(1 only outside", summary)


def test_warcio_checks_every_file(
    editions: TwoEditions, capsys: pytest.CaptureFixture[str]
) -> None:
    warcs = [str(p) for p in sorted((editions.data / "warcs").glob("*.warc.gz"))]
    with pytest.raises(SystemExit) as exited:
        warcio_main(["check", "-v", *warcs])
    assert exited.value.code == 0, capsys.readouterr().out
    assert "revisit" in capsys.readouterr().out


def test_identical_pages_are_revisits_pointing_at_their_original(editions: TwoEditions) -> None:
    first, second = editions.captures(1), editions.captures(2)
    records = {record.headers["WARC-Record-ID"]: record for _, record in editions.records()}
    revisit = records[str(second["/about/"]["record_id"])]
    original = records[str(first["/about/"]["record_id"])]
    assert revisit.type == "revisit"
    assert revisit.headers["WARC-Profile"] == PROFILE + "identical-payload-digest"
    assert revisit.headers["WARC-Truncated"] == "length"
    assert revisit.headers["WARC-Refers-To"] == original.headers["WARC-Record-ID"]
    assert revisit.headers["WARC-Refers-To-Target-URI"] == original.headers["WARC-Target-URI"]
    assert revisit.headers["WARC-Refers-To-Date"] == original.headers["WARC-Date"]
    assert revisit.headers["WARC-Payload-Digest"] == original.headers["WARC-Payload-Digest"]
    head, body = revisit.http_split()
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Content-Type: text/html" in head
    assert body == b""  # the payload is the original's, left out
    assert revisit.headers["WARC-Concurrent-To"]  # its request record is there too
    assert second["/about/"]["refers_to_record_id"] == first["/about/"]["record_id"]
    assert second["/about/"]["payload_sha256"] == first["/about/"]["payload_sha256"]


def test_conditional_requests_turn_304s_into_revisits(editions: TwoEditions) -> None:
    second = editions.captures(2)
    asked = {
        path: headers
        for _, path, headers in editions.site.requests
        if "If-None-Match" in headers or "If-Modified-Since" in headers
    }
    marche, bibliothek = ARTICLES["marche"], ARTICLES["bibliothek"]
    assert asked[marche]["If-None-Match"] == '"marche-v1"'
    assert asked[bibliothek]["If-Modified-Since"] == "Fri, 24 Mar 2023 18:30:00 GMT"
    records = {record.headers["WARC-Record-ID"]: record for _, record in editions.records()}
    for path in (marche, bibliothek, "/region/"):
        capture = second[path]
        assert capture["status"] == 304
        assert capture["revisit_profile"] == "server-not-modified"
        record = records[str(capture["record_id"])]
        assert record.headers["WARC-Profile"] == PROFILE + "server-not-modified"
        assert "WARC-Truncated" not in record.headers  # nothing was left out: no body was sent
        assert record.http_split()[0].startswith(b"HTTP/1.1 304 Not Modified\r\n")
        request = next(r for _, r in editions.records()
                       if r.headers["WARC-Record-ID"] == record.headers["WARC-Concurrent-To"])  # fmt: skip
        assert b"If-None-Match" in request.block or b"If-Modified-Since" in request.block


def test_changed_pages_are_stored_whole(editions: TwoEditions) -> None:
    second = editions.captures(2)
    for path in (ARTICLES["attacks"], ARTICLES["iran-backed"], "/", NEW):
        assert second[path]["record_type"] == "response", path
    assert second[ARTICLES["carril-bici"]]["status"] == 404


def test_the_run_counts_pages_by_what_changed(
    editions: TwoEditions, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = open_catalog(DataLayout.create(editions.data).db_url)
    with Session(engine) as session:
        second = session.get_one(Crawl, 2)
        monkeypatch.setattr(history, "SUMMARY_CHUNK", 3)  # counted a few pages at a time
        recounted = history.run_summary(session, 2)
    engine.dispose()
    assert (recounted.new, recounted.changed, recounted.unchanged, recounted.failed) == (
        second.pages_new, second.pages_changed, second.pages_unchanged, second.pages_failed
    )  # fmt: skip
    assert second.pages_new == 1  # the night-bus story
    assert second.pages_failed == 3  # the withdrawn story and two 404s linked by the site
    assert second.pages_changed >= 2  # the edited story, the front page, the listings...
    assert second.pages_unchanged >= 6


def test_history_marks_text_unchanged_changed_and_gone(editions: TwoEditions) -> None:
    def changes(path: str) -> list[object]:
        return [entry["change"] for entry in editions.history(path)]

    assert changes(ARTICLES["iran-backed"]) == ["new", "text unchanged"]
    assert changes(ARTICLES["attacks"]) == ["new", "changed"]
    assert changes(ARTICLES["carril-bici"]) == ["new", "gone"]
    assert changes(ARTICLES["marche"]) == ["new", "unchanged"]
    rotating = editions.history(ARTICLES["iran-backed"])
    assert rotating[0]["payload_sha256"] != rotating[1]["payload_sha256"]
    assert rotating[0]["text_sha256"] == rotating[1]["text_sha256"]
    table = editions.cli("history", editions.site.url(ARTICLES["iran-backed"])).stdout
    assert "text unchanged" in table


def test_diff_shows_the_edited_paragraph(editions: TwoEditions) -> None:
    shown = editions.cli("diff", editions.site.url(ARTICLES["attacks"])).stdout
    removed = [line for line in shown.splitlines() if line.startswith("-") and line[1:2] != "-"]
    added = [line for line in shown.splitlines() if line.startswith("+") and line[1:2] != "+"]
    assert len(removed) == len(added) == 1
    assert added[0].endswith(CORRECTION.strip())
    assert not removed[0].endswith(CORRECTION.strip())
    same = editions.cli("diff", editions.site.url(ARTICLES["iran-backed"])).stdout
    assert same.startswith("The clean text is the same")


def test_show_and_cite_resolve_a_revisit_to_its_original(editions: TwoEditions) -> None:
    revisit = editions.captures(2)[ARTICLES["marche"]]
    original = editions.captures(1)[ARTICLES["marche"]]
    shown = editions.cli("show", str(revisit["short_id"])).stdout
    revisit_of = next(line for line in shown.splitlines() if line.startswith("revisit_of"))
    assert str(original["short_id"]) in revisit_of
    text = editions.cli("show", str(revisit["short_id"]), "--text").stdout
    assert text == editions.cli("show", str(original["short_id"]), "--text").stdout
    assert "marché couvert" in text
    cited = editions.cli("cite", "--id", str(revisit["short_id"]), "--format", "csl-json").stdout
    stamp = re.sub(r"\D", "", str(revisit["fetched_at"]))[:14]
    assert f"/{stamp}/" in cited
    assert "Le marché couvert rouvre" in cited


def test_verify_checks_revisit_records(editions: TwoEditions) -> None:
    checked = run_cli("verify", "--data-dir", str(editions.data))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "all intact" in checked.stderr


def test_cdxj_points_304_revisits_at_their_original(editions: TwoEditions, tmp_path: Path) -> None:
    ours = editions.cli("export", "--cdxj", "-").stdout.splitlines()
    reference = tmp_path / "reference.cdxj"
    warcs = [str(p) for p in sorted((editions.data / "warcs").glob("*.warc.gz"))]
    write_cdx_index(str(reference), warcs, {"sort": True})
    theirs = reference.read_text().splitlines()
    assert len(ours) == len(theirs)
    differing = [(a, b) for a, b in zip(ours, theirs, strict=True) if a != b]
    not_modified = [line for line in theirs if '"status": "304"' in line]
    # The 304s (three pages, and the static requisites that did not change), nothing else.
    assert len(differing) == len(not_modified) >= 3
    for line, reference_line in differing:
        assert '"status": "304"' in reference_line
        assert '"mime": "warc/revisit"' in reference_line
        assert '"status": "200"' in line
        assert '"mime": "warc/revisit"' not in line


def test_wacz_of_the_second_run_carries_the_originals(
    editions: TwoEditions, tmp_path: Path
) -> None:
    target = tmp_path / "second.wacz"
    editions.cli("export", "--wacz", str(target), "--crawl", "2")
    checked = subprocess.run(
        [sys.executable, "-m", "wacz", "validate", "-f", str(target)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    first = editions.captures(1)
    with zipfile.ZipFile(target) as package:
        index = package.read("indexes/index.cdxj").decode()
        pages = json_lines(package.read("pages/pages.jsonl").decode())
    original = first[ARTICLES["marche"]]
    assert re.sub(r"\D", "", str(original["fetched_at"]))[:14] in index
    marche = [p for p in pages if str(p.get("url", "")).endswith(ARTICLES["marche"])]
    assert marche
    assert all("marché couvert" in str(p["text"]) for p in marche)


def test_pywb_replays_revisits_with_the_original_content(editions: TwoEditions) -> None:
    second = editions.captures(2)
    edition_one = build_site(editions.site.base, 1, editions.site.hosts)
    with serving(editions.data) as replay:
        for path in ("/about/", ARTICLES["marche"], "/region/"):
            capture = second[path]
            stamp = re.sub(r"\D", "", str(capture["fetched_at"]))[:14]
            url = replay.url(f"/archive/{stamp}id_/{capture['url']}")
            replayed = fetch(url)
            assert replayed.status == 200, (path, replayed.status)
            assert replayed.read() == edition_one[path].body, path


def test_revisits_across_urls_by_setting(editions: TwoEditions) -> None:
    about = editions.captures(1)["/about/"]
    scoped = run_cli("crawl", editions.site.url("/about-copy/"), "--data-dir", str(editions.data),
                     *FAST, "-s", "STABLECOPY_REVISITS=any")  # fmt: skip
    assert scoped.returncode == 0, scoped.stderr
    copy = editions.captures(3)["/about-copy/"]
    assert copy["record_type"] == "revisit"
    assert copy["refers_to_record_id"] == about["record_id"]  # the one response of those bytes
    off = run_cli("crawl", editions.site.url("/about/"), "--data-dir", str(editions.data),
                  *FAST, "-s", "STABLECOPY_REVISITS=off")  # fmt: skip
    assert off.returncode == 0, off.stderr
    assert editions.captures(4)["/about/"]["record_type"] == "response"


def test_a_payload_repeated_within_one_crawl_is_a_revisit_of_its_first_capture(
    editions: TwoEditions, tmp_path: Path
) -> None:
    """The second copy is fetched while the first is likely not committed yet: the recorder finds
    it among its pending captures (or in the catalogue, once written) all the same."""
    data = tmp_path / "data"
    first, copy = editions.site.url("/about/"), editions.site.url("/about-copy/")
    done = run_cli("crawl", first, copy, "--data-dir", str(data), *FAST,
                   "-s", "STABLECOPY_REVISITS=any", "-s", "CONCURRENT_REQUESTS=1")  # fmt: skip
    assert done.returncode == 0, done.stderr
    listed = json_lines(run_cli("captures", "--json", "--data-dir", str(data)).stdout)
    by_url = {str(c["url"]): c for c in listed}
    original, revisit = sorted((by_url[first], by_url[copy]), key=lambda c: str(c["fetched_at"]))
    assert original["record_type"] == "response"
    assert revisit["record_type"] == "revisit"
    assert revisit["refers_to_record_id"] == original["record_id"]


def test_a_304_in_the_same_crawl_reads_its_original_from_the_file_still_being_written(
    tmp_path: Path,
) -> None:
    """robots.txt as a seed is fetched twice in one crawl (once for the robots rules); the second
    fetch is conditional, and its 304 is answered from the record in the still-open WARC file."""

    def robots_with_etag(base: str) -> dict[str, Resource]:
        rules = f"User-agent: *\nAllow: /\nSitemap: {base}/sitemap.xml\n".encode()
        return {"/robots.txt": Resource(rules, "text/plain", headers=(("ETag", '"r1"'),))}

    data = tmp_path / "data"
    with SiteServer(extra=robots_with_etag) as site:
        done = run_cli("crawl", site.url("/robots.txt"), "--data-dir", str(data), *FAST)
        asked = [headers for _, path, headers in site.requests if path == "/robots.txt"]
    assert done.returncode == 0, done.stderr
    assert [h.get("If-None-Match") for h in asked] == [None, '"r1"']
    assert "cannot read" not in done.stderr
    listed = json_lines(run_cli("captures", "--json", "--data-dir", str(data)).stdout)
    assert sorted(c["status"] for c in listed) == [200, 304]

"""Citations: every format read back by a real consumer, and the same capture always cited the same."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime
from html.parser import HTMLParser
from importlib.resources import files
from pathlib import Path

import bibtexparser
import pytest
import rispy
from citeproc import (
    Citation,
    CitationItem,
    CitationStylesBibliography,
    CitationStylesStyle,
    formatter,
)
from citeproc.source.json import CiteProcJSON
from pybtex.database import parse_string as pybtex_parse
from pybtex.plugin import find_plugin
from pybtex.richtext import Text

from stablecopy.provenance.citation import CitationFacts, render
from stablecopy.provenance.names import Author, authors
from tests.conftest import CrawlRun
from tests.helpers import run_cli

FACTS = CitationFacts(
    short_id="7KQM-3XPA",
    url="https://news.example/2024/05/a-b?c=1&d=%7E#top",
    fetched_at=datetime(2026, 11, 21, 8, 5, 5, 41260, tzinfo=UTC),
    payload_sha256="a" * 64,
    record_id="<urn:uuid:0000>",
    archive_base="https://archive.library.example/",
    collection="news",
    title='Budget: 50% cut for "R&D" {again} — Ärzte & $costs_',
    author="Élodie Garnier; John Roe Jr.; Foreign Desk",
    site_name="The Example Times",
    published="2024-05-14",
    text_sha256="b" * 64,
    archive_name="Example Library Web Archive",
)
ARCHIVED = "https://archive.library.example/news/20261121080505/" + FACTS.url
BARE = CitationFacts(
    short_id="AAAA-BBBB",
    url="https://news.example/x",
    fetched_at=datetime(2026, 11, 21, 8, 5, 5, tzinfo=UTC),
    payload_sha256="c" * 64,
    record_id="<urn:uuid:1>",
    archive_base="https://archive.example/",
    collection="archive",
)
CONSUMERS = Path(
    os.environ.get("STABLECOPY_CONSUMERS", Path(__file__).parent.parent / ".consumers")
)


def test_archived_url_is_the_replay_url() -> None:
    assert FACTS.archived_url == ARCHIVED
    assert FACTS.timestamp == "20261121080505"


def test_bibtex_is_an_online_entry_bibtexparser_reads() -> None:
    library = bibtexparser.parse_string(render(FACTS, "bibtex"))
    assert not library.failed_blocks
    (entry,) = library.entries
    assert entry.entry_type == "online"
    assert entry.key == "stablecopy-7KQM-3XPA"
    fields = entry.fields_dict
    assert fields["title"].value == (
        '{Budget: 50\\% cut for "R\\&D" \\textbraceleft{}again\\textbraceright{} — Ärzte \\& \\$costs\\_}'
    )
    assert fields["author"].value == "Garnier, Élodie and Roe, Jr., John and {Foreign Desk}"
    assert fields["organization"].value == "The Example Times"
    assert fields["date"].value == "2024-05-14"
    assert fields["year"].value == "2024"
    assert fields["url"].value == ARCHIVED
    assert fields["urldate"].value == "2026-11-21"
    note = Text.from_latex(fields["note"].value).render_as("text")
    for part in (FACTS.url, "7KQM-3XPA", "2026-11-21T08:05:05Z", "a" * 64, "b" * 64):
        assert part in note


def test_bibtex_renders_in_pybtex_with_year_names_and_archived_url() -> None:
    data = pybtex_parse(render(FACTS, "bibtex"), "bibtex")
    for entry in data.entries.values():
        entry.type = "misc"  # classic BibTeX styles know no @online, and fall back to misc
        persons = entry.persons["author"]
        assert [p.last_names for p in persons[:2]] == [["Garnier"], ["Roe"]]
        assert persons[0].first_names == ["Élodie"]
    style = find_plugin("pybtex.style.formatting", "plain")()
    (rendered,) = (e.text.render_as("text") for e in style.format_bibliography(data))
    assert "2024" in rendered
    assert ARCHIVED in rendered
    assert "Foreign Desk" in rendered


def _harvard() -> CitationStylesStyle:
    style = files("citeproc").joinpath("data", "styles", "harvard-cite-them-right.csl")
    return CitationStylesStyle(str(style), validate=False)


def test_csl_json_renders_in_a_real_csl_processor() -> None:
    items = json.loads(render(FACTS, "csl-json"))
    (item,) = items
    assert item["accessed"]["raw"] == "2026-11-21T08:05:05Z"
    assert item["accessed"]["date-parts"] == [[2026, 11, 21]]
    assert item["archive"] == "Example Library Web Archive"
    assert item["archive_location"] == "7KQM-3XPA"
    assert item["URL"] == ARCHIVED
    assert FACTS.url in item["note"]
    assert item["issued"]["date-parts"] == [[2024, 5, 14]]
    assert item["author"] == [
        {"family": "Garnier", "given": "Élodie"},
        {"family": "Roe", "given": "John", "suffix": "Jr."},
        {"literal": "Foreign Desk"},
    ]
    source = CiteProcJSON(items)
    bibliography = CitationStylesBibliography(_harvard(), source, formatter.plain)
    bibliography.register(Citation([CitationItem("7KQM-3XPA")]))
    rendered = str(bibliography.bibliography()[0])
    assert rendered.startswith("Garnier, É.")
    assert "Budget: 50% cut" in rendered
    assert "The Example Times" in rendered
    assert "2024" in rendered
    assert ARCHIVED in rendered


def citation_js(items: list[dict[str, object]]) -> dict[str, str]:
    """APA and Harvard as citation-js (npm, the CSL engine of many web tools) render them."""
    script = Path(__file__).parent / "consumers" / "citationjs.js"
    done = subprocess.run(
        ["node", str(script)],
        input=json.dumps(items),
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "NODE_PATH": str(CONSUMERS / "node_modules")},
    )
    rendered: dict[str, str] = json.loads(done.stdout)
    return rendered


def test_csl_json_renders_in_citation_js_apa_and_harvard() -> None:
    rendered = citation_js(json.loads(render(FACTS, "csl-json")))
    for style, text in rendered.items():
        assert text.startswith("Garnier, É."), (style, text)
        assert "Roe, J." in text, (style, text)
        assert "Foreign Desk" in text, (style, text)
        assert "2024" in text, (style, text)
        assert ARCHIVED in text, (style, text)
    assert "Example Library Web Archive" in rendered["apa"]
    bare = json.loads(render(BARE, "csl-json"))
    for style, text in citation_js(bare).items():
        assert "2026" in text, (style, text)  # no publication date: the capture's year
        assert "https://archive.example/archive/" in text, (style, text)


def test_ris_is_read_back_by_rispy() -> None:
    (entry,) = rispy.loads(render(FACTS, "ris"))
    assert entry["type_of_reference"] == "NEWS"
    assert entry["title"] == FACTS.title
    assert entry["authors"] == ["Garnier, Élodie", "Roe, John, Jr.", "Foreign Desk"]
    assert entry["secondary_title"] == "The Example Times"
    assert entry["urls"] == [ARCHIVED]
    assert entry["year"] == "2024"
    assert entry["accession_number"] == "7KQM-3XPA"
    assert entry["name_of_database"] == "Example Library Web Archive"
    assert FACTS.url in entry["notes"][0]


class _Anchor(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.attributes: dict[str, str | None] = {}
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag == "a"
        self.attributes = dict(attrs)

    def handle_data(self, data: str) -> None:
        self.text += data


def test_robust_link_is_an_anchor_with_the_robust_links_attributes() -> None:
    parser = _Anchor()
    parser.feed(render(FACTS, "robust-link"))
    attributes = parser.attributes
    assert attributes["href"] == ARCHIVED
    assert attributes["data-originalurl"] == FACTS.url
    assert attributes["data-versionurl"] == ARCHIVED
    assert attributes["data-versiondate"] == "2026-11-21T08:05:05Z"
    assert attributes["data-citation-id"] == "7KQM-3XPA"
    assert attributes["data-payload-sha256"] == "a" * 64
    assert attributes["data-text-sha256"] == "b" * 64
    assert parser.text.startswith(FACTS.title)
    assert "Élodie Garnier" in parser.text


def test_text_citation_carries_everything() -> None:
    cited = render(FACTS, "text")
    for part in (FACTS.title, "Élodie Garnier", "The Example Times", "2024-05-14", FACTS.url, ARCHIVED,
                 "2026-11-21T08:05:05Z", "7KQM-3XPA", "a" * 64, "b" * 64):  # fmt: skip
        assert part in cited


def test_a_capture_without_metadata_is_still_citable() -> None:
    bare = CitationFacts(
        short_id="2222-2222",
        url="https://x.example/file.pdf",
        fetched_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        payload_sha256="c" * 64,
        record_id="<urn:uuid:1>",
        archive_base="http://127.0.0.1:8080",
        collection="archive",
    )
    for fmt in ("text", "bibtex", "csl-json", "ris", "robust-link"):
        assert "https://x.example/file.pdf" in render(bare, fmt)
    assert json.loads(render(bare, "csl-json"))[0]["type"] == "webpage"
    assert bibtexparser.parse_string(render(bare, "bibtex")).entries[0]["title"]


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown citation format"):
        render(FACTS, "mla")


# --- the command ----------------------------------------------------------------------------------


@pytest.mark.catalogue
def test_cite_follows_the_recorded_redirect_and_is_stable(full_crawl: CrawlRun) -> None:
    data = str(full_crawl.data_dir)
    old_link = [
        r for r in full_crawl.captures_json() if str(r["url"]).endswith("old-link-to-iran-story")
    ]
    first = run_cli("cite", str(old_link[0]["url"]), "--format", "bibtex", "--data-dir", data)
    again = run_cli("cite", str(old_link[0]["url"]), "--format", "bibtex", "--data-dir", data)
    assert first.returncode == 0, first.stderr
    assert first.stdout == again.stdout
    (entry,) = bibtexparser.parse_string(first.stdout).entries
    assert entry.fields_dict["url"].value.endswith(
        "iran-backed-and-us-backed-forces-fighting-in-eastern-syria.html"
    )
    assert "Iran-Backed" in entry.fields_dict["title"].value


@pytest.mark.catalogue
def test_cite_by_citation_id_and_by_time(full_crawl: CrawlRun) -> None:
    data = str(full_crawl.data_dir)
    row = next(r for r in full_crawl.captures_json() if r["title"] and r["status"] == 200)
    by_id = run_cli(
        "cite", "--id", str(row["short_id"]).lower(), "--format", "csl-json", "--data-dir", data
    )
    assert by_id.returncode == 0, by_id.stderr
    (item,) = json.loads(by_id.stdout)
    assert item["id"] == row["short_id"]
    assert item["URL"].endswith("/" + str(row["url"]))  # the archived copy of it
    assert f"Original URL: {row['url']};" in item["note"]
    at = run_cli(
        "cite", str(row["url"]), "--at", "2000-01-01", "--format", "csl-json", "--data-dir", data
    )
    assert json.loads(at.stdout)[0]["id"] == row["short_id"]
    custom = run_cli(
        "cite", str(row["url"]), "--base-url", "https://archive.example", "--collection", "news",
        "--data-dir", data,
    )  # fmt: skip
    assert "https://archive.example/news/" in custom.stdout


@pytest.mark.catalogue
def test_cite_says_clearly_when_there_is_nothing_to_cite(
    full_crawl: CrawlRun, tmp_path: Path
) -> None:
    data = str(full_crawl.data_dir)
    missing = run_cli("cite", "https://never.example/", "--data-dir", data)
    assert missing.returncode == 1
    assert missing.stderr.strip() == "Error: no capture of https://never.example/"
    assert run_cli("cite", "--data-dir", data).returncode == 2
    assert run_cli("cite", "--id", "ZZZZ-ZZZZ", "--data-dir", data).returncode == 1


@pytest.mark.parametrize(
    ("byline", "expected"),
    [
        ("Élodie Garnier", [Author(family="Garnier", given="Élodie")]),
        ("By Jane Doe and John Roe", [Author("Doe", "Jane"), Author("Roe", "John")]),
        ("Ludwig van Beethoven", [Author(family="van Beethoven", given="Ludwig")]),
        ("Foreign Desk", [Author(literal="Foreign Desk")]),
        ("Staff", [Author(literal="Staff")]),
        ("AFP", [Author(literal="AFP")]),
        ("The Associated Press", [Author(literal="The Associated Press")]),
        ("Redaktion Politik", [Author(literal="Redaktion Politik")]),
        ("王小明", [Author(literal="王小明")]),
        ("Madonna", [Author(literal="Madonna")]),
        ("Jane Doe & Reuters", [Author("Doe", "Jane"), Author(literal="Reuters")]),
    ],
)
def test_bylines_split_into_persons_and_organisations(byline: str, expected: list[Author]) -> None:
    assert authors(byline) == expected

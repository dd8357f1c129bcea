"""Seed URLs and seed files: good lines kept in order, bad lines named by file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from stablecopy.crawl.seeds import collect_seeds, read_seed_file, seed_problem


@pytest.mark.parametrize(
    "url",
    [
        "https://news.example/",
        "http://news.example:8080/a?b=1&c=2",
        "https://news.example/a#section",
        "HTTPS://News.Example/Path",
        "http://[2001:db8::1]/",
        "https://xn--bcher-kva.example/",
    ],
)
def test_http_and_https_urls_are_seeds(url: str) -> None:
    assert seed_problem(url) is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://files.example/a", "unsupported scheme 'ftp'"),
        ("javascript:alert(1)", "unsupported scheme 'javascript'"),
        ("file:///etc/passwd", "unsupported scheme 'file'"),
        ("mailto:desk@news.example", "unsupported scheme 'mailto'"),
        ("news.example/politics", "no scheme (did you mean https://news.example/politics ?)"),
        ("http:///no-host", "not an absolute http(s) URL"),
        ("https://news.example/a b", "cannot contain spaces"),
        ("http://news.example:99999/", "not a valid URL"),
        ("/relative/path", "not an absolute http(s) URL"),
    ],
)
def test_bad_seeds_say_why(url: str, reason: str) -> None:
    problem = seed_problem(url)
    assert problem is not None
    assert reason in problem


def test_seed_file_skips_comments_and_reports_bad_lines(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds.txt"
    seeds.write_text(
        "# front pages\n"
        "https://a.example/\n"
        "\n"
        "  https://b.example/feed.xml   # the RSS feed\n"
        "https://c.example/page#fragment-kept\n"
        "gopher://old.example/\n",
        "utf-8",
    )
    good, problems = read_seed_file(seeds)
    assert good == [
        "https://a.example/",
        "https://b.example/feed.xml",
        "https://c.example/page#fragment-kept",
    ]
    assert [str(p) for p in problems] == [
        (
            f"{seeds}:6: unsupported scheme 'gopher' (only http and https can be archived): "
            "'gopher://old.example/'"
        )
    ]


def test_unreadable_seed_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    good, problems = read_seed_file(tmp_path / "missing.txt")
    assert good == []
    assert "cannot read the seed file" in str(problems[0])
    (tmp_path / "binary.txt").write_bytes(b"\xff\xfe\x00garbage")
    assert read_seed_file(tmp_path / "binary.txt")[1]


def test_seeds_from_arguments_and_files_are_merged_without_repeats(tmp_path: Path) -> None:
    seeds = tmp_path / "s.txt"
    seeds.write_text("https://a.example/\nhttps://b.example/\n", "utf-8")
    good, problems = collect_seeds(["https://b.example/", "nope"], [str(seeds)])
    assert good == ["https://b.example/", "https://a.example/"]
    assert len(problems) == 1


def test_a_byte_order_mark_and_a_line_that_is_not_utf8_spoil_nothing_else(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds.txt"
    seeds.write_bytes(
        b"\xef\xbb\xbfhttps://first.example/\n"
        b"https://caf\xe9.example/menu\n"  # Latin-1, not UTF-8
        b"https://third.example/story\r\n"
    )
    good, problems = read_seed_file(seeds)
    assert good == ["https://first.example/", "https://third.example/story"]
    (problem,) = problems
    assert (problem.line, problem.reason) == (2, "not UTF-8 (byte 12 of the line)")
    assert problem.text == "https://caf\\xe9.example/menu"

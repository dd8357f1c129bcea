"""What is printed for people never carries a server's control characters: a title, a header or
a clean text holding terminal escape sequences is shown with them made visible."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import FAST, json_lines, run_cli
from tests.rawserver import RawServer, response

pytestmark = pytest.mark.catalogue

ESCAPE = "\x1b]0;owned\x07\x1b[2J\x1b[31m"  # set the window title, clear the screen, turn red
ARTICLE = (
    f"<html><head><title>Harbour plan {ESCAPE}[bold]approved[/bold]</title></head><body><article>"
    "<h1>Harbour plan approved</h1>"
    + f"<p>The council met on Tuesday {ESCAPE} to discuss the harbour and its future. </p>" * 10
    + "</article></body></html>"
)
PAGE = response(b"HTTP/1.1 200 OK", [b"Content-Type: text/html; charset=utf-8"], ARTICLE.encode())
TYPED = response(
    b"HTTP/1.1 200 OK", [b"Content-Type: text/plain\x1b[5m[bold]loud[/bold]"], b"plain words"
)


def test_captures_show_history_and_cite_print_escapes_not_controls(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    with RawServer({"/story": PAGE, "/typed": TYPED}) as server:
        url, typed = server.url("/story"), server.url("/typed")
        crawled = run_cli("crawl", url, typed, "--data-dir", data, *FAST)
        assert crawled.returncode == 0, crawled.stderr
    listed = json_lines(run_cli("captures", "--json", "--data-dir", data).stdout)
    (story,) = [str(row["id"]) for row in listed if row["url"] == url]
    (plain,) = [str(row["id"]) for row in listed if row["url"] == typed]
    shown = {
        "captures": run_cli("captures", "--data-dir", data),
        "show": run_cli("show", story, "--data-dir", data),
        "show typed": run_cli("show", plain, "--data-dir", data),
        "show --text": run_cli("show", story, "--text", "--data-dir", data),
        "history": run_cli("history", url, "--data-dir", data),
        "cite": run_cli("cite", url, "--data-dir", data),
    }
    for what, done in shown.items():
        assert done.returncode == 0, (what, done.stderr)
        printed = done.stdout + done.stderr
        assert "\x1b" not in printed, what
        assert "\x07" not in printed, what
    # The Content-Type as a person can read it, and never read as rich markup.
    assert "text/plain\\x1b[5m[bold]loud[/bold]" in shown["show typed"].stdout

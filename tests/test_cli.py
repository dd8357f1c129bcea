"""The command line: every command documented, expected failures as one `Error:` line, exit codes."""

from __future__ import annotations

import os
import re
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import click
import pytest
from sqlalchemy import select
from warcio.cli import main as warcio_main

from stablecopy.catalog.models import Capture, Crawl
from stablecopy.catalog.session import open_catalog
from stablecopy.cli import cli
from stablecopy.layout import DataLayout
from stablecopy.samplesite.server import SiteServer
from tests.helpers import FAST, raw_records, run_cli
from tests.routes import closed_port_url

README = (Path(__file__).parent.parent / "README.md").read_text("utf-8")


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("Error:")]


def _loaded() -> dict[str, click.Command]:
    """Every top-level command, each loaded as running it would load it."""
    context = click.Context(cli)
    loaded = {name: cli.get_command(context, name) for name in cli.list_commands(context)}
    return {name: command for name, command in loaded.items() if command is not None}


def _commands() -> list[tuple[str, click.Command]]:
    """Every command, with the subcommands of groups (`schedule add`, ...)."""
    found: list[tuple[str, click.Command]] = []
    for name, command in sorted(_loaded().items()):
        if isinstance(command, click.Group):
            found += [(f"{name} {sub}", c) for sub, c in sorted(command.commands.items())]
        else:
            found.append((name, command))
    return found


# Commands that by design read no data directory: they check what others publish, offline or remote.
NO_DATA_DIR = {"check-evidence", "log witness"}


@pytest.mark.parametrize(("name", "command"), _commands(), ids=[n for n, _ in _commands()])
def test_every_command_has_help_and_is_in_the_readme(name: str, command: click.Command) -> None:
    assert command.help
    assert f"stablecopy {name}" in README
    if name in NO_DATA_DIR:
        assert not {"--data-dir", "--db"} & {
            o for p in command.params for o in getattr(p, "opts", [])
        }
        return
    assert "--data-dir" in [opt for p in command.params for opt in getattr(p, "opts", [])]
    assert "--db" in [opt for p in command.params for opt in getattr(p, "opts", [])]


def test_every_crawl_option_is_in_the_readme() -> None:
    for param in _loaded()["crawl"].params:
        if isinstance(param, click.Option):
            assert any(opt in README for opt in param.opts), param.opts


def test_no_valid_seed_is_one_error_line(tmp_path: Path) -> None:
    result = run_cli("crawl", "ftp://x.example/", "--data-dir", str(tmp_path))
    assert result.returncode == 1
    assert error_lines(result.stderr) == ["Error: no valid seed URL to crawl"]
    assert "Warning: skipping seed command line: unsupported scheme 'ftp'" in result.stderr
    assert "Traceback" not in result.stderr


def test_unwritable_data_dir_fails_at_start_with_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = run_cli("crawl", "https://news.example/", "--data-dir", str(blocker / "data"))
    assert result.returncode == 1
    (line,) = error_lines(result.stderr)
    assert line.startswith(f"Error: cannot write to the data directory {blocker / 'data'}")
    assert "Traceback" not in result.stderr


def test_bad_catalogue_url_fails_at_start_with_one_line(tmp_path: Path) -> None:
    result = run_cli("crawl", "https://news.example/", "--data-dir", str(tmp_path), "--db", "x:y")
    assert result.returncode == 1
    assert error_lines(result.stderr) == ["Error: not a database URL: 'x:y'"]


@pytest.mark.catalogue
def test_bad_setting_syntax_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli(
        "crawl", "https://news.example/", "--data-dir", str(tmp_path), "-s", "NOEQUALS"
    )
    assert result.returncode == 2
    assert "expected KEY=VALUE" in result.stderr


@pytest.mark.sqlite_only
def test_reading_a_data_dir_that_has_no_catalogue_says_so(tmp_path: Path) -> None:
    result = run_cli("captures", "--data-dir", str(tmp_path / "typo"))
    assert result.returncode == 1
    assert error_lines(result.stderr) == [
        f"Error: no catalogue at {tmp_path / 'typo' / 'stablecopy.db'} (nothing crawled there yet?)"
    ]


@pytest.mark.catalogue
def test_show_unknown_capture_is_one_error_line(tmp_path: Path) -> None:
    open_catalog(DataLayout.create(tmp_path).db_url).dispose()
    result = run_cli("show", "999", "--data-dir", str(tmp_path))
    assert result.returncode == 1
    assert error_lines(result.stderr) == ["Error: there is no capture 999"]


@pytest.mark.sqlite_only
def test_environment_names_the_data_dir_for_the_cli(tmp_path: Path) -> None:
    (tmp_path / "from-env").mkdir()
    open_catalog(DataLayout.create(tmp_path / "from-env").db_url).dispose()
    env = {**os.environ, "STABLECOPY_DATA_DIR": str(tmp_path / "from-env")}
    result = subprocess.run(
        [sys.executable, "-m", "stablecopy", "captures", "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""  # an empty catalogue, found where the environment said
    elsewhere = subprocess.run(
        [sys.executable, "-m", "stablecopy", "captures", "--data-dir", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert elsewhere.returncode == 1  # the option still wins over the environment


def test_version_is_printed() -> None:
    result = run_cli("--version")
    assert re.match(r"stablecopy, version \d+\.\d+", result.stdout)


@pytest.mark.catalogue
def test_sigterm_stops_cleanly_closing_files_and_marking_the_crawl(
    site: SiteServer, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    process = subprocess.Popen(
        [
            sys.executable, "-m", "stablecopy", "crawl", site.url("/"), site.url("/test/slow"),
            "--data-dir", str(data), *FAST, "-s", "DOWNLOAD_TIMEOUT=120",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    layout = DataLayout.create(data)
    deadline = time.monotonic() + 120
    while not list(layout.warc_dir.glob("*.open")) if layout.warc_dir.is_dir() else True:
        assert time.monotonic() < deadline, "the crawl never started writing"
        time.sleep(0.05)
    while site.url("/test/slow").removeprefix(site.base) not in [p for _, p, _ in site.requests]:
        assert time.monotonic() < deadline, "the slow page was never requested"
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Crawl 1 interrupted:" in stderr
    warcs = list(layout.warc_dir.iterdir())
    assert warcs
    assert not [p for p in warcs if p.name.endswith(".open")]
    engine = open_catalog(layout.db_url)
    with engine.connect() as connection:
        assert tuple(connection.execute(select(Crawl.status, Crawl.finish_reason)).one()) == (
            "interrupted",
            "shutdown",
        )
    engine.dispose()


def _lines(stream: IO[str], into: list[str]) -> None:
    into.extend(stream)


def _waited(condition: Callable[[], bool], what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


@pytest.mark.catalogue
def test_ctrl_c_says_what_it_waits_for_and_twice_stops_now_closing_the_file(
    site: SiteServer, tmp_path: Path
) -> None:
    """The first Ctrl-C says what the crawl finishes; the second, with a download stalled for a
    minute, stops now: the WARC file closed and renamed, the crawl interrupted, exit status 130."""
    data = tmp_path / "data"
    stalled = "/test/stall?seconds=90"
    process = subprocess.Popen(
        [
            sys.executable, "-m", "stablecopy", "crawl", site.url("/"), site.url(stalled),
            "--data-dir", str(data), *FAST, "-s", "DOWNLOAD_TIMEOUT=120",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert process.stderr is not None
    stderr: list[str] = []
    reader = threading.Thread(target=_lines, args=(process.stderr, stderr), daemon=True)
    reader.start()
    layout = DataLayout.create(data)
    _waited(lambda: stalled in [p for _, p, _ in site.requests], "the stall was never requested")
    _waited(lambda: bool(list(layout.warc_dir.glob("*.open"))), "nothing was ever written")
    process.send_signal(signal.SIGINT)
    _waited(lambda: any("Ctrl-C again" in line for line in stderr), "no acknowledgement")
    acknowledged = next(line for line in stderr if "Ctrl-C again" in line)
    assert re.search(r"finishing [1-9]\d* request\(s\) in flight", acknowledged)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 130, "".join(stderr)
    reader.join(timeout=10)
    process.stderr.close()
    assert "Traceback" not in "".join(stderr)
    assert "Crawl 1 interrupted:" in "".join(stderr)
    warcs = sorted(layout.warc_dir.iterdir())
    assert warcs
    assert not [p for p in warcs if p.name.endswith(".open")]
    with pytest.raises(SystemExit) as checked:
        warcio_main(["check", *map(str, warcs)])
    assert checked.value.code == 0
    engine = open_catalog(layout.db_url)
    with engine.connect() as connection:
        assert tuple(connection.execute(select(Crawl.status, Crawl.finish_reason)).one()) == (
            "interrupted",
            "shutdown",
        )
        assert connection.execute(select(Capture.url)).scalars().all()  # what was done stays
    engine.dispose()
    verified = run_cli("verify", "--data-dir", str(data))
    assert verified.returncode == 0, verified.stdout + verified.stderr


def _file_size_limit() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, 1_000_000))


@pytest.mark.catalogue
def test_a_failed_warc_write_stops_the_crawl_and_the_exit_status_says_so(
    site: SiteServer, tmp_path: Path
) -> None:
    """A real write failure: the kernel refuses to grow the WARC file past RLIMIT_FSIZE."""
    data = tmp_path / "data"
    result = run_cli(
        "crawl",
        site.url("/"),
        site.url("/test/noise"),
        "--data-dir", str(data),
        *FAST,
        preexec_fn=_file_size_limit,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    (line,) = error_lines(result.stderr)
    assert re.match(
        r"Error: the archive could not be written \(File too large: .*\); the crawl stopped "
        r"\(warc_write_failed\)\. Everything archived before is whole and catalogued",
        line,
    )
    assert result.stderr.count("cannot write the archive while archiving") == 1
    assert "Traceback" not in result.stderr
    layout = DataLayout.create(data)
    warcs = sorted(layout.warc_dir.iterdir())
    for path in warcs:
        assert not path.name.endswith(".open")
        with pytest.raises(SystemExit) as exited:
            warcio_main(["check", str(path)])
        assert exited.value.code == 0
    engine = open_catalog(layout.db_url)
    with engine.connect() as connection:
        rows = connection.execute(select(Capture.record_id, Capture.warc_file)).all()
        crawl = connection.execute(select(Crawl.status, Crawl.finish_reason)).one()
    engine.dispose()
    assert tuple(crawl) == ("failed", "warc_write_failed")
    in_files = {r.headers["WARC-Record-ID"] for path in warcs for r in raw_records(path)}
    assert rows
    assert {record_id for record_id, _ in rows} <= in_files


def test_every_command_is_found_where_the_group_looks_for_it() -> None:
    """The group imports a command's module only when asked: the map it uses names every command
    each module defines, and nothing else."""
    import importlib
    import pkgutil

    import stablecopy.cli
    from stablecopy.cli.group import COMMANDS

    for module in pkgutil.iter_modules(stablecopy.cli.__path__):
        importlib.import_module(f"stablecopy.cli.{module.name}")
    defined = {name: command.callback.__module__ for name, command in cli.commands.items()}
    assert defined == {name: f"stablecopy.cli.{module}" for name, module in COMMANDS.items()}


@pytest.mark.catalogue
def test_a_crawl_that_archived_no_page_is_not_a_success(site: SiteServer, tmp_path: Path) -> None:
    """Refused connections, or every seed disallowed by robots.txt: the crawl finishes, says
    what happened in one line, and exits 1."""
    refused = closed_port_url()
    for seeds, why in (
        ([refused], "2 fetch(es) without an answer"),  # robots.txt and the page
        ([site.url("/private/staff-only.html")], "1 request(s) disallowed by robots.txt"),
    ):
        data = tmp_path / f"data-{len(why)}"
        done = run_cli("crawl", *seeds, "--data-dir", str(data), *FAST, "-s", "RETRY_TIMES=0")
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr
        (line,) = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
        assert line.startswith("Error: no page was archived: ")
        assert why in line
    page = run_cli("crawl", site.url("/about/"), "--data-dir", str(tmp_path / "ok"), *FAST)
    assert page.returncode == 0, page.stderr  # one page is enough

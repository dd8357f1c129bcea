"""Shared test helpers: running the CLI (in this process or a real one), and reading WARC files without warcio."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
import traceback
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator

from tests import warmed

# Commands that run in the pytest process (click's CliRunner): they start no Twisted reactor, which
# runs once per process, and no process of their own that outlives them. The rest (crawl, worker,
# repair, serve, the scheduler) are about processes and run as real ones.
IN_PROCESS = frozenset({"captures", "show", "cite", "history", "diff", "export", "verify"})


def run_cli(*args: str, timeout: float = 300, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """`stablecopy ARGS`, in this process for a read-only command, else in a process of its own
    (forked from a warmed one: tests/warmed.py). Either way without the caller's STABLECOPY_*
    environment, and giving back exit status, stdout and stderr as a process would."""
    command = next((arg for arg in args if not arg.startswith("-")), None)
    if command in IN_PROCESS and not kwargs:
        return _run_in_process(args)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STABLECOPY_")}
    env["COLUMNS"] = "200"
    if set(kwargs) <= {"cwd"}:
        return warmed.run(args, env, kwargs.get("cwd"), timeout)
    return subprocess.run(
        [sys.executable, "-m", "stablecopy", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
        **kwargs,
    )


def _run_in_process(args: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    from click.testing import CliRunner

    from stablecopy.cli import cli

    unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("STABLECOPY_")}
    result = CliRunner().invoke(cli, list(args), prog_name="stablecopy", env=unset)
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        assert result.exc_info is not None
        stderr += "Traceback (most recent call last):\n" + "".join(
            traceback.format_exception(*result.exc_info)
        )
    return subprocess.CompletedProcess(
        ["stablecopy", *args], result.exit_code, result.stdout, stderr
    )


FAST = (
    "-s", "AUTOTHROTTLE_ENABLED=False",
    "-s", "DOWNLOAD_DELAY=0",
    "-s", "STABLECOPY_EXTRACT_WORKERS=1",
)  # fmt: skip


@dataclass
class RawRecord:
    """One record read by hand from its gzip member: the independent oracle beside warcio."""

    offset: int
    length: int
    headers: dict[str, str]
    header_lines: list[tuple[str, str]]
    block: bytes

    @property
    def type(self) -> str:
        return self.headers["WARC-Type"]

    def http_split(self) -> tuple[bytes, bytes]:
        head, _, body = self.block.partition(b"\r\n\r\n")
        return head + b"\r\n\r\n", body


def raw_records(path: Path) -> list[RawRecord]:
    """Every gzip member of a WARC file, parsed without warcio."""
    data = path.read_bytes()
    records = []
    offset = 0
    while offset < len(data):
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        content = inflater.decompress(data[offset:])
        length = len(data) - offset - len(inflater.unused_data)
        head, _, rest = content.partition(b"\r\n\r\n")
        lines = head.decode("utf-8").split("\r\n")
        assert lines[0] == "WARC/1.1", lines[0]
        pairs = [tuple(line.split(": ", 1)) for line in lines[1:]]
        headers = dict(pairs)
        size = int(headers["Content-Length"])
        assert rest[size:] == b"\r\n\r\n", "record must end with CRLF CRLF"
        records.append(RawRecord(offset, length, headers, pairs, rest[:size]))  # type: ignore[arg-type]
        offset += length
    return records


def warcio_records(path: Path) -> list[dict[str, Any]]:
    """Every record as warcio reads it, with digests checked."""
    out = []
    with path.open("rb") as handle:
        for record in ArchiveIterator(handle, check_digests=True):
            payload = record.raw_stream.read()
            out.append(
                {
                    "type": record.rec_type,
                    "headers": dict(record.rec_headers.headers),
                    "http": record.http_headers,
                    "payload": payload,
                    "digest_problems": list(record.digest_checker.problems),
                }
            )
    return out


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def gunzip(data: bytes) -> bytes:
    return gzip.GzipFile(fileobj=io.BytesIO(data)).read()


def peak_rss_kb(*args: str) -> int:
    """Peak resident memory (KiB) of `stablecopy ARGS` run in a fresh process; it must succeed.

    Read from VmHWM, the high-water mark of the process's own memory since it started: its
    ru_maxrss would also count the memory of the pytest process it was forked from."""
    script = (
        "import atexit, sys\n"
        "from stablecopy.cli import main\n"
        "def peak():\n"
        "    with open('/proc/self/status') as status:\n"
        "        print(next(line.split()[1] for line in status if line.startswith('VmHWM:')))\n"
        "atexit.register(peak)\n"  # main() ends the process: the exit handlers still run
        f"sys.argv = ['stablecopy', *{list(args)!r}]\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return int(done.stdout.split()[-1])

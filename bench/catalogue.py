"""The catalogue-scale round: replay, selective export and verify over catalogues grown to millions.

A real crawl's catalogue is grown by copying its capture rows (each copy under a host of its own,
`copy-K.example`, a day earlier per copy) to two sizes an order of magnitude apart. Each copy has
WARC files of its own: hard links to the crawl's files under names of their own, catalogued as
closed files, so the records still resolve and the number of files grows with the catalogue as it
does in an archive. At each size it times `serve` from start to its first answer (twice), its
idle CPU, how long a new capture takes to replay, `export --wacz --url-prefix` and
`export --jsonl --since` of a selection whose size does not grow, `verify --url`, and a one-page
crawl (its repair at start included). Reported as a table with the growth ratio from the smaller
to the larger size.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bench.measure import run

SERVE_LINE = re.compile(r"Replaying archive at (http://\S+/archive/)")
IDLE_SECONDS = 20.0
COLUMNS = (
    "crawl_id, url, url_key, method, status, content_type, fetched_at, record_type, "
    "payload_sha256, payload_digest, block_digest, payload_length, truncated, ip_address, "
    "redirect_to, warc_file, warc_offset, warc_length, record_id, request_record_id, "
    "request_offset, request_length, short_id, revisit_profile, refers_to_id, etag, last_modified"
)


@dataclass
class Point:
    size: int
    seconds: dict[str, float] = field(default_factory=dict)
    rss_mb: dict[str, float] = field(default_factory=dict)
    idle_core_share: float = 0.0


FILE_COLUMNS = "crawl_id, size, sha256, records, opened_at, closed_at"


def _copied_file(copy: int) -> str:
    """SQL for a base row's WARC path under copy `copy`'s own name (a hard link beside it)."""
    return f"replace(warc_file, 'warcs/', 'warcs/copy-{copy}-')"


def _copy_sql(host: str, copy: int) -> str:
    """The base rows again, under http://copy-N.example, `copy` days earlier, with new ids, in
    the copy's own WARC files."""
    new_host = f"copy-{copy}.example"
    return (
        f"INSERT INTO captures ({COLUMNS}) SELECT crawl_id, "
        f"'http://{new_host}' || substr(url, length('http://{host}') + 1), "
        f"'example,copy-{copy})' || substr(url_key, instr(url_key, ')') + 1), "
        "method, status, content_type, "
        f"strftime('%Y-%m-%d %H:%M:%S', fetched_at, '-{copy} days') || substr(fetched_at, 20), "
        "record_type, payload_sha256, payload_digest, block_digest, payload_length, truncated, "
        f"ip_address, redirect_to, {_copied_file(copy)}, warc_offset, warc_length, "
        f"record_id || '-{copy}', request_record_id || '-{copy}', request_offset, "
        "request_length, NULL, revisit_profile, NULL, etag, last_modified "
        f"FROM captures WHERE id <= :base AND url LIKE 'http://{host}/%'"
    )


def _link_files(db: sqlite3.Connection, data: Path, copy: int) -> int:
    """Copy `copy`'s WARC files: a hard link to each base file the copied rows point at, and its
    closed-file row; how many."""
    paths = [row[0] for row in db.execute("SELECT path FROM warc_files WHERE id <= :base_file",
                                          {"base_file": _base_file(db)})]  # fmt: skip
    for path in paths:
        source = data / path
        os.link(source, source.with_name(f"copy-{copy}-{source.name}"))
    db.execute(
        f"INSERT INTO warc_files (path, {FILE_COLUMNS}) SELECT "
        f"replace(path, 'warcs/', 'warcs/copy-{copy}-'), {FILE_COLUMNS} "
        "FROM warc_files WHERE id <= :base_file",
        {"base_file": _base_file(db)},
    )
    return len(paths)


def _base_file(db: sqlite3.Connection) -> int:
    row = db.execute("SELECT max(id) FROM warc_files WHERE path NOT LIKE 'warcs/copy-%'").fetchone()
    return int(row[0] or 0)


def grow(source: Path, target: Path, host: str, size: int) -> tuple[int, int]:
    """A copy of the data directory `source` whose catalogue holds about `size` captures: the
    number of captures and of WARC files it holds."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("replay", "logs"))
    with sqlite3.connect(target / "stablecopy.db") as db:
        base = int(db.execute("SELECT max(id) FROM captures").fetchone()[0])
        copy = 0
        while int(db.execute("SELECT count(*) FROM captures").fetchone()[0]) < size:
            copy += 1
            _link_files(db, target, copy)
            db.execute(_copy_sql(host, copy), {"base": base})
            db.commit()
        captures = int(db.execute("SELECT count(*) FROM captures").fetchone()[0])
        return captures, int(db.execute("SELECT count(*) FROM warc_files").fetchone()[0])


def _tree_cpu(pid: int) -> float:
    """CPU seconds of `pid` and its descendants so far."""
    total, ticks = 0.0, os.sysconf("SC_CLK_TCK")
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError, IndexError):
            continue
    return total


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _wait(url: str, limit: float = 600) -> float:
    started = time.perf_counter()
    while not _answers(url):
        if time.perf_counter() - started > limit:
            raise SystemExit(f"no answer from {url} within {limit:.0f} s")
        time.sleep(0.05)
    return time.perf_counter() - started


class Serving:
    """`stablecopy serve` over a data directory, for as long as the block lasts."""

    def __init__(self, data: Path, log: Path) -> None:
        self.started = time.perf_counter()
        self._log = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "stablecopy", "serve", "--port", "0", "--data-dir", str(data)],
            stdout=subprocess.PIPE,
            stderr=self._log,
            stdin=subprocess.DEVNULL,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode("utf-8", "replace")
        match = SERVE_LINE.search(line)
        if match is None:
            raise SystemExit(f"stablecopy serve did not start: see {log}")
        self.base = match.group(1)

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)
        self._log.close()


def _replay_url(base: str, stamp: str, url: str) -> str:
    return f"{base}{stamp}id_/{url}"


def measure(data: Path, work: Path, size: int, probe: tuple[str, str], host: str) -> Point:
    """Every figure of the round at one size (`probe`: a capture's 14-digit time and URL)."""
    point = Point(size)
    stamp, url = probe
    serving = Serving(data, work / f"serve-{size}.log")
    _wait(_replay_url(serving.base, stamp, url))
    point.seconds["serve, start to first answer"] = time.perf_counter() - serving.started
    cpu = _tree_cpu(serving.process.pid)
    time.sleep(IDLE_SECONDS)
    point.idle_core_share = (_tree_cpu(serving.process.pid) - cpu) / IDLE_SECONDS
    fresh = f"http://copy-new-{size}.example/just/catalogued.html"
    with sqlite3.connect(data / "stablecopy.db") as db:
        db.execute(
            f"INSERT INTO captures ({COLUMNS}) SELECT crawl_id, ?, 'example,copy-new-{size})/just/"
            "catalogued.html', method, status, content_type, fetched_at, record_type, "
            "payload_sha256, payload_digest, block_digest, payload_length, truncated, ip_address, "
            "redirect_to, warc_file, warc_offset, warc_length, record_id || '-new', "
            "request_record_id || '-new', request_offset, request_length, NULL, revisit_profile, "
            "NULL, etag, last_modified FROM captures WHERE url = ? LIMIT 1",
            (fresh, url),
        )
    point.seconds["a new capture, until it replays"] = _wait(
        _replay_url(serving.base, stamp, fresh)
    )
    serving.close()
    again = Serving(data, work / f"serve-again-{size}.log")
    _wait(_replay_url(again.base, stamp, url))
    point.seconds["serve, started again"] = time.perf_counter() - again.started
    again.close()
    commands = {
        "export --wacz --url-prefix": [
            "export", "--wacz", str(work / f"prefix-{size}.wacz"), "--url-prefix",
            f"http://{host}/news/",
        ],
        "export --jsonl --since": [
            "export", "--jsonl", str(work / f"since-{size}.jsonl"), "--since", _an_hour_before(stamp),
        ],
        "verify --url": ["verify", "--url", url],
        "crawl of one page (repair at start)": ["crawl", url, "-s", "ROBOTSTXT_OBEY=false"],
    }  # fmt: skip
    for name, args in commands.items():
        usage = run([sys.executable, "-m", "stablecopy", *args, "--data-dir", str(data)],
                    work / f"{name.split()[0]}-{size}.log")  # fmt: skip
        point.seconds[name] = usage.wall_s
        point.rss_mb[name] = usage.main_rss_mb
    return point


def _an_hour_before(stamp: str) -> str:
    hour = int(stamp[8:10])
    return f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}T{max(hour - 1, 0):02d}:{stamp[10:12]}:00"


def catalogue_round(crawled: Path, work: Path, host: str, sizes: list[int]) -> list[Point]:
    """The round over the crawl in `crawled` (served at `host`), grown to each of `sizes`."""
    with sqlite3.connect(crawled / "stablecopy.db") as db:
        moment, url = db.execute(
            "SELECT fetched_at, url FROM captures WHERE status = 200 AND content_type LIKE "
            "'text/html%' AND url LIKE '%/news/%' ORDER BY id DESC LIMIT 1"
        ).fetchone()
    stamp = re.sub(r"\D", "", moment)[:14]
    points = []
    for size in sizes:
        data = work / f"catalogue-{size}"
        count, warcs = grow(crawled, data, host, size)
        print(f"  catalogue of {count} captures in {warcs} WARC files", flush=True)
        point = measure(data, work, count, (stamp, url), host)
        print(f"  {point}", flush=True)
        points.append(point)
        shutil.rmtree(data, ignore_errors=True)
    return points


def catalogue_table(points: list[Point]) -> list[str]:
    small, large = points[0], points[-1]
    lines = [
        f"| at scale | {small.size:,} captures | {large.size:,} captures | growth |",
        "|---|---:|---:|---:|",
    ]
    for name in small.seconds:
        a, b = small.seconds[name], large.seconds[name]
        lines.append(f"| {name} (s) | {a:.2f} | {b:.2f} | {b / max(a, 1e-9):.2f}x |")
    a, b = small.idle_core_share, large.idle_core_share
    lines.append(f"| serve idle, share of a core | {a:.1%} | {b:.1%} | |")
    for name in small.rss_mb:
        lines.append(f"| {name}, peak RSS (MB) | {small.rss_mb[name]:.0f} | "
                     f"{large.rss_mb[name]:.0f} | |")  # fmt: skip
    return lines

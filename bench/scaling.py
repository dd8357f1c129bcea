"""The scaling run: one shared crawl of the site by 1, 2 and 4 worker processes on this machine.

The first process is `stablecopy crawl --redis` (it pushes the seed), the others `stablecopy worker`
joining it; all share one Redis frontier and one SQLite catalogue (the embedded default, WAL).
Pages/s is counted from what nginx served; efficiency is pages/s over N times the 1-worker figure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.measure import children_cpu_since
from bench.report import Sample
from bench.rounds import DEPTH, SCRAPY_SPEED, settings_args
from bench.site import NewsSite

READY_LINE = "Shared crawl "


@dataclass(frozen=True)
class ScalePoint:
    """One shared crawl of the whole site by `workers` processes (main_rss_mb: not sampled)."""

    workers: int
    sample: Sample
    exit_codes: tuple[int, ...]


def _start(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )


def _wait_for_line(log: Path, process: subprocess.Popen[bytes], limit: float = 120) -> None:
    deadline = time.monotonic() + limit
    while READY_LINE not in log.read_text("utf-8", "replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the shared crawl did not start: see {log}")
        time.sleep(0.05)


def shared_crawl(site: NewsSite, work: Path, workers: int, redis_url: str) -> ScalePoint:
    """Crawl the whole site once with `workers` processes sharing one frontier."""
    out = work / f"scale-{workers}w"
    shutil.rmtree(out, ignore_errors=True)  # a fresh catalogue: the crawl is crawl 1
    common = ["--redis", redis_url, "--data-dir", str(out), *settings_args(SCRAPY_SPEED)]
    site.fetched_since_mark()
    before = os.times()
    started = time.perf_counter()
    first_log = work / f"scale-{workers}w-0.log"
    first = _start([sys.executable, "-m", "stablecopy", "crawl", site.base + "/", "--follow",
                    "--depth", DEPTH, *common], first_log)  # fmt: skip
    _wait_for_line(first_log, first)
    worker = [sys.executable, "-m", "stablecopy", "worker", "--crawl", "1", *common]
    others = [_start(worker, work / f"scale-{workers}w-{n}.log") for n in range(1, workers)]
    processes = [first, *others]
    codes = tuple(process.wait() for process in processes)
    wall = time.perf_counter() - started
    cpu = children_cpu_since(before, [process.pid for process in processes])
    pages = site.fetched_since_mark().pages
    sample = Sample(pages=pages, wall_s=wall, cpu_s=cpu, main_rss_mb=0.0, fetched_mb=0.0,
                    written_mb=0.0, exit_code=max(codes, key=abs))  # fmt: skip
    print(f"  {workers} worker(s) {pages:>6} pages {wall:7.1f} s {sample.pages_per_s:7.1f} "
          f"pages/s {sample.cpu_ms_per_page:6.1f} CPU ms/page  exit {codes}", flush=True)  # fmt: skip
    return ScalePoint(workers, sample, codes)


def scaling_table(points: list[ScalePoint]) -> list[str]:
    """Markdown lines: pages/s, speed-up and efficiency against the one-worker run."""
    if not points:
        return []
    base = points[0].sample.pages_per_s / points[0].workers
    lines = [
        "| workers | pages | wall s | pages/s | speed-up | efficiency | CPU ms/page | exit codes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for point in points:
        run = point.sample
        speedup = run.pages_per_s / base if base else 0.0
        lines.append(
            f"| {point.workers} | {run.pages} | {run.wall_s:.1f} | {run.pages_per_s:.1f} | "
            f"{speedup:.2f}× | {speedup / point.workers:.0%} | {run.cpu_ms_per_page:.1f} | "
            f"{' '.join(map(str, point.exit_codes))} |"
        )
    return lines

"""`stablecopy` commands in processes of their own, forked from a warmed one.

A crawl is a process (the Twisted reactor runs once per process), but most of a short crawl's
process is its imports: 1.5 s of Scrapy, Twisted, SQLAlchemy and stablecopy before the first
request. Each test process keeps one multiprocessing forkserver with those modules imported
(never the reactor: the crawl installs its own); a command forked from it is a fresh process, with
the test's environment, working directory and its own stdout and stderr, that runs the CLI's `main`
as `python -m stablecopy` would. Tests about processes themselves (signals, kills, `python -m`)
still start real interpreters with subprocess.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import tempfile
from multiprocessing import forkserver
from pathlib import Path

# What a crawl or repair imports before its reactor starts.
PRELOAD = [
    "tests.warmed", "tests.catalogueprobe",
    "stablecopy.cli.crawl", "stablecopy.cli.repair", "stablecopy.cli.schedules",
    "stablecopy.crawl.runner", "stablecopy.spiders.articles", "stablecopy.archive.capture",
    "stablecopy.catalog.recorder", "stablecopy.pipelines.extraction", "stablecopy.crawl.progress",
    "stablecopy.crawl.frozenheap", "stablecopy.crawl.addon", "stablecopy.replay.guard",
    "stablecopy.frontier.spilling", "stablecopy.storage.uploader", "scrapy.crawler",
    "scrapy.core.engine", "scrapy.core.scheduler", "scrapy.core.downloader.handlers.http11",
    "scrapy.core.downloader.handlers.datauri", "scrapy.core.downloader.handlers.file",
    "scrapy.robotstxt", "scrapy.downloadermiddlewares.robotstxt",
    "scrapy.downloadermiddlewares.httpcompression", "stablecopy.crawl.decoding",
    "scrapy.downloadermiddlewares.redirect",
    "scrapy.downloadermiddlewares.retry", "scrapy.downloadermiddlewares.cookies",
    "scrapy.downloadermiddlewares.offsite", "scrapy.downloadermiddlewares.stats",
    "scrapy.spidermiddlewares.depth", "scrapy.spidermiddlewares.referer",
    "scrapy.spidermiddlewares.urllength", "scrapy.extensions.memusage",
    "scrapy.extensions.logstats", "alembic.command", "alembic.runtime.migration",
]  # fmt: skip


def start() -> None:
    """Start this process's forkserver with the crawl's modules imported (before anything else
    starts it without them: verify's reader pool shares it)."""
    multiprocessing.set_forkserver_preload(PRELOAD)
    forkserver.ensure_running()


def run(
    args: tuple[str, ...], env: dict[str, str], cwd: str | Path | None, timeout: float
) -> subprocess.CompletedProcess[str]:
    """`stablecopy ARGS` in a forked process; what subprocess.run would give back."""
    context = multiprocessing.get_context("forkserver")
    with tempfile.TemporaryDirectory(prefix="sctest-cli-") as scratch:
        out, err = Path(scratch, "stdout"), Path(scratch, "stderr")
        out.touch()
        err.touch()
        process = context.Process(
            target=_main, args=(list(args), env, str(cwd) if cwd else None, str(out), str(err))
        )
        process.start()
        process.join(timeout)
        if process.exitcode is None:
            process.kill()
            process.join()
            raise subprocess.TimeoutExpired(["stablecopy", *args], timeout)
        stdout = out.read_bytes().decode("utf-8", "replace")
        stderr = err.read_bytes().decode("utf-8", "replace")
    return subprocess.CompletedProcess(["stablecopy", *args], process.exitcode, stdout, stderr)


def _main(argv: list[str], env: dict[str, str], cwd: str | None, out: str, err: str) -> None:
    """In the forked process: the test's environment and folder, its own output files, then the
    CLI exactly as `python -m stablecopy` runs it."""
    os.environ.clear()
    os.environ.update(env)
    if cwd:
        os.chdir(cwd)
    from tests import catalogueprobe

    catalogueprobe.point_at(env.get(catalogueprobe.ENV))
    for fd, path in ((1, out), (2, err)):
        target = os.open(path, os.O_WRONLY | os.O_TRUNC)
        os.dup2(target, fd)
        os.close(target)
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)  # noqa: SIM115
    sys.argv = ["stablecopy", *argv]
    from stablecopy.cli import main

    main()

"""Where a scheduled run's crawl runs: the interface the scheduler drives, and local subprocesses.

The scheduler starts a run through a Launcher and then only polls, stops, kills and waits for the
RunProcess it got back; stablecopy.schedule.scrapyd is the other launcher, for Scrapyd nodes.
"""

from __future__ import annotations

import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from stablecopy.layout import DataLayout


@dataclass(frozen=True)
class RunStart:
    """What a launcher needs to start one run: its crawl row, whether it continues an
    interrupted run, and the `stablecopy crawl` command line that does it on this machine."""

    crawl_id: int
    resume: bool
    command: list[str]


class RunProcess(Protocol):
    """A started crawl, wherever it runs."""

    def poll(self) -> int | None:
        """None while it runs; then its exit status (negative: killed by that signal)."""

    def wait(self) -> int:
        """Block until it has ended; its exit status."""

    def stop(self) -> None:
        """Ask it to stop cleanly (it closes its WARC files and marks its run interrupted)."""

    def kill(self) -> None:
        """End it at once."""

    def failure(self, returncode: int) -> str:
        """Why it failed, in one line, for a run whose crawl did not say so itself."""


class Launcher(Protocol):
    """Starts runs."""

    def launch(self, start: RunStart) -> RunProcess: ...


class FailedStart:
    """A run a launcher could not start (no node took it, say): it ends at once, and the run is
    recorded as failed with `reason` (a RunProcess)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def poll(self) -> int:
        return 1

    def wait(self) -> int:
        return 1

    def stop(self) -> None:
        return None

    def kill(self) -> None:
        return None

    def failure(self, returncode: int) -> str:
        return self.reason


def log_path(layout: DataLayout, crawl_id: int) -> Path:
    """Where a scheduled run's console output goes when it runs on this machine."""
    return layout.log_dir / f"run-{crawl_id}.log"


class LocalRun:
    """A crawl in a subprocess of the scheduler."""

    def __init__(self, process: subprocess.Popen[bytes], log: Path | None) -> None:
        self.process = process
        self.log = log

    def poll(self) -> int | None:
        return self.process.poll()

    def wait(self) -> int:
        return self.process.wait()

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.process.kill()

    def failure(self, returncode: int) -> str:
        if self.log is not None and self.log.exists():
            lines = self.log.read_text("utf-8", errors="replace").splitlines()
            errors = [line for line in lines if line.startswith("Error:")]
            if errors:
                return errors[-1].removeprefix("Error:").strip()
        return f"the crawl process exited with status {returncode}"


class LocalLauncher:
    """Runs each crawl as a `stablecopy crawl` subprocess in its own session, so signals reach it
    from the scheduler only. Its console output goes to the scheduler's terminal (foreground) or
    to logs/run-<crawl id>.log."""

    def __init__(self, layout: DataLayout, foreground: bool = False) -> None:
        self.layout = layout
        self.foreground = foreground

    def launch(self, start: RunStart) -> RunProcess:
        if self.foreground:
            return LocalRun(subprocess.Popen(start.command, start_new_session=True), None)
        self.layout.log_dir.mkdir(parents=True, exist_ok=True)
        log = log_path(self.layout, start.crawl_id)
        with log.open("ab") as output:  # the child keeps its own copy
            process = subprocess.Popen(
                start.command,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        return LocalRun(process, log)

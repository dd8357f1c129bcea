"""One measured run of a command: wall time, CPU of its whole process tree, peak memory."""

from __future__ import annotations

import ctypes
import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36
SAMPLE_INTERVAL = 0.05
SERVERS = (b"nginx", b"redis-server")  # our own children, running for the whole benchmark


@dataclass(frozen=True)
class Usage:
    wall_s: float
    cpu_s: float  # user + system, the command and every process it started
    main_rss_mb: float  # peak resident memory of the command's own process
    exit_code: int


def become_subreaper() -> None:
    """Processes orphaned by a measured command (worker pools, forkservers) come to us to be
    reaped, so their CPU time is counted in RUSAGE_CHILDREN."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


def _peak_rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _reap_orphans() -> None:
    """Wait for every descendant the measured command left behind (not our own servers, which
    are direct children we keep: those are skipped because they still run)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def run(command: list[str], log: Path, env: dict[str, str] | None = None,
        cwd: Path | None = None) -> Usage:  # fmt: skip
    """Run `command` to its end, its output to `log`."""
    before = os.times()
    started = time.perf_counter()
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, cwd=cwd,
        )  # fmt: skip
        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, _peak_rss_kb(process.pid))
                done.wait(SAMPLE_INTERVAL)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = process.wait()
        done.set()
        sampler.join()
    wall = time.perf_counter() - started
    return Usage(wall_s=wall, cpu_s=children_cpu_since(before, [process.pid]),
                 main_rss_mb=peak / 1024, exit_code=code)  # fmt: skip


def children_cpu_since(before: os.times_result, ended: list[int]) -> float:
    """CPU seconds (user + system) of every process started since `before`: the commands `ended`
    (already waited for) and whatever they left running, waited for here first."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # workers a pool did not wait for end on their own
        _reap_orphans()
        if not _has_orphans(ended):
            break
        time.sleep(0.1)
    after = os.times()
    return (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )


def _has_orphans(ended: list[int]) -> bool:
    """True while a process started by the commands `ended` still runs under us."""
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in ended:
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        cmdline = (entry / "cmdline").read_bytes() if parent == me else b""
        if parent == me and not any(server in cmdline for server in SERVERS):
            return True
    return False

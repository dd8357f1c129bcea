"""Processes as a crash-safe program handles them: whether one still runs (zombies count as gone),
when to end with another, and starting children that leave Ctrl-C to their parent."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

WATCH_INTERVAL = 1.0  # seconds between checks on a watched process


def is_running(pid: int) -> bool:
    """True while `pid` runs on this machine. A killed process nobody has reaped yet (a zombie)
    is gone all the same."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def exit_with(pid: int) -> None:
    """End this process (at once, without cleanup) soon after process `pid` has gone: for worker
    processes whose parent may be killed outright, which would otherwise live on as orphans."""

    def watch() -> None:
        while is_running(pid):
            time.sleep(WATCH_INTERVAL)
        os._exit(0)

    threading.Thread(target=watch, name=f"exit-with-{pid}", daemon=True).start()


@contextmanager
def interrupts_ignored() -> Iterator[None]:
    """Ctrl-C ignored while child processes start: they start ignoring it too (a forkserver
    started meanwhile never prints a traceback of its own), and the caller's handling is back
    afterwards; a Ctrl-C within the block itself (the tenth of a second a forkserver takes to
    start) is lost. Only the main thread may change it; elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)

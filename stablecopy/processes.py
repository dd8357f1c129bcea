"""Whether a process still runs, as a crash-safe program needs to know it (zombies count as gone)."""

from __future__ import annotations

import os
import threading
import time
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

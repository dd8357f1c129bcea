"""Notifications at the end of a scheduled run: its summary as JSON, POSTed to a webhook or given to a
command on standard input.

A notification that fails is reported, never fatal: the run is already archived and catalogued.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
from typing import Any

from stablecopy import __version__

TIMEOUT = 15  # seconds, for the webhook and for the command


class NotifyError(RuntimeError):
    """A webhook or command that did not take the notification."""


def post_json(url: str, report: dict[str, Any], timeout: float = TIMEOUT) -> None:
    """POST `report` as JSON; NotifyError unless the server answers 2xx."""
    if not url.lower().startswith(("http://", "https://")):
        raise NotifyError(f"not an http(s) webhook URL: {url!r}")
    request = urllib.request.Request(
        url,
        data=json.dumps(report, ensure_ascii=False).encode("utf-8"),
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": f"stablecopy/{__version__}",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        raise NotifyError(f"webhook {url} answered {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise NotifyError(f"webhook {url} unreachable: {reason}") from exc


def run_command(command: str, report: dict[str, Any], timeout: float = TIMEOUT) -> None:
    """Run `command` with a shell, the report as JSON on its standard input and its main facts in
    STABLECOPY_RUN_* environment variables; NotifyError unless it exits 0."""
    env = dict(os.environ)
    for key in ("schedule", "crawl_id", "status", "new", "changed", "unchanged", "failed"):
        env[f"STABLECOPY_RUN_{key.upper()}"] = str(report.get(key, ""))
    try:
        finished = subprocess.run(
            command,
            shell=True,
            input=json.dumps(report, ensure_ascii=False),
            text=True,
            capture_output=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise NotifyError(f"notify command timed out after {timeout:g} s: {command}") from exc
    except OSError as exc:
        raise NotifyError(f"notify command could not start: {exc}") from exc
    if finished.returncode != 0:
        said = (finished.stderr or finished.stdout).strip().splitlines()
        detail = f": {said[-1]}" if said else ""
        raise NotifyError(f"notify command exited {finished.returncode}{detail}")

"""Where signed tree heads go so that others can keep them: a JSON-lines file and a webhook.

A witness that keeps every head it was given can later ask for a consistency proof between any
two and so detect a rewritten history. Publishing never stops a crawl: a failure is one log line.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

WEBHOOK_TIMEOUT = 10.0


def append_line(path: Path, head: dict[str, Any]) -> None:
    """Add the head as one JSON line, durably (the file is the witness's record)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(head, sort_keys=True) + "\n")
        out.flush()
        os.fsync(out.fileno())


def post(url: str, head: dict[str, Any]) -> None:
    body = json.dumps(head, sort_keys=True).encode("utf-8")
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT):
        pass


def publish(head: dict[str, Any], file: str = "", webhook: str = "") -> list[str]:
    """Publish a head to the file and webhook configured; returns what failed, one line each."""
    failures = []
    if file:
        try:
            append_line(Path(file), head)
        except OSError as exc:
            failures.append(f"cannot append the tree head to {file}: {exc.strerror or exc}")
    if webhook:
        try:
            post(webhook, head)
        except urllib.error.HTTPError as exc:
            failures.append(f"the tree-head webhook {webhook} answered HTTP {exc.code}")
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            failures.append(
                f"cannot reach the tree-head webhook {webhook}: {getattr(exc, 'reason', exc)}"
            )
    for failure in failures:
        logger.warning("%s", failure)
    return failures

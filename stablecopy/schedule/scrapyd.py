"""Scheduled runs as Scrapyd jobs: the launcher that hands each run to the least busy Scrapyd node.

A node runs stablecopy's Scrapy project (installed with pip and named in scrapyd.conf's [settings],
or deployed as an egg with scrapyd-deploy). A job gets only its crawl id, the data directory and the
catalogue URL as settings: STABLECOPY_RUN_STORED makes it take its seeds and settings from the crawl
row the scheduler made. Its state comes from status.json; stopping is cancel.json with SIGTERM.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode, urlsplit, urlunsplit
from urllib.request import Request, urlopen

from stablecopy.crawl.runner import SPIDER
from stablecopy.schedule.launcher import FailedStart, RunProcess, RunStart

TIMEOUT = 30.0  # seconds for one call to a node
GONE_AFTER = 2  # polls in a row on which a node no longer knows a job before it counts as ended
UNREACHABLE_WAIT = 60.0  # seconds `wait` tries an unreachable node before giving a job up


class ScrapydError(Exception):
    """A Scrapyd node could not be reached, or refused a call; the message says which and why."""


class ScrapydNode:
    """One Scrapyd server's JSON API. Credentials in the URL (http://user:pass@host:6800) are sent
    as HTTP basic authentication and never shown."""

    def __init__(self, url: str, timeout: float = TIMEOUT) -> None:
        parts = urlsplit(url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ScrapydError(f"not a Scrapyd URL: {url!r} (expected http://host:6800)")
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        self.url = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
        self.timeout = timeout
        self._auth = None
        if parts.username:
            secret = f"{parts.username}:{parts.password or ''}".encode()
            self._auth = "Basic " + base64.b64encode(secret).decode()

    def __str__(self) -> str:
        return self.url

    def call(self, endpoint: str, post: bool = False, **params: Any) -> dict[str, Any]:
        """The JSON answer of `endpoint`; ScrapydError if it cannot be had or says `error`."""
        query = urlencode(params, doseq=True)
        url = f"{self.url}/{endpoint}"
        request = (
            Request(url, data=query.encode(), method="POST")
            if post
            else Request(f"{url}?{query}" if query else url)
        )
        if self._auth:
            request.add_header("Authorization", self._auth)
        try:
            with urlopen(request, timeout=self.timeout) as response:
                answer = json.loads(response.read())
        except HTTPError as exc:
            raise ScrapydError(f"Scrapyd at {self.url} answered {endpoint} with {exc}") from exc
        except (URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ScrapydError(f"Scrapyd at {self.url} cannot be reached: {reason}") from exc
        except ValueError as exc:
            raise ScrapydError(f"Scrapyd at {self.url} sent no JSON for {endpoint}") from exc
        if answer.get("status") != "ok":
            why = answer.get("message", answer)
            raise ScrapydError(f"Scrapyd at {self.url} refused {endpoint}: {why}")
        return dict(answer)

    def load(self) -> int:
        """Jobs running or waiting on this node."""
        answer = self.call("daemonstatus.json")
        return int(answer.get("running", 0)) + int(answer.get("pending", 0))

    def spiders(self, project: str) -> list[str]:
        return [str(name) for name in self.call("listspiders.json", project=project)["spiders"]]

    def schedule(self, project: str, job: str, settings: dict[str, str]) -> None:
        self.call(
            "schedule.json",
            post=True,
            project=project,
            spider=SPIDER,
            jobid=job,
            setting=[f"{key}={value}" for key, value in settings.items()],
        )

    def state(self, project: str, job: str) -> str | None:
        """pending, running, finished, or None when the node does not know the job (any more)."""
        state = self.call("status.json", project=project, job=job).get("currstate")
        return str(state) if state else None

    def cancel(self, project: str, job: str, signal: str) -> None:
        self.call("cancel.json", post=True, project=project, job=job, signal=signal)

    def log_url(self, project: str, job: str) -> str:
        return f"{self.url}/logs/{project}/{SPIDER}/{job}.log"


class ScrapydJob:
    """A run as a job on a Scrapyd node (a RunProcess). Exit status: 0 once the node says it
    finished (the crawl row says how), -1 when the node no longer knows it (restarted, say)."""

    def __init__(
        self,
        node: ScrapydNode,
        project: str,
        job: str,
        say: Callable[[str], None],
        pause: Callable[[float], object] = time.sleep,
    ) -> None:
        self.node = node
        self.project = project
        self.job = job
        self.say = say
        self.pause = pause
        self.returncode: int | None = None
        self._unknown = 0
        self._unreachable = False

    def poll(self) -> int | None:
        if self.returncode is not None:
            return self.returncode
        try:
            state = self.node.state(self.project, self.job)
        except ScrapydError as exc:
            if not self._unreachable:
                self.say(f"Warning: cannot follow job {self.job}: {exc}; trying again.")
                self._unreachable = True
            return None
        self._unreachable = False
        self._unknown = self._unknown + 1 if state is None else 0
        if state == "finished":
            self.returncode = 0
        elif self._unknown >= GONE_AFTER:
            self.returncode = -1
        return self.returncode

    def wait(self) -> int:
        since = time.monotonic()
        while (code := self.poll()) is None:
            if self._unreachable and time.monotonic() - since > UNREACHABLE_WAIT:
                self.returncode = -1
                return -1
            self.pause(1.0)
        return code

    def _cancel(self, signal: str) -> None:
        try:
            self.node.cancel(self.project, self.job, signal)
        except ScrapydError as exc:
            self.say(f"Warning: cannot stop job {self.job}: {exc}")

    def stop(self) -> None:
        self._cancel("TERM")

    def kill(self) -> None:
        self._cancel("KILL")

    def failure(self, returncode: int) -> str:
        if returncode == -1:
            return f"Scrapyd at {self.node} lost job {self.job} before its crawl ended (restarted?)"
        return (
            f"the crawl ended without closing its run (Scrapyd job {self.job} on {self.node}; "
            f"its log: {self.node.log_url(self.project, self.job)})"
        )


class ScrapydLauncher:
    """Starts each run as a job on the node with the fewest jobs running or pending.

    Args:
        urls: the Scrapyd nodes.
        project: the name stablecopy's project has on them.
        data_dir: the data directory as the nodes see it (their WARC files go there).
        db_url: the catalogue as the nodes reach it (PostgreSQL for nodes on other machines).
        say: where warnings go.
    """

    def __init__(
        self,
        urls: list[str],
        project: str,
        data_dir: str,
        db_url: str,
        say: Callable[[str], None] = print,
        pause: Callable[[float], object] = time.sleep,
    ) -> None:
        if not urls:
            raise ScrapydError("dispatching to Scrapyd needs at least one --scrapyd URL")
        self.nodes = [ScrapydNode(url) for url in urls]
        self.project = project
        self.data_dir = data_dir
        self.db_url = db_url
        self.say = say
        self.pause = pause

    def check(self) -> None:
        """Every node that answers runs stablecopy's project; ScrapydError if one does not, or if
        none answers. A node that is down now is only warned about: it may be back later."""
        reachable = 0
        for node in self.nodes:
            try:
                spiders = node.spiders(self.project)
            except ScrapydError as exc:
                if "not found" in str(exc):
                    raise ScrapydError(
                        f"Scrapyd at {node} has no project {self.project!r}: install stablecopy "
                        f"there and add `{self.project} = stablecopy.settings` under [settings] in "
                        "its scrapyd.conf, or deploy it with scrapyd-deploy"
                    ) from exc
                self.say(f"Warning: {exc}")
                continue
            if SPIDER not in spiders:
                raise ScrapydError(
                    f"project {self.project!r} on Scrapyd at {node} has no {SPIDER!r} spider "
                    f"(it has {', '.join(spiders) or 'none'}): is it stablecopy?"
                )
            reachable += 1
        if not reachable:
            raise ScrapydError("no Scrapyd node answers: " + ", ".join(map(str, self.nodes)))

    def job_settings(self, start: RunStart) -> dict[str, str]:
        settings = {
            "STABLECOPY_CRAWL_ID": str(start.crawl_id),
            "STABLECOPY_RUN_STORED": "True",
            "STABLECOPY_DATA_DIR": self.data_dir,
            "STABLECOPY_DB_URL": self.db_url,
        }
        if start.resume:
            settings["STABLECOPY_RESUME"] = "True"
        return settings

    def _by_load(self) -> list[ScrapydNode]:
        loads: list[tuple[int, int, ScrapydNode]] = []
        for order, node in enumerate(self.nodes):
            try:
                loads.append((node.load(), order, node))
            except ScrapydError as exc:
                self.say(f"Warning: {exc}")
        return [node for _, _, node in sorted(loads)]

    def launch(self, start: RunStart) -> RunProcess:
        job = f"stablecopy-run-{start.crawl_id}-{uuid.uuid4().hex[:8]}"
        problems = []
        for node in self._by_load():
            try:
                node.schedule(self.project, job, self.job_settings(start))
            except ScrapydError as exc:
                problems.append(str(exc))
                continue
            self.say(f"Run {start.crawl_id} is Scrapyd job {job} on {node}.")
            return ScrapydJob(node, self.project, job, self.say, self.pause)
        why = "; ".join(problems) or "none answers"
        return FailedStart(f"no Scrapyd node took the run: {why}")

"""`stablecopy serve`: pywb replaying the data directory, its index the catalogue itself.

pywb runs as a child process under its own Python and asks this process's loopback API
(replay/indexapi.py) for every index lookup, so nothing is built at start or polled while idle.
Replay is read-only: nothing served on its origin can change the archive.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from importlib.resources import as_file, files
from pathlib import Path
from typing import IO

from sqlalchemy import Engine

from stablecopy.evidence.keys import KeyFiles
from stablecopy.layout import DataLayout
from stablecopy.replay.apiserver import CatalogueApiServer
from stablecopy.replay.guard import LISTENING, REPLAY_SUBDIR
from stablecopy.replay.pywb_app import CSP, INDEX_SOURCE

READY_TIMEOUT = 120.0
BANNER = "custom_banner.html"  # pywb's template for what goes into a replayed page's <head>


class ReplayError(RuntimeError):
    """pywb could not start, or stopped."""


@dataclass(frozen=True)
class Address:
    host: str
    port: int

    def url(self, path: str = "/") -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{path}"


class ReplayServer:
    def __init__(
        self,
        engine: Engine,
        layout: DataLayout,
        collection: str,
        python: str,
        keys: KeyFiles | None = None,
    ) -> None:
        self.layout = layout
        self.api = CatalogueApiServer(engine, keys or KeyFiles(layout.root / "keys"))
        self.collection = collection
        self.python = python
        self.folder = layout.root / REPLAY_SUBDIR / collection
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.layout.log_dir / f"replay-{self.collection}.log"

    def _write_config(self, api: str) -> Path:
        config = {
            "collections": {
                self.collection: {
                    "index": f"{INDEX_SOURCE}{api}/index",
                    "archive_paths": str(self.layout.warc_dir) + "/",
                }
            },
            "enable_memento": True,
            # The cited URL itself serves the archived page, so link checkers, reference managers'
            # snapshots and readers all get the page, not a frame; our banner is put in it
            # (templates/custom_banner.html) by script, into a shadow root: the page's styles do
            # not reach it, and the archived bytes (id_) are never touched.
            "framed_replay": False,
            # Nothing replayed loads from the live web (pywb's default allows WebSockets anywhere).
            "csp-header": CSP,
            # A request for another time is redirected to the capture's exact timestamp, so the
            # URL of every memento served names its capture (MementoTimes relies on it).
            "redirect_to_exact": True,
        }
        path = self.folder / "config.yaml"
        path.write_text(json.dumps(config, indent=2), encoding="utf-8")  # YAML reads JSON
        templates = self.folder / "templates"  # pywb reads templates/ of its working directory
        templates.mkdir(exist_ok=True)
        banner = files("stablecopy.replay").joinpath("templates").joinpath(BANNER)
        (templates / BANNER).write_text(banner.read_text("utf-8"), encoding="utf-8")
        return path

    def start(self, host: str, port: int) -> Address:
        """Start the catalogue's API and pywb, and wait until pywb listens."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.layout.log_dir.mkdir(parents=True, exist_ok=True)
        api = self.api.start()
        config = self._write_config(api)
        ready = self.folder / LISTENING
        ready.unlink(missing_ok=True)
        self._log = self.log_path.open("ab")
        with as_file(files("stablecopy.replay").joinpath("pywb_app.py")) as script:
            command = [
                self.python, str(script), "--host", host, "--port", str(port),
                "--config", str(config), "--api", api,
                "--collection", self.collection, "--ready-file", str(ready),
                "--warcs", str(self.layout.warc_dir),
            ]  # fmt: skip
            self.process = subprocess.Popen(
                command, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        deadline = time.monotonic() + READY_TIMEOUT
        while not ready.exists():
            if self.process.poll() is not None:
                raise ReplayError(f"pywb did not start: {self._log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise ReplayError(f"pywb did not start within {READY_TIMEOUT:.0f} s")
            time.sleep(0.05)
        bound_host, bound_port = ready.read_text("utf-8").split()[:2]
        return Address(bound_host, int(bound_port))

    def follow(self) -> None:
        """Wait until pywb stops (nothing to keep in step: the index is the catalogue)."""
        assert self.process is not None
        self.process.wait()
        raise ReplayError(f"pywb stopped: {self._log_tail()}")

    def stop(self) -> None:
        (self.folder / LISTENING).unlink(missing_ok=True)
        if self.api.thread.is_alive():
            self.api.stop()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def _log_tail(self) -> str:
        try:
            lines = self.log_path.read_text("utf-8", "replace").strip().splitlines()
        except OSError:
            return "no log"
        return lines[-1] if lines else f"see {self.log_path}"

"""Real servers for the tests: a private PostgreSQL cluster and a private Redis, on loopback.

Both come from the system packages (`make test` installs them when missing), listen on a free port
of 127.0.0.1, keep their data in a temporary folder, and are stopped and removed afterwards.
PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Self


class ServiceError(RuntimeError):
    """A server the tests need is not installed or did not start."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_port(port: int, what: str, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    tail = log.read_text("utf-8", "replace")[-2000:] if log.exists() else ""
    raise ServiceError(f"{what} did not start on port {port}:\n{tail}")


def _postgres_bin(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if found:
        return str(found[-1])
    on_path = shutil.which(name)
    if on_path:
        return on_path
    raise ServiceError(f"PostgreSQL's {name} is not installed (Debian: apt-get install postgresql)")


class PostgresServer:
    """A throwaway PostgreSQL cluster: `url` is a superuser URL on its `postgres` database."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="stablecopy-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        done = subprocess.run(
            [*prefix, *command], capture_output=True, text=True, check=False, cwd=self.root
        )
        if done.returncode != 0:
            raise ServiceError(f"{' '.join(command)} failed: {done.stderr.strip()[-2000:]}")

    def start(self) -> Self:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        self._run(_postgres_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "-E", "UTF8", "--locale=C.UTF-8")  # fmt: skip
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=300"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(_postgres_bin("pg_ctl"), "-D", str(self.data), "-o", options,
                  "-l", str(self.log), "-w", "start")  # fmt: skip
        _wait_for_port(self.port, "PostgreSQL", self.log)
        return self

    def stop(self) -> None:
        if self.data.exists():
            with contextlib.suppress(ServiceError):
                self._run(_postgres_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ServerProcess:
    """A server the tests start as a child process, on a free loopback port, with its files in a
    temporary folder; `start()` is each server's own."""

    prefix = "stablecopy-server-"

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix=self.prefix))
        self.log = self.root / "server.log"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        raise NotImplementedError

    def _launch(self, command: list[str], what: str, cwd: Path | None = None) -> Self:
        """Start `command`, its output in the server's log, and wait until its port answers."""
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=cwd)
        _wait_for_port(self.port, what, self.log)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class RedisServer(ServerProcess):
    """A throwaway redis-server without persistence: `url` is redis://127.0.0.1:PORT/0."""

    prefix = "stablecopy-redis-"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> Self:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not Path(binary).exists():
            raise ServiceError(
                "redis-server is not installed (Debian: apt-get install redis-server)"
            )
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.root), "--logfile", str(self.log)],
        )  # fmt: skip
        _wait_for_port(self.port, "Redis", self.log)
        return self


class S3Server(ServerProcess):
    """moto's S3-compatible server (the same S3 API as MinIO), in memory: `url` is its endpoint."""

    prefix = "stablecopy-s3-"

    def start(self) -> Self:
        return self._launch(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            "the S3 server",
        )


class ScrapydServer(ServerProcess):
    """A Scrapyd node running the installed stablecopy project, configured as the README tells
    operators to: a scrapy.cfg in the folder Scrapyd starts in, read by Scrapyd (its [scrapyd]
    section) and by Scrapy (its [settings] section names the project): `url` is its API."""

    prefix = "stablecopy-scrapyd-"

    def start(self) -> Self:
        (self.root / "scrapy.cfg").write_text(
            "[scrapyd]\n"
            f"bind_address = 127.0.0.1\nhttp_port = {self.port}\npoll_interval = 0.2\n"
            f"eggs_dir = {self.root}/eggs\nlogs_dir = {self.root}/logs\n"
            f"dbs_dir = {self.root}/dbs\nitems_dir =\nmax_proc = 4\n"
            "[settings]\nstablecopy = stablecopy.settings\n"
        )
        return self._launch([sys.executable, "-m", "scrapyd"], "Scrapyd", cwd=self.root)

    def job_log(self, job: str) -> str:
        path = self.root / "logs" / "stablecopy" / "articles" / f"{job}.log"
        return path.read_text("utf-8", "replace") if path.exists() else ""

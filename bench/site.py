"""The benchmark's news site: generated once per size, written to disk, served by nginx on loopback."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from stablecopy.samplesite.generated import generated_site, write_site

ARTICLE_BYTES = 50_000
# One field per line of the access log: status, body bytes sent, path.
LOG_FORMAT = "$status $body_bytes_sent $request_uri"


@dataclass(frozen=True)
class Fetched:
    """What the server sent while one tool ran, read from its access log."""

    pages: int  # HTML pages served with status 200
    responses: int  # every response, robots.txt and 404s included
    body_bytes: int


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def nginx_binary() -> str:
    """nginx from the system packages; the Makefile installs it when missing."""
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )
    if found is None:
        raise SystemExit("nginx is not installed: run `make bench`, which installs it")
    return found


def _config(root: Path, port: int, work: Path) -> str:
    user = "user root;\n" if os.geteuid() == 0 else ""
    return f"""{user}worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    log_format bench '{LOG_FORMAT}';
    access_log {work}/access.log bench buffer=64k flush=1s;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    client_body_temp_path {work}/tmp;
    proxy_temp_path {work}/tmp;
    fastcgi_temp_path {work}/tmp;
    uwsgi_temp_path {work}/tmp;
    scgi_temp_path {work}/tmp;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        index index.html;
    }}
}}
"""


class NewsSite:
    """A generated site of `articles` pages, served by nginx for as long as the context lasts."""

    def __init__(self, articles: int, work: Path) -> None:
        self.articles = articles
        self.work = work / f"site-{articles}"
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    def generate(self) -> None:
        root = self.work / "root"
        if root.exists():
            shutil.rmtree(root)
        write_site(generated_site(self.base, self.articles, ARTICLE_BYTES), root)

    @contextmanager
    def served(self) -> Iterator[NewsSite]:
        self.generate()
        (self.work / "tmp").mkdir(parents=True, exist_ok=True)
        conf = self.work / "nginx.conf"
        conf.write_text(_config(self.work / "root", self.port, self.work))
        self._process = subprocess.Popen(
            [nginx_binary(), "-c", str(conf), "-e", str(self.work / "error.log")],
            stdin=subprocess.DEVNULL,
        )
        try:
            self._wait_until_listening()
            yield self
        finally:
            self._process.terminate()
            self._process.wait(timeout=30)

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                if self._process is not None and self._process.poll() is not None:
                    raise SystemExit(f"nginx did not start: see {self.work}/error.log") from None
                time.sleep(0.1)
        raise SystemExit(f"nginx is not listening on port {self.port}")

    def fetched_since_mark(self) -> Fetched:
        """What the server sent since the last call (the access log is flushed every second)."""
        time.sleep(1.5)
        log = self.work / "access.log"
        with log.open("rb") as handle:
            handle.seek(self._log_offset)
            lines = handle.read().decode("utf-8", "replace").splitlines()
            self._log_offset = handle.tell()
        pages = responses = body = 0
        for line in lines:
            status, size, path = line.split(" ", 2)
            responses += 1
            body += int(size)
            if status == "200" and path.endswith((".html", "/")):
                pages += 1
        return Fetched(pages=pages, responses=responses, body_bytes=body)

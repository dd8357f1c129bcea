"""A static file server on loopback that answers byte ranges (ReplayWeb.page reads a WACZ by ranges),
for the tests that open our packages in a real browser."""

from __future__ import annotations

import re
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.rawserver import Serving

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


class _RangeHandler(SimpleHTTPRequestHandler):
    extensions_map = {  # noqa: RUF012 (the base class's own attribute)
        **SimpleHTTPRequestHandler.extensions_map,
        ".js": "application/javascript",
        ".wacz": "application/wacz",
    }

    def log_message(self, format: str, *args: object) -> None:
        return

    def send_head(self):  # type: ignore[no-untyped-def]
        wanted = _RANGE.match(self.headers.get("Range", "").strip())
        path = Path(self.translate_path(self.path))
        if wanted is None or not path.is_file():
            return super().send_head()
        size = path.stat().st_size
        first, last = wanted.groups()
        start = int(first) if first else max(0, size - int(last or 0))
        end = min(int(last), size - 1) if first and last else size - 1
        if start >= size or start > end:
            self.send_error(416)
            return None
        handle = path.open("rb")
        handle.seek(start)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        self._left = end - start + 1
        return handle

    def copyfile(self, source, outputfile):  # type: ignore[no-untyped-def]
        left = getattr(self, "_left", None)
        if left is None:
            return super().copyfile(source, outputfile)
        while left > 0:
            chunk = source.read(min(left, 1 << 16))
            if not chunk:
                break
            outputfile.write(chunk)
            left -= len(chunk)
        self._left = None
        return None


class StaticServer(Serving):
    """Serves `folder` at http://127.0.0.1:PORT/."""

    def __init__(self, folder: Path) -> None:
        server = ThreadingHTTPServer(
            ("127.0.0.1", 0), partial(_RangeHandler, directory=str(folder))
        )
        server.daemon_threads = True
        super().__init__(server)

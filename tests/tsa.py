"""A time-stamping authority on loopback built with `openssl ts -reply`: a CA, a TSA certificate
(extended key usage timeStamping, critical), and an HTTP server answering RFC 3161 queries.

It also webhooks: every POST to /hook is kept in `hooks` (the tree heads a crawl publishes).
"""

from __future__ import annotations

import datetime as dt
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.rawserver import Serving

CONFIG = """\
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_digest = sha256
default_policy = 1.2.3.4.1
other_policies = 1.2.3.4.5
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "stablecopy tests")])  # fmt: skip


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))  # fmt: skip


def make_authority(folder: Path) -> tuple[Path, Path, Path]:
    """Write a CA and a TSA certificate and key into `folder`: (ca.pem, tsa.pem, tsa.key)."""
    now = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    later = now + dt.timedelta(days=30)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("stablecopy test TSA root"))
        .issuer_name(_name("stablecopy test TSA root"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(later)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    tsa_key = ec.generate_private_key(ec.SECP256R1())
    tsa = (
        x509.CertificateBuilder()
        .subject_name(_name("stablecopy test TSA"))
        .issuer_name(ca.subject)
        .public_key(tsa_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(later)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, tsa_path, key_path = folder / "ca.pem", folder / "tsa.pem", folder / "tsa.key"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    tsa_path.write_bytes(tsa.public_bytes(serialization.Encoding.PEM))
    _write_key(key_path, tsa_key)
    (folder / "serial").write_text("01\n")
    (folder / "openssl.cnf").write_text(CONFIG.format(dir=folder))
    return ca_path, tsa_path, key_path


class _Server(ThreadingHTTPServer):
    folder: Path
    hooks: list[bytes]
    lock: threading.Lock
    refuse: bool


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/hook":
            self.server.hooks.append(body)
            self._answer(204, b"", "text/plain")
            return
        if self.server.refuse:
            self._answer(503, b"busy", "text/plain")
            return
        folder = self.server.folder
        with self.server.lock, tempfile.TemporaryDirectory() as work:
            query, reply = Path(work) / "q.tsq", Path(work) / "r.tsr"
            query.write_bytes(body)
            done = subprocess.run(
                ["openssl", "ts", "-reply", "-config", str(folder / "openssl.cnf"),
                 "-queryfile", str(query), "-inkey", str(folder / "tsa.key"),
                 "-signer", str(folder / "tsa.pem"), "-chain", str(folder / "ca.pem"),
                 "-out", str(reply)],
                capture_output=True, check=False,
            )  # fmt: skip
            if done.returncode != 0:
                self._answer(500, done.stderr, "text/plain")
                return
            self._answer(200, reply.read_bytes(), "application/timestamp-reply")

    def _answer(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class TimestampAuthority(Serving):
    """`openssl ts` behind HTTP on 127.0.0.1; `url` takes queries, `hook_url` keeps webhooks."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.ca, self.certificate, _ = make_authority(folder)
        server = _Server(("127.0.0.1", 0), _Handler)
        server.folder, server.hooks, server.lock, server.refuse = (
            folder,
            [],
            threading.Lock(),
            False,
        )
        self._state = server
        super().__init__(server)
        self.url = self.base + "/tsa"
        self.hook_url = self.base + "/hook"

    @property
    def hooks(self) -> list[bytes]:
        return self._state.hooks

    def refusing(self, refuse: bool = True) -> None:
        self._state.refuse = refuse

"""A crawl over HTTPS: the same records, with https target URIs and the default port left out."""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from stablecopy.layout import DataLayout
from stablecopy.samplesite.pages import articles
from stablecopy.samplesite.server import SiteServer
from tests.helpers import FAST, raw_records, run_cli

pytestmark = pytest.mark.catalogue


def self_signed(folder: Path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


@pytest.fixture(scope="module")
def tls_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tls")


@pytest.fixture(scope="module")
def tls_site(tls_folder: Path) -> Iterator[SiteServer]:
    with SiteServer(tls=self_signed(tls_folder)) as server:
        yield server


def test_https_crawl_archives_the_same_way(
    tls_site: SiteServer, tls_folder: Path, tmp_path: Path
) -> None:
    assert tls_site.base.startswith("https://")
    result = run_cli("crawl", tls_site.url("/feed.xml"), "--data-dir", str(tmp_path), *FAST)
    assert result.returncode == 0, result.stderr
    found = [r for p in DataLayout.create(tmp_path).warc_dir.iterdir() for r in raw_records(p)]
    responses = {r.headers["WARC-Target-URI"] for r in found if r.type == "response"}
    assert {tls_site.url(a.path) for a in articles()} <= responses
    port = tls_site.base.rsplit(":", 1)[1]
    for record in found:
        if record.type == "request" and record.headers["WARC-Target-URI"].startswith(
            tls_site.base  # not its CDN's and ad server's (plain HTTP)
        ):
            assert f"\r\nHost: 127.0.0.1:{port}\r\n".encode() in record.block
            assert record.headers["WARC-IP-Address"] == "127.0.0.1"
    assert sum(1 for r in found if r.type == "conversion") == len(articles())
    # Who answered: the server's certificate, on every response record fetched over TLS.
    served = x509.load_pem_x509_certificate((tls_folder / "cert.pem").read_bytes())
    fingerprint = served.fingerprint(hashes.SHA256()).hex()
    for record in found:
        if record.type == "response" and record.headers["WARC-Target-URI"].startswith("https"):
            (chain_leaf, *_) = json.loads(record.headers["WARC-Peer-Certificates"])
            assert chain_leaf["sha256"] == fingerprint
            assert chain_leaf["subject"] == "CN=127.0.0.1"

"""The archive's signing keys: an Ed25519 key for the capture log's tree heads and an ECDSA P-256
key for WACZ packages (the WACZ signing specification's anonymous signature), kept as PEM files.

Private keys are written with mode 0600 and never overwritten; public keys are derived, exported
and named by a key id (SHA-256 of the public key's DER, as Certificate Transparency names logs).
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

LOG_KEY = "log-ed25519.pem"
PACKAGE_KEY = "wacz-ecdsa-p256.pem"


class KeyFileError(RuntimeError):
    """A key file is missing, unreadable or not the kind expected."""


def public_der(key: ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def public_pem(key: ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def key_id(key: ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey) -> str:
    """The key's id: base64 of the SHA-256 of its SubjectPublicKeyInfo DER."""
    return base64.b64encode(hashlib.sha256(public_der(key)).digest()).decode("ascii")


def load_log_public(pem: str | bytes) -> ed25519.Ed25519PublicKey:
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise KeyFileError(f"not a PEM public key: {exc}") from exc
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise KeyFileError("the log's public key is not an Ed25519 key")
    return key


def verify_ed25519(key: ed25519.Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True


def verify_p256(key: ec.EllipticCurvePublicKey, signature: bytes, data: bytes) -> bool:
    try:
        key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


@dataclass(frozen=True)
class KeyFiles:
    """The key folder of an archive (by default `<data directory>/keys`)."""

    folder: Path

    @property
    def log_key_path(self) -> Path:
        return self.folder / LOG_KEY

    @property
    def package_key_path(self) -> Path:
        return self.folder / PACKAGE_KEY

    @classmethod
    def configured(cls, folder: str | Path | None, data_dir: str | Path) -> KeyFiles:
        """STABLECOPY_KEYS_DIR when set, else keys/ in the data directory."""
        if folder:
            return cls(Path(folder).expanduser())
        return cls(Path(data_dir).expanduser().absolute() / "keys")

    def exists(self) -> bool:
        return self.log_key_path.exists()

    def create(self) -> list[Path]:
        """Make whichever key is missing; returns the files written (never overwrites one)."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        written = []
        if not self.log_key_path.exists():
            _write_private(self.log_key_path, ed25519.Ed25519PrivateKey.generate())
            written.append(self.log_key_path)
        if not self.package_key_path.exists():
            _write_private(self.package_key_path, ec.generate_private_key(ec.SECP256R1()))
            written.append(self.package_key_path)
        return written

    def log_key(self) -> ed25519.Ed25519PrivateKey:
        key = self._load(self.log_key_path)
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise KeyFileError(f"{self.log_key_path} is not an Ed25519 private key")
        return key

    def package_key(self) -> ec.EllipticCurvePrivateKey:
        key = self._load(self.package_key_path)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise KeyFileError(f"{self.package_key_path} is not an ECDSA P-256 private key")
        return key

    @staticmethod
    def _load(path: Path) -> object:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise KeyFileError(
                f"no key at {path}: `stablecopy keys init` makes the archive's keys"
            ) from None
        except OSError as exc:
            raise KeyFileError(f"cannot read {path}: {exc.strerror}") from exc
        try:
            return serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise KeyFileError(f"{path} is not a PEM private key: {exc}") from exc


def _write_private(path: Path, key: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # Created 0600 (never world-readable, not even for a moment) and never over an existing key.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(pem)
        out.flush()
        os.fsync(out.fileno())

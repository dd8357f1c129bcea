"""Signing a WACZ as the WACZ Signing and Verification specification (0.1.0) says, with its
anonymous signature: ECDSA P-256 over the `hash` string of datapackage.json, the public key in
the package; with a TSA set, an RFC 3161 time-stamp of that signature (`timeSignature`, over the
base64 signature as the specification's domain form has it) and the TSA's certificates.

And checking one again, with our own code (the specification's reference verifier, authsign,
checks only domain-certificate signatures).
"""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import Certificate

from stablecopy import __version__
from stablecopy.evidence import timestamp
from stablecopy.evidence.keys import public_der, verify_p256

DATAPACKAGE = "datapackage.json"
DIGEST = "datapackage-digest.json"


def sign(
    hash_label: str,
    created: str,
    key: ec.EllipticCurvePrivateKey,
    tsa_urls: list[str] | None = None,
    roots: list[Certificate] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """The `signedData` of a datapackage whose hash is `hash_label` (`sha256:<hex>`), and the
    time-stamping failures (a WACZ is signed whether or not a TSA answers)."""
    signature = base64.b64encode(key.sign(hash_label.encode("ascii"), ec.ECDSA(hashes.SHA256())))
    signed: dict[str, Any] = {
        "hash": hash_label,
        "created": created,
        "software": f"stablecopy {__version__}",
        "version": __version__,
        "signature": signature.decode("ascii"),
        "publicKey": base64.b64encode(public_der(key.public_key())).decode("ascii"),
    }
    failures = []
    for url in tsa_urls or []:
        try:
            token = timestamp.request(url, signature, roots)
        except timestamp.TimestampError as exc:
            failures.append(str(exc))
            continue
        signed["timeSignature"] = base64.b64encode(token.der).decode("ascii")
        signed["timestampCert"] = timestamp.pem(token.certificates).decode("ascii")
        break
    return signed, failures


class WaczSignatureError(ValueError):
    """A WACZ whose signature is missing or does not verify."""


@dataclass(frozen=True)
class WaczSignature:
    public_key_id: str  # SHA-256 (hex) of the signing key's DER
    created: str
    stamped_at: str | None  # the RFC 3161 time of the signature, when time-stamped


def verify(path: Path, tsa_roots: list[Certificate] | None = None) -> WaczSignature:
    """Check a WACZ's datapackage-digest.json: the hash of datapackage.json, the anonymous
    signature with its public key, `created` as the datapackage says, and any time-stamp."""
    try:
        with zipfile.ZipFile(path) as package:
            described = package.read(DATAPACKAGE)
            digest = json.loads(package.read(DIGEST))
    except (KeyError, zipfile.BadZipFile, OSError, json.JSONDecodeError) as exc:
        raise WaczSignatureError(f"{path} has no readable {DIGEST}: {exc}") from exc
    label = "sha256:" + hashlib.sha256(described).hexdigest()
    signed = digest.get("signedData")
    if digest.get("hash") != label:
        raise WaczSignatureError(f"{DATAPACKAGE} does not hash to what {DIGEST} says")
    if not isinstance(signed, dict):
        raise WaczSignatureError(f"{path} is not signed")
    if signed.get("hash") != label:
        raise WaczSignatureError("the signature is of another datapackage.json")
    if signed.get("created") != json.loads(described).get("created"):
        raise WaczSignatureError("signedData.created differs from the datapackage's created")
    try:
        der = base64.b64decode(signed["publicKey"], validate=True)
        key = serialization.load_der_public_key(der)
        signature = base64.b64decode(signed["signature"], validate=True)
    except (KeyError, ValueError, UnsupportedAlgorithm) as exc:
        raise WaczSignatureError(f"the signature or its public key cannot be read: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or not verify_p256(
        key, signature, label.encode("ascii")
    ):
        raise WaczSignatureError("the signature does not verify with the package's public key")
    stamped_at = None
    if signed.get("timeSignature"):
        token = base64.b64decode(signed["timeSignature"])
        carried = timestamp.load_certificates(str(signed.get("timestampCert", "")).encode())
        roots = tsa_roots or timestamp.self_signed(carried) or carried[:1]
        try:
            when = timestamp.check(token, signed["signature"].encode("ascii"), roots)
        except timestamp.TimestampError as exc:
            raise WaczSignatureError(f"the signature's time-stamp: {exc}") from exc
        stamped_at = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    return WaczSignature(hashlib.sha256(der).hexdigest(), signed["created"], stamped_at)

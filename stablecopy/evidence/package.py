"""The evidence package of one capture: a zip that proves, offline, that its records are the ones
the archive committed to in its log before a signed, time-stamped tree head.

It holds the records' bytes exactly as stored (each WARC record's gzip member), the log leaves
that commit to them with their inclusion proofs, the signed tree head (JSON, the signed bytes,
the signature), the archive's public key, the RFC 3161 tokens with the certificates to check
them, consistency proofs from the archive's earlier heads, and a README for a person.
Knows nothing of the catalogue: `stablecopy evidence` gathers the parts.
"""

from __future__ import annotations

import base64
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stablecopy.evidence.treehead import TreeHead

FORMAT = "stablecopy-evidence/1"
MANIFEST = "manifest.json"
README = "README.txt"
HEAD_JSON = "log/tree-head.json"
HEAD_BYTES = "log/tree-head.bin"
HEAD_SIGNATURE = "log/tree-head.sig"
LOG_KEY = "log/log-key.pem"
CONSISTENCY = "log/consistency.json"
TSA_CA = "timestamps/tsa-ca.pem"


@dataclass(frozen=True)
class Record:
    role: str  # request | response | revisit | conversion | metadata
    record_id: str
    member: bytes  # the record's gzip member, as stored

    @property
    def name(self) -> str:
        return f"records/{self.role}.warc.gz"


@dataclass(frozen=True)
class LoggedLeaf:
    kind: str  # capture | text
    index: int
    data: bytes
    path: list[bytes]
    label: str = ""  # `original`: the leaf of the capture a revisit repeats, and its text
    record: str = ""  # the role of the record a capture leaf is about, when not its record type

    @property
    def name(self) -> str:
        return f"log/leaf-{self.label or self.kind}{'-text' if self.label and self.kind == 'text' else ''}.json"

    @property
    def proof_name(self) -> str:
        return self.name.replace("log/leaf-", "log/proof-")


@dataclass(frozen=True)
class Stamp:
    tsa_url: str
    der: bytes
    certificates_pem: bytes


@dataclass
class Evidence:
    capture: dict[str, Any]  # what the capture is, for people (URL, time, citation id...)
    records: list[Record]
    leaves: list[LoggedLeaf]
    head: TreeHead
    log_key_pem: str
    stamps: list[Stamp] = field(default_factory=list)
    tsa_ca_pem: bytes = b""
    earlier_heads: list[tuple[int, bytes, list[bytes]]] = field(default_factory=list)


def _hex(path: list[bytes]) -> list[str]:
    return [node.hex() for node in path]


def write(
    evidence: Evidence, target: Path, readme: str, extra: dict[str, str] | None = None
) -> None:
    """Write the package to `target` (through a temporary name: never half a package)."""
    partial = target.with_name(target.name + ".partial")
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "capture": evidence.capture,
        "records": [{"role": r.role, "record_id": r.record_id, "file": r.name}
                    for r in evidence.records],
        "leaves": [{"kind": leaf.kind, "leaf_index": leaf.index, "file": leaf.name,
                    "proof": leaf.proof_name, **({"record": leaf.record} if leaf.record else {})}
                   for leaf in evidence.leaves],
        "tree_head": HEAD_JSON,
        "timestamps": [],
    }  # fmt: skip
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as package:
        for record in evidence.records:
            package.writestr(record.name, record.member, compress_type=zipfile.ZIP_STORED)
        for leaf in evidence.leaves:
            package.writestr(leaf.name, leaf.data)
            proof = {"leaf_index": leaf.index, "tree_size": evidence.head.size,
                     "path": _hex(leaf.path)}  # fmt: skip
            package.writestr(leaf.proof_name, json.dumps(proof, indent=2))
        package.writestr(HEAD_JSON, json.dumps(evidence.head.as_json(), indent=2))
        package.writestr(HEAD_BYTES, evidence.head.signed_bytes())
        package.writestr(HEAD_SIGNATURE, evidence.head.signature)
        package.writestr(LOG_KEY, evidence.log_key_pem)
        for n, stamp in enumerate(evidence.stamps, 1):
            token, certificates = f"timestamps/token-{n}.tsr", f"timestamps/tsa-certs-{n}.pem"
            package.writestr(token, stamp.der)
            package.writestr(certificates, stamp.certificates_pem)
            manifest["timestamps"].append(
                {"tsa_url": stamp.tsa_url, "token": token, "certificates": certificates}
            )
        if evidence.tsa_ca_pem:
            package.writestr(TSA_CA, evidence.tsa_ca_pem)
            manifest["tsa_ca"] = TSA_CA
        earlier = [{"tree_size": size, "sha256_root_hash": base64.b64encode(root).decode("ascii"),
                    "path": _hex(path)} for size, root, path in evidence.earlier_heads]  # fmt: skip
        package.writestr(CONSISTENCY, json.dumps(earlier, indent=2))
        manifest["consistency"] = CONSISTENCY
        package.writestr(MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False))
        package.writestr(README, readme)
        for name, content in (extra or {}).items():
            package.writestr(name, content)
    partial.replace(target)

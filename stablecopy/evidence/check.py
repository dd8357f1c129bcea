"""Checking an evidence package offline: no catalogue, no network, nothing of the archive trusted
but the bytes in the package (and, when given, a key, a TSA root or a witness's tree head).

Every step is one a reader can redo with `openssl` and Python's hashlib (the package's README):
records are read by splitting their WARC headers from their block by hand, not by a WARC library.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from stablecopy.evidence import leaf as leaves
from stablecopy.evidence import merkle, timestamp
from stablecopy.evidence.keys import KeyFileError, key_id, load_log_public
from stablecopy.evidence.package import (
    CONSISTENCY,
    FORMAT,
    HEAD_BYTES,
    HEAD_JSON,
    HEAD_SIGNATURE,
    LOG_KEY,
    MANIFEST,
)
from stablecopy.evidence.recipe import split
from stablecopy.evidence.treehead import TreeHead, TreeHeadError
from stablecopy.labels import sha256_label


@dataclass
class Report:
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def expect(self, condition: bool, passed: str, failed: str) -> bool:
        (self.passed if condition else self.failed).append(passed if condition else failed)
        return condition


class PackageError(ValueError):
    """Not an evidence package, or one with a part missing."""


def warc_record(member: bytes) -> tuple[dict[str, str], bytes]:
    """A stored record's WARC headers and block, read as the package's verify.py reads them."""
    try:
        return split(member)
    except (OSError, EOFError) as exc:
        raise PackageError(f"a record is not gzip: {exc}") from exc
    except (KeyError, ValueError) as exc:
        raise PackageError("a record has no Content-Length") from exc


def _digest(data: bytes) -> str:
    return sha256_label(hashlib.sha256(data).hexdigest())


def _http_payload(block: bytes) -> bytes:
    return block.partition(b"\r\n\r\n")[2]


class Checker:
    def __init__(
        self,
        path: Path,
        key: ed25519.Ed25519PublicKey | None = None,
        tsa_roots: bytes = b"",
        witness_head: TreeHead | None = None,
    ) -> None:
        self.path = path
        self.pinned_key = key
        self.tsa_roots = tsa_roots
        self.witness_head = witness_head
        self.report = Report()
        self._payloads: dict[str, str] = {}

    def run(self) -> Report:
        try:
            with zipfile.ZipFile(self.path) as package:
                self._check(package)
        except (zipfile.BadZipFile, OSError) as exc:
            raise PackageError(f"{self.path} is not a readable zip: {exc}") from exc
        return self.report

    def _read(self, package: zipfile.ZipFile, name: str) -> bytes:
        try:
            return package.read(name)
        except KeyError:
            raise PackageError(f"the package has no {name}") from None

    def _check(self, package: zipfile.ZipFile) -> None:
        try:
            manifest = json.loads(self._read(package, MANIFEST))
        except json.JSONDecodeError as exc:
            raise PackageError(f"{MANIFEST} is not JSON: {exc}") from exc
        if manifest.get("format") != FORMAT:
            raise PackageError(f"not a {FORMAT} package")
        records = {
            entry["role"]: warc_record(self._read(package, entry["file"]))
            for entry in manifest["records"]
        }
        head = self._head(package)
        for entry in manifest["leaves"]:
            data = self._read(package, entry["file"])
            proof = json.loads(self._read(package, entry["proof"]))
            self._leaf(entry["kind"], data, records, entry.get("record"))
            try:
                merkle.verify_inclusion(
                    merkle.leaf_hash(data), int(proof["leaf_index"]), head.size,
                    [bytes.fromhex(node) for node in proof["path"]], head.root,
                )  # fmt: skip
                self.report.passed.append(
                    f"the {entry['kind']} leaf is entry {proof['leaf_index']} of the log of "
                    f"{head.size} entries whose root the tree head signs"
                )
            except (merkle.ProofError, ValueError, KeyError) as exc:
                self.report.failed.append(f"the {entry['kind']} leaf is not in the log: {exc}")
        if "revisit" in self._payloads and "original" in self._payloads:
            self.report.expect(
                self._payloads["revisit"] == self._payloads["original"],
                "the revisit stands for the original's payload (the same digest)",
                "the revisit's payload digest is not the original's",
            )
        self._stamps(package, manifest, head)
        self._witness(package, head)

    def _head(self, package: zipfile.ZipFile) -> TreeHead:
        try:
            head = TreeHead.from_json(json.loads(self._read(package, HEAD_JSON)))
        except (TreeHeadError, json.JSONDecodeError) as exc:
            raise PackageError(f"{HEAD_JSON}: {exc}") from exc
        self.report.expect(
            self._read(package, HEAD_BYTES) == head.signed_bytes()
            and self._read(package, HEAD_SIGNATURE) == head.signature,
            "tree-head.bin and tree-head.sig are the tree head's signed bytes and signature",
            "tree-head.bin or tree-head.sig differ from tree-head.json",
        )
        try:
            key = load_log_public(self._read(package, LOG_KEY))
        except KeyFileError as exc:
            raise PackageError(f"{LOG_KEY}: {exc}") from exc
        if self.pinned_key is not None:
            self.report.expect(
                key_id(key) == key_id(self.pinned_key),
                "the package's log key is the key given",
                f"the package's log key {key_id(key)} is not the key given "
                f"{key_id(self.pinned_key)}",
            )
        else:
            self.report.notes.append(
                f"the log key is the package's own (id {key_id(key)}); compare it with the "
                "archive's published key (--key) to know the archive signed it"
            )
        try:
            head.verify(key)
            self.report.passed.append(
                f"the tree head ({head.size} entries, {head.time:%Y-%m-%dT%H:%M:%SZ}) is signed "
                "by the log key"
            )
        except TreeHeadError as exc:
            self.report.failed.append(str(exc))
        return head

    def _leaf(
        self,
        kind: str,
        data: bytes,
        records: dict[str, tuple[dict[str, str], bytes]],
        role: str | None = None,
    ) -> None:
        try:
            fields = leaves.parse(data)
        except ValueError as exc:
            self.report.failed.append(f"the {kind} leaf: {exc}")
            return
        if kind == leaves.CAPTURE:
            self._capture_leaf(fields, records, role)
        elif kind == leaves.TEXT:
            self._text_leaf(fields, records)

    def _capture_leaf(
        self,
        fields: dict[str, Any],
        records: dict[str, tuple[dict[str, str], bytes]],
        role: str | None = None,
    ) -> None:
        role = role or fields.get("record_type", "response")
        if role not in records:
            self.report.failed.append(f"the package has no {role} record")
            return
        headers, block = records[role]
        self._payloads[role] = fields.get("payload_digest", "")
        expect = self.report.expect
        expect(headers.get("warc-record-id") == fields["record_id"],
               f"the {role} record is {fields['record_id']}",
               f"the {role} record's id is not the one logged")  # fmt: skip
        expect(headers.get("warc-target-uri") == fields["target_uri"]
               and headers.get("warc-date") == fields["warc_date"],
               f"it was captured from {fields['target_uri']} at {fields['warc_date']}",
               "the record's target URI or date differ from those logged")  # fmt: skip
        observed = _digest(block)
        expect(observed == fields["block_digest"] == headers.get("warc-block-digest"),
               f"its block (HTTP headers and body as received) hashes to the logged {observed}",
               f"its block hashes to {observed}, the log committed to {fields['block_digest']}: "
               "the record was altered")  # fmt: skip
        if fields.get("record_type") == "response":
            payload = _digest(_http_payload(block))
            expect(payload == fields["payload_digest"],
                   f"its payload hashes to the logged {payload}",
                   f"its payload hashes to {payload}, the log committed to "
                   f"{fields['payload_digest']}")  # fmt: skip
        if "request" in records and role != "original":
            request_headers, request_block = records["request"]
            expect(request_headers.get("warc-record-id") == fields["request_record_id"]
                   and request_headers.get("warc-block-digest") == _digest(request_block),
                   "the request record is the one the capture names, and intact",
                   "the request record is not the capture's, or was altered")  # fmt: skip

    def _text_leaf(
        self, fields: dict[str, Any], records: dict[str, tuple[dict[str, str], bytes]]
    ) -> None:
        expect = self.report.expect
        if fields.get("conversion_record_id") and "conversion" in records:
            headers, block = records["conversion"]
            text = hashlib.sha256(block).hexdigest()
            expect(headers.get("warc-record-id") == fields["conversion_record_id"]
                   and text == fields["text_sha256"]
                   and headers.get("warc-refers-to") == fields["refers_to"],
                   f"the clean text (conversion record) hashes to the logged {text}",
                   "the clean text is not the one the log committed to")  # fmt: skip
        if "metadata" in records:
            headers, _ = records["metadata"]
            expect(headers.get("warc-record-id") == fields["metadata_record_id"],
                   "the metadata record is the one logged with the clean text",
                   "the metadata record is not the one logged")  # fmt: skip

    def _stamps(self, package: zipfile.ZipFile, manifest: dict[str, Any], head: TreeHead) -> None:
        stamps = manifest.get("timestamps", [])
        if not stamps:
            self.report.notes.append("the tree head has no RFC 3161 time-stamp")
            return
        given = timestamp.load_certificates(self.tsa_roots) if self.tsa_roots else []
        packaged = (
            timestamp.load_certificates(self._read(package, manifest["tsa_ca"]))
            if manifest.get("tsa_ca") else []
        )  # fmt: skip
        for stamp in stamps:
            der = self._read(package, stamp["token"])
            carried = timestamp.load_certificates(self._read(package, stamp["certificates"]))
            roots = given or packaged or timestamp.self_signed(carried) or carried[:1]
            try:
                when = timestamp.check(der, head.signed_bytes(), roots)
            except timestamp.TimestampError as exc:
                self.report.failed.append(f"the time-stamp from {stamp['tsa_url']}: {exc}")
                continue
            anchor = "a root given" if given else "the root certificate in the package"
            self.report.passed.append(
                f"the tree head existed no later than {when:%Y-%m-%dT%H:%M:%SZ}: RFC 3161 "
                f"time-stamp by {timestamp.describe(der).tsa_name} ({stamp['tsa_url']}), "
                f"checked against {anchor}"
            )
            if not given:
                fingerprints = ", ".join(hashlib.sha256(c.public_bytes(
                    serialization.Encoding.DER)).hexdigest() for c in roots)  # fmt: skip
                self.report.notes.append(
                    f"trust in that time rests on the TSA's root (SHA-256 {fingerprints}); "
                    "--tsa-ca pins the TSA's published root"
                )

    def _witness(self, package: zipfile.ZipFile, head: TreeHead) -> None:
        witness = self.witness_head
        if witness is None:
            return
        if witness.size > head.size and head.timestamp > witness.timestamp:
            self.report.failed.append(
                f"the log shrank: the witness kept a head of {witness.size} entries, the "
                f"package's later head has {head.size}: history was rewritten"
            )
            return
        if witness.size > head.size:
            self.report.notes.append(
                f"the witness's head ({witness.size} entries) is newer than the package's: "
                "`stablecopy log witness` asks the archive for the proof between them"
            )
            return
        if witness.size == head.size:
            self.report.expect(witness.root == head.root,
                               "the witness holds this very tree head",
                               "the witness holds another tree of the same size: the log was "
                               "rewritten")  # fmt: skip
            return
        earlier = {int(entry["tree_size"]): entry for entry in
                   json.loads(self._read(package, CONSISTENCY))}  # fmt: skip
        entry = earlier.get(witness.size)
        if entry is None:
            self.report.failed.append(
                f"the package proves nothing about the witness's head of {witness.size} entries"
            )
            return
        try:
            merkle.verify_consistency(
                witness.size, head.size, witness.root, head.root,
                [bytes.fromhex(node) for node in entry["path"]],
            )  # fmt: skip
            self.report.passed.append(
                f"the log extends the witness's head of {witness.size} entries: nothing it "
                "held was rewritten"
            )
        except merkle.ProofError as exc:
            self.report.failed.append(f"against the witness's head: {exc}")


def head_from_file(path: Path) -> TreeHead:
    """A tree head a witness kept: a JSON file, or the last line of a JSON-lines file of heads."""
    text = path.read_text("utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        lines = [line for line in text.splitlines() if line.strip()]
        try:
            data = json.loads(lines[-1]) if lines else None
        except json.JSONDecodeError as exc:
            raise TreeHeadError(f"{path} holds no tree head: {exc}") from exc
    return TreeHead.from_json(data)


def public_key_from_text(text: str) -> ed25519.Ed25519PublicKey:
    """A log key as PEM, or as the base64 DER a warcinfo record carries."""
    if "BEGIN" in text:
        return load_log_public(text)
    der = base64.b64decode(text.strip())
    pem = b"-----BEGIN PUBLIC KEY-----\n" + base64.encodebytes(der) + b"-----END PUBLIC KEY-----\n"
    return load_log_public(pem)

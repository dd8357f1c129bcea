"""Gathering one capture's evidence package from the catalogue, its WARC files and its log: the
records' stored bytes, their leaves and inclusion proofs, the best signed tree head covering
them, its time-stamps, and consistency proofs from the archive's earlier heads.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from sqlalchemy.orm import Session

from stablecopy.catalog import caplog
from stablecopy.catalog.models import Capture, LogLeaf, TreeHeadRow
from stablecopy.evidence import package, timestamp
from stablecopy.evidence.treehead import TreeHead
from stablecopy.labels import timestamp14
from stablecopy.layout import DataLayout, UnsafePathError

EARLIER_HEADS = 500  # consistency proofs from at most this many earlier heads (the newest)
RECIPE = "verify.py"


class EvidenceError(RuntimeError):
    """The capture cannot be proved yet (not logged, no signed head) or its bytes are missing."""


@dataclass(frozen=True)
class Gathered:
    evidence: package.Evidence
    readme: str


def _member(layout: DataLayout, relative: str, offset: int | None, length: int | None) -> bytes:
    if offset is None or not length:
        raise EvidenceError(f"the catalogue does not say where a record of {relative} is")
    try:
        path = layout.resolve(relative)
        with path.open("rb") as stream:
            stream.seek(offset)
            data = stream.read(length)
    except (OSError, UnsafePathError) as exc:
        raise EvidenceError(f"cannot read {relative}: {exc}") from exc
    if len(data) != length:
        raise EvidenceError(f"{relative} ends before its record at {offset}: the file was cut")
    return data


def _records(layout: DataLayout, capture: Capture) -> list[package.Record]:
    """The capture's request and response (or revisit), its clean text's records, and for a
    revisit the original response whose payload (and text) it repeats."""
    found = _own_records(layout, capture)
    original = capture.payload_capture
    if original is not capture:
        found.append(package.Record("original", original.record_id, _member(
            layout, original.warc_file, original.warc_offset, original.warc_length)))  # fmt: skip
        found += [r for r in _own_records(layout, original) if r.role in ("conversion", "metadata")]
    return found


def _own_records(layout: DataLayout, capture: Capture) -> list[package.Record]:
    found = [package.Record(capture.record_type, capture.record_id,
                            _member(layout, capture.warc_file, capture.warc_offset,
                                    capture.warc_length))]  # fmt: skip
    if capture.request_offset is not None:
        found.insert(0, package.Record("request", capture.request_record_id, _member(
            layout, capture.warc_file, capture.request_offset, capture.request_length)))  # fmt: skip
    extraction = capture.extraction
    if extraction is not None:
        if extraction.conversion_record_id and extraction.conversion_file:
            found.append(package.Record("conversion", extraction.conversion_record_id, _member(
                layout, extraction.conversion_file, extraction.conversion_offset,
                extraction.conversion_length)))  # fmt: skip
        if extraction.metadata_file:
            found.append(package.Record("metadata", extraction.metadata_record_id, _member(
                layout, extraction.metadata_file, extraction.metadata_offset,
                extraction.metadata_length)))  # fmt: skip
    return found


def _head(session: Session, last_leaf: int) -> TreeHeadRow:
    head = caplog.evidence_head(session, last_leaf)
    if head is None:
        raise EvidenceError(
            f"the capture is entry {last_leaf} of the log, after its last signed tree head "
            "(`stablecopy log sign` signs one now)"
        )
    return head


def _logged(session: Session, capture: Capture) -> list[LogLeaf]:
    """The capture's leaf and its current clean text's."""
    logged = caplog.leaves_of_capture(session, capture.id)
    if not any(row.kind == "capture" for row in logged):
        raise EvidenceError(
            f"capture {capture.short_id or capture.id} is not in the capture log (catalogued "
            "before the log existed: `stablecopy log catch-up` adds it)"
        )
    text = capture.extraction.metadata_record_id if capture.extraction else None
    return [row for row in logged if row.kind == "capture" or row.subject == text]


def gather(
    session: Session, layout: DataLayout, capture: Capture, log_key_pem: str, tsa_ca: bytes = b""
) -> Gathered:
    original = capture.payload_capture
    logged = [("", row) for row in _logged(session, capture)]
    if original is not capture:
        logged += [("original", row) for row in _logged(session, original)]
    row = _head(session, max(leaf.leaf_index for _, leaf in logged))
    head = caplog.tree_head(row)
    leaves = [
        package.LoggedLeaf(leaf.kind, leaf.leaf_index, leaf.leaf.encode("ascii"),
                           caplog.inclusion(session, leaf.leaf_index, head.size).path, label,
                           "original" if label and leaf.kind == "capture" else "")
        for label, leaf in logged
    ]  # fmt: skip
    stamps = [
        package.Stamp(
            token.tsa_url, token.token, timestamp.pem(timestamp.describe(token.token).certificates)
        )
        for token in row.tokens
    ]
    earlier_sizes = caplog.earlier_sizes(session, head.size, EARLIER_HEADS)
    earlier = [
        (size, caplog.root_at(session, size), caplog.consistency(session, size, head.size))
        for size in earlier_sizes
    ]
    facts = {
        "citation_id": capture.short_id, "url": capture.url,
        "fetched_at": capture.fetched_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "status": capture.status, "record_id": capture.record_id,
        "payload_digest": capture.payload_digest, "warc_file": capture.warc_file,
        "warc_offset": capture.warc_offset,
    }  # fmt: skip
    evidence = package.Evidence(
        capture=facts, records=_records(layout, capture), leaves=leaves, head=head,
        log_key_pem=log_key_pem, stamps=stamps, tsa_ca_pem=tsa_ca, earlier_heads=earlier,
    )  # fmt: skip
    return Gathered(evidence, readme(capture, head, bool(stamps)))


def readme(capture: Capture, head: TreeHead, stamped: bool) -> str:
    name = capture.short_id or str(capture.id)
    stamp_step = (
        "2. The tree head's RFC 3161 time-stamp (the TSA's root certificate: timestamps/tsa-ca.pem\n"
        "   when the archive included it, else the one the TSA publishes):\n"
        "     openssl ts -verify -data log/tree-head.bin -in timestamps/token-1.tsr \\\n"
        "       -CAfile timestamps/tsa-ca.pem\n"
        if stamped
        else "2. (This tree head has no RFC 3161 time-stamp: the archive had no TSA set.)\n"
    )
    return f"""Evidence package for archived capture {name}

URL:          {capture.url}
Captured at:  {capture.fetched_at:%Y-%m-%d %H:%M:%S.%f} UTC (replay timestamp {timestamp14(capture.fetched_at)})
Record:       {capture.record_id}
Log:          signed tree head of {head.size} entries, {head.time:%Y-%m-%d %H:%M:%S} UTC

WHAT THIS PROVES
These are the bytes of the archived HTTP exchange (records/*.warc.gz, each a WARC record's gzip
member exactly as stored) and of its clean text. The archive committed to them in its append-only
capture log (an RFC 9162 Merkle tree, as Certificate Transparency uses): log/leaf-*.json are
the entries, log/proof-*.json their inclusion proofs, and log/tree-head.* the log's root, signed
with the archive's key (log/log-key.pem). With an RFC 3161 time-stamp (timestamps/), a
time-stamping authority vouches that the signed root, and so these bytes, existed no later than
the time in its token. A witness who kept an earlier tree head can check that the log only grew
(log/consistency.json).

WHAT IT CANNOT PROVE
That the web server sent these bytes: nothing but the archive's own crawler saw the exchange,
and TLS gives no proof of what a server said. It proves the archive committed to these bytes
by the time-stamp's time and cannot change them afterwards without its log showing it. Compare
the key in log/log-key.pem with the one the archive publishes, and the TSA's root with the
one the TSA publishes: the package alone cannot tell you whom to trust.

CHECK IT WITH STABLECOPY
  stablecopy check-evidence {name}.zip [--key ARCHIVE-LOG-KEY.pem] [--tsa-ca TSA-ROOT.pem]
                                       [--witness-head HEAD.json]

CHECK IT WITHOUT STABLECOPY (openssl 3 and Python 3 only), in the unzipped folder:
1. The tree head's signature (Ed25519 over RFC 6962's 50-byte TreeHeadSignature):
     openssl pkeyutl -verify -pubin -inkey log/log-key.pem -rawin \\
       -in log/tree-head.bin -sigfile log/tree-head.sig
{stamp_step}3. The records and the log, with hashlib alone (verify.py, 80 lines, stdlib only: read it):
     python3 verify.py
   It hashes each record's block (the bytes after its WARC headers, Content-Length long) and
   compares it with the digest the leaf commits to, then walks each inclusion proof
   (RFC 9162 2.1.3.2) up to the root that log/tree-head.bin ends with.
"""


def recipe_source() -> str:
    return files("stablecopy.evidence").joinpath("recipe.py").read_text("utf-8")


def write(gathered: Gathered, target: Path) -> None:
    package.write(gathered.evidence, target, gathered.readme, {RECIPE: recipe_source()})

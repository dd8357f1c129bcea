"""The evidence package's own check, with Python's standard library alone (no stablecopy): copied
into every package as verify.py and run from the unzipped folder as `python3 verify.py`.

It redoes by hand what `stablecopy check-evidence` does for the records and the log: the stored
record's block hashes to the digest its log leaf commits to, and the leaf's inclusion proof
leads to the root in the signed tree head. The signature and the time-stamp are `openssl`'s part.
"""

import gzip
import hashlib
import json
import struct
import sys
from pathlib import Path


def split(member: bytes) -> tuple[dict[str, str], bytes]:
    """A stored WARC record's headers and block: gunzip, split at the blank line, Content-Length.
    (KeyError or ValueError when it has no Content-Length; OSError when it is not gzip.)"""
    head, _, rest = gzip.decompress(member).partition(b"\r\n\r\n")
    headers: dict[str, str] = {}
    for line in head.decode("utf-8", "replace").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return headers, rest[: int(headers["content-length"])]


def record(path: str) -> tuple[dict[str, str], bytes]:
    return split(Path(path).read_bytes())


def node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_proof(leaf: bytes, index: int, size: int, path: list[bytes]) -> bytes | None:
    """RFC 9162 section 2.1.3.2: the root an inclusion proof leads to."""
    fn, sn, r = index, size - 1, hashlib.sha256(b"\x00" + leaf).digest()
    for p in path:
        if fn & 1 or fn == sn:
            r = node(p, r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None


def main() -> int:
    signed = Path("log/tree-head.bin").read_bytes()  # RFC 6962 TreeHeadSignature, 50 bytes
    _version, _kind, _millis, size = struct.unpack(">BBQQ", signed[:18])
    root = signed[18:]
    manifest = json.loads(Path("manifest.json").read_text("utf-8"))
    records = {r["role"]: record(r["file"]) for r in manifest["records"]}
    ok = True
    for entry in manifest["leaves"]:
        data = Path(entry["file"]).read_bytes()
        leaf = json.loads(data)
        proof = json.loads(Path(entry["proof"]).read_text("utf-8"))
        if entry["kind"] == "capture":
            headers, block = records[entry.get("record", leaf["record_type"])]
            digest = "sha256:" + hashlib.sha256(block).hexdigest()
            good = digest == leaf["block_digest"] and headers["warc-record-id"] == leaf["record_id"]
            print(("ok  " if good else "BAD ") + f"{leaf['record_type']} record block {digest}")
            ok &= good
        elif entry["kind"] == "text" and "conversion" in records:
            digest = hashlib.sha256(records["conversion"][1]).hexdigest()
            good = digest == leaf["text_sha256"]
            print(("ok  " if good else "BAD ") + f"clean text {digest}")
            ok &= good
        path = [bytes.fromhex(h) for h in proof["path"]]
        good = (
            proof["tree_size"] == size
            and root_from_proof(data, proof["leaf_index"], size, path) == root
        )
        print(("ok  " if good else "BAD ") + f"{entry['kind']} leaf {proof['leaf_index']} is in "
              f"the tree of {size} entries whose root tree-head.bin signs")  # fmt: skip
        ok &= good
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

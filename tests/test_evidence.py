"""Evidence that needs no trust in the archive: the capture log, signed and time-stamped tree heads,
evidence packages checked offline (by stablecopy, by openssl and a stdlib script), tampering caught,
witnesses, signed WACZ.

A real crawl of the sample site with a key, a time-stamping authority built with `openssl ts` on
loopback, a head file and a webhook. Oracles: openssl (`ts -verify`, `pkeyutl -verify`,
`dgst -verify`), pymerkle (a second Merkle tree implementation), warcio, `wacz validate`.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pymerkle
import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from warcio.archiveiterator import ArchiveIterator

from stablecopy.catalog import caplog
from stablecopy.catalog.models import (
    Capture,
    Extraction,
    FixityEvent,
    LogLeaf,
    LogNode,
    LogState,
    RequisiteLink,
    TimestampToken,
    TreeHeadRow,
    WarcFile,
)
from stablecopy.catalog.session import open_catalog
from stablecopy.evidence import merkle
from stablecopy.evidence.keys import KeyFiles
from stablecopy.evidence.treehead import TreeHead
from stablecopy.layout import DataLayout
from stablecopy.samplesite.server import SiteServer
from tests.helpers import FAST, run_cli
from tests.pgcatalogue import copy_data_dir
from tests.test_export import wacz_validate
from tests.tsa import TimestampAuthority

pytestmark = pytest.mark.catalogue

ARTICLE = "/news/2023/iran-backed-and-us-backed-forces-fighting-in-eastern-syria.html"


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TimestampAuthority]:
    with TimestampAuthority(tmp_path_factory.mktemp("tsa")) as authority:
        yield authority


def stamped(tsa: TimestampAuthority, heads: Path | None = None) -> list[str]:
    settings = ["-s", f"STABLECOPY_TSA_URLS={tsa.url}", "-s", f"STABLECOPY_TSA_CA_FILE={tsa.ca}"]
    if heads is not None:
        settings += ["-s", f"STABLECOPY_TREE_HEAD_FILE={heads}",
                     "-s", f"STABLECOPY_TREE_HEAD_WEBHOOK={tsa.hook_url}"]  # fmt: skip
    return settings


@pytest.fixture(scope="module")
def logged(
    site: SiteServer, tsa: TimestampAuthority, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """Two crawls of one article and its requisites, each ending with a signed, time-stamped head."""
    data = tmp_path_factory.mktemp("logged") / "data"
    assert run_cli("keys", "init", "--data-dir", str(data)).returncode == 0
    for _ in range(2):
        crawled = run_cli("crawl", site.url(ARTICLE), "--data-dir", str(data), *FAST,
                          *stamped(tsa, data.parent / "heads.jsonl"))  # fmt: skip
        assert crawled.returncode == 0, crawled.stderr
    return data


def session_of(data: Path) -> Session:
    return Session(open_catalog(DataLayout.create(data).db_url))


def article_id(data: Path) -> str:
    with session_of(data) as session:
        capture = session.scalars(
            select(Capture).where(Capture.url.endswith(ARTICLE)).order_by(Capture.id)
        ).first()
        assert capture is not None
        return str(capture.short_id)


def package(data: Path, target: Path, *extra: str) -> Path:
    made = run_cli("evidence", article_id(data), "-o", str(target), "--data-dir", str(data), *extra)
    assert made.returncode == 0, made.stderr
    return target


def check(target: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli("check-evidence", str(target), *extra)


# --- the Merkle tree -----------------------------------------------------------------------------


def test_roots_and_proofs_agree_with_a_second_implementation() -> None:
    for size in range(1, 80):
        leaves = [f"leaf {i}".encode() for i in range(size)]
        hashes = [merkle.leaf_hash(leaf) for leaf in leaves]
        tree = merkle.memory_subtrees(hashes)
        other = pymerkle.InmemoryTree(algorithm="sha256")
        for leaf in leaves:
            other.append_entry(leaf)
        root = merkle.root(size, tree)
        assert other.get_root(size) == root
        for index in range(size):
            merkle.verify_inclusion(hashes[index], index, size,
                                    merkle.inclusion_proof(index, size, tree), root)  # fmt: skip
        for old in range(size + 1):
            proof = merkle.consistency_proof(old, size, tree)
            merkle.verify_consistency(old, size, merkle.root(old, tree), root, proof)


def test_proofs_fail_for_another_leaf_or_a_rewritten_history() -> None:
    hashes = [merkle.leaf_hash(bytes([i])) for i in range(13)]
    tree = merkle.memory_subtrees(hashes)
    root = merkle.root(13, tree)
    with pytest.raises(merkle.ProofError):
        merkle.verify_inclusion(hashes[4], 5, 13, merkle.inclusion_proof(5, 13, tree), root)
    rewritten = [*hashes[:3], merkle.leaf_hash(b"x"), *hashes[4:]]
    other = merkle.memory_subtrees(rewritten)
    with pytest.raises(merkle.ProofError, match="rewritten"):
        merkle.verify_consistency(6, 13, merkle.root(6, tree), merkle.root(13, other),
                                  merkle.consistency_proof(6, 13, other))  # fmt: skip


# --- the log of a real crawl ---------------------------------------------------------------------


def test_every_capture_text_and_file_is_logged_once_and_the_heads_are_the_leaves_root(
    logged: Path,
) -> None:
    with session_of(logged) as session:
        leaves = list(session.scalars(select(LogLeaf).order_by(LogLeaf.leaf_index)))
        captures = list(session.scalars(select(Capture)))
        heads = list(session.scalars(select(TreeHeadRow).order_by(TreeHeadRow.id)))
        assert [leaf.leaf_index for leaf in leaves] == list(range(len(leaves)))
        assert sorted(leaf.capture_id for leaf in leaves if leaf.kind == "capture") == sorted(
            c.id for c in captures
        )
        other = pymerkle.InmemoryTree(algorithm="sha256")
        for leaf in leaves:
            other.append_entry(leaf.leaf.encode("ascii"))
        assert len(heads) == 2
        for row in heads:
            assert bytes.fromhex(row.root_hash) == other.get_root(row.tree_size)
        key = KeyFiles(logged / "keys").log_key().public_key()
        for row in heads:
            caplog.tree_head(row).verify(key)
        # The crawl's own WARC files are in its head; only the file holding the head comes after.
        assert [leaf.kind for leaf in leaves[heads[0].tree_size : heads[1].tree_size]].count(
            "warc-file"
        ) == 2
    assert run_cli("log", "verify", "--data-dir", str(logged)).returncode == 0


def test_tokens_verify_with_openssl_and_are_archived(
    logged: Path, tsa: TimestampAuthority, tmp_path: Path
) -> None:
    with session_of(logged) as session:
        tokens = list(session.scalars(select(TimestampToken)))
        assert len(tokens) == 2
        for token in tokens:
            head = caplog.tree_head(token.tree_head)
            (tmp_path / "head.bin").write_bytes(head.signed_bytes())
            (tmp_path / "token.tsr").write_bytes(token.token)
            checked = subprocess.run(
                ["openssl", "ts", "-verify", "-data", str(tmp_path / "head.bin"),
                 "-in", str(tmp_path / "token.tsr"), "-CAfile", str(tsa.ca)],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            assert checked.returncode == 0, checked.stderr
        archived = {token.record_id for token in tokens}
    found = {}
    for path in (logged / "warcs").glob("*-log-*.warc.gz"):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type == "resource":
                    found[record.rec_headers.get_header("WARC-Record-ID")] = (
                        record.rec_headers.get_header("Content-Type")
                    )
    assert archived <= set(found)
    assert set(found.values()) == {"application/json", "application/timestamp-reply"}
    verified = run_cli("verify", "--data-dir", str(logged))
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_heads_are_published_to_the_file_and_the_webhook(
    logged: Path, tsa: TimestampAuthority
) -> None:
    lines = (logged.parent / "heads.jsonl").read_text("utf-8").splitlines()
    hooked = [json.loads(body) for body in tsa.hooks]
    assert [json.loads(line)["tree_size"] for line in lines] == [
        h["tree_size"] for h in hooked[-2:]
    ]
    key = KeyFiles(logged / "keys").log_key().public_key()
    for line in lines:
        TreeHead.from_json(json.loads(line)).verify(key)


def test_warcinfo_carries_the_log_key(logged: Path) -> None:
    files = KeyFiles(logged / "keys")
    for private in (files.log_key_path, files.package_key_path):
        assert private.stat().st_mode & 0o777 == 0o600
    before = files.log_key_path.read_bytes()
    again = run_cli("keys", "init", "--data-dir", str(logged))
    assert "nothing replaced" in again.stdout
    assert files.log_key_path.read_bytes() == before
    key = files.log_key().public_key()
    shown = run_cli("keys", "export", "--data-dir", str(logged))
    assert shown.stdout.startswith("-----BEGIN PUBLIC KEY-----")
    path = min((logged / "warcs").glob("stablecopy-2*.warc.gz"))
    with path.open("rb") as stream:
        info = next(iter(ArchiveIterator(stream)))
        fields = info.content_stream().read().decode()
    from stablecopy.evidence.keys import key_id, public_der

    assert f"stablecopy-log-key: {base64.b64encode(public_der(key)).decode()}" in fields
    assert f"stablecopy-log-key-id: {key_id(key)}" in fields


# --- evidence packages ---------------------------------------------------------------------------


def test_a_package_checks_offline_with_stablecopy_and_with_openssl_and_hashlib(
    logged: Path, tsa: TimestampAuthority, tmp_path: Path
) -> None:
    made = package(logged, tmp_path / "capture.zip", "-s", f"STABLECOPY_TSA_CA_FILE={tsa.ca}")
    key = tmp_path / "key.pem"
    key.write_text(run_cli("keys", "export", "--data-dir", str(logged)).stdout)
    checked = check(made, "--key", str(key), "--tsa-ca", str(tsa.ca))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "every check passed" in checked.stdout
    assert "time-stamp by" in checked.stdout
    unzipped = tmp_path / "unzipped"
    with zipfile.ZipFile(made) as opened:
        opened.extractall(unzipped)
    for command in (
        ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "log/log-key.pem", "-rawin",
         "-in", "log/tree-head.bin", "-sigfile", "log/tree-head.sig"],
        ["openssl", "ts", "-verify", "-data", "log/tree-head.bin", "-in", "timestamps/token-1.tsr",
         "-CAfile", "timestamps/tsa-ca.pem"],
        [sys.executable, "-I", "verify.py"],  # isolated: no stablecopy, no site-packages
    ):  # fmt: skip
        done = subprocess.run(command, cwd=unzipped, capture_output=True, text=True, check=False)
        assert done.returncode == 0, (command, done.stdout, done.stderr)
    assert "BAD" not in done.stdout
    assert done.stdout.count("ok  ") == 4  # the response, the text, and both in the log
    readme = (unzipped / "README.txt").read_text("utf-8")
    assert "WHAT IT CANNOT PROVE" in readme


def test_a_revisit_package_carries_its_original_and_text(logged: Path, tmp_path: Path) -> None:
    with session_of(logged) as session:
        revisit = session.scalars(
            select(Capture).where(Capture.url.endswith(ARTICLE), Capture.record_type == "revisit")
        ).one()
        reference = str(revisit.short_id)
    made = run_cli("evidence", reference, "-o", str(tmp_path / "r.zip"), "--data-dir", str(logged))
    assert made.returncode == 0, made.stderr
    checked = check(tmp_path / "r.zip")
    assert checked.returncode == 0, checked.stdout
    assert "the revisit stands for the original's payload" in checked.stdout
    assert "the clean text (conversion record) hashes" in checked.stdout
    unzipped = tmp_path / "unzipped"
    with zipfile.ZipFile(tmp_path / "r.zip") as opened:
        opened.extractall(unzipped)
    done = subprocess.run([sys.executable, "-I", "verify.py"], cwd=unzipped, capture_output=True,
                          text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("ok  ") == 6


def test_the_recipe_and_the_checker_fail_on_an_altered_record(logged: Path, tmp_path: Path) -> None:
    made = package(logged, tmp_path / "capture.zip")
    altered = tmp_path / "altered.zip"
    with zipfile.ZipFile(made) as source, zipfile.ZipFile(altered, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "records/response.warc.gz":
                plain = gzip.decompress(data)  # the last byte of the body, one bit flipped
                data = gzip.compress(plain[:-5] + bytes([plain[-5] ^ 1]) + plain[-4:])
            target.writestr(item, data)
    checked = check(altered)
    assert checked.returncode == 1
    assert "the record was altered" in checked.stdout
    unzipped = tmp_path / "unzipped"
    with zipfile.ZipFile(altered) as opened:
        opened.extractall(unzipped)
    done = subprocess.run([sys.executable, "-I", "verify.py"], cwd=unzipped, capture_output=True,
                          text=True, check=False)  # fmt: skip
    assert done.returncode == 1
    assert "BAD response record block" in done.stdout


def test_altering_a_record_and_its_row_together_is_caught(logged: Path, tmp_path: Path) -> None:
    """What `verify` alone cannot see: the file and the catalogue changed as one."""
    data = tmp_path / "data"
    copy_data_dir(logged, data)
    before = package(data, tmp_path / "before.zip")
    with session_of(data) as session:
        capture = session.scalars(select(Capture).where(Capture.url.endswith(ARTICLE))).first()
        assert capture is not None
        path = DataLayout.create(data).resolve(capture.warc_file)
        offset, length = capture.warc_offset, capture.warc_length
    raw = path.read_bytes()
    head, _, rest = gzip.decompress(raw[offset : offset + length]).partition(b"\r\n\r\n")
    block = rest[:-4]  # a record ends with two CRLF after its block
    forged = block[:-1] + bytes([block[-1] ^ 1])  # one bit of the body's last byte
    block_digest = "sha256:" + hashlib.sha256(forged).hexdigest()
    payload_digest = "sha256:" + hashlib.sha256(forged.partition(b"\r\n\r\n")[2]).hexdigest()
    head = head.replace(capture.block_digest.encode(), block_digest.encode())
    head = head.replace(capture.payload_digest.encode(), payload_digest.encode())
    member = gzip.compress(head + b"\r\n\r\n" + forged + b"\r\n\r\n")
    path.write_bytes(raw[:offset] + member + raw[offset + length :])
    shift = len(member) - length  # the records after it move; the forger moves their rows
    file = capture.warc_file
    with session_of(data) as session:
        for column in (Capture.warc_offset, Capture.request_offset):
            session.execute(update(Capture).where(Capture.warc_file == file, column > offset)
                            .values({column: column + shift}))  # fmt: skip
        for column, where in ((Extraction.conversion_offset, Extraction.conversion_file),
                              (Extraction.metadata_offset, Extraction.metadata_file)):  # fmt: skip
            session.execute(update(Extraction).where(where == file, column > offset)
                            .values({column: column + shift}))  # fmt: skip
        session.execute(
            update(Capture)
            .where(Capture.id == capture.id)
            .values(block_digest=block_digest, payload_digest=payload_digest,
                    payload_sha256=payload_digest[7:], warc_length=len(member))
        )  # fmt: skip
        whole = path.read_bytes()
        session.execute(update(WarcFile).where(WarcFile.path == file).values(
            size=len(whole), sha256=hashlib.sha256(whole).hexdigest()))  # fmt: skip
        session.commit()
    verified = run_cli("verify", "--url", capture.url, "--data-dir", str(data))
    assert verified.returncode == 0, verified.stdout  # verify agrees with the forged row
    assert check(before).returncode == 0  # made before: still the proof of the original bytes
    after = package(data, tmp_path / "after.zip")
    checked = check(after)
    assert checked.returncode == 1
    assert "the log committed to" in checked.stdout
    audited = run_cli("log", "verify", "--data-dir", str(data))
    assert audited.returncode == 1
    assert "differs from what the log committed to" in audited.stdout


def victim(data: Path) -> str:
    """A capture nothing else points at: the last image, a revisit made by the second crawl."""
    with session_of(data) as session:
        found = session.scalars(
            select(Capture.record_id)
            .where(Capture.requisite == "image", Capture.record_type == "revisit")
            .order_by(Capture.id.desc())
        ).first()
    assert found is not None
    return found


def rewrite_log(data: Path, subject: str, replacement: bytes | None = None) -> None:
    """What an operator with write access could do: rebuild the log with one capture's leaf
    replaced, or deleted with its row, and sign a fresh head with the archive's own key."""
    with session_of(data) as session:
        rows = [_Forged(leaf) for leaf in
                session.scalars(select(LogLeaf).order_by(LogLeaf.leaf_index))]  # fmt: skip
        session.execute(delete(LogLeaf))
        session.execute(delete(LogNode))
        session.execute(update(LogState).values(size=0))
        session.execute(
            delete(TimestampToken)
        )  # the old heads no longer fit: the forger drops them
        session.execute(delete(TreeHeadRow))
        if replacement is None:
            rows = [row for row in rows if row.subject != subject]
            capture_id = select(Capture.id).where(Capture.record_id == subject).scalar_subquery()
            session.execute(delete(RequisiteLink).where(RequisiteLink.parent_id == capture_id))
            session.execute(delete(FixityEvent).where(FixityEvent.capture_id == capture_id))
            session.execute(delete(Capture).where(Capture.record_id == subject))
        else:
            for row in rows:
                if row.subject == subject:
                    row.data = replacement
        caplog.append(session, [(row, row.capture_id) for row in rows])  # type: ignore[misc]
        session.commit()
        caplog.sign_head(session, KeyFiles(data / "keys").log_key())


class _Forged:
    """A stored leaf replayed as bytes, for the rewrite."""

    def __init__(self, row: LogLeaf) -> None:
        self.kind, self.subject, self.data = row.kind, row.subject, row.leaf.encode("ascii")
        self.capture_id = row.capture_id

    @property
    def hash(self) -> bytes:
        return merkle.leaf_hash(self.data)


def test_a_rewritten_history_fails_the_witness_and_the_package_check(
    logged: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    copy_data_dir(logged, data)
    witnessed = tmp_path / "witness.json"
    head = run_cli("log", "head", "--data-dir", str(data))
    witnessed.write_text(head.stdout)
    rewrite_log(data, victim(data))  # a capture's row and leaf deleted, the log rebuilt
    after = package(data, tmp_path / "after.zip")
    assert check(after).returncode == 0  # alone, a forger's package is self-consistent
    checked = check(after, "--witness-head", str(witnessed))
    assert checked.returncode == 1
    assert "witness" in checked.stdout


# --- witnesses over HTTP -------------------------------------------------------------------------


def test_a_witness_follows_the_served_log_and_detects_a_rewrite(
    logged: Path, site: SiteServer, tmp_path: Path
) -> None:
    from stablecopy.replay.apiserver import CatalogueApiServer

    data = tmp_path / "data"
    copy_data_dir(logged, data)
    engine = open_catalog(DataLayout.create(data).db_url)
    api = CatalogueApiServer(engine, KeyFiles(data / "keys"))
    base = api.start()
    try:
        state = tmp_path / "state.json"
        first = run_cli("log", "witness", base, "--state", str(state))
        assert first.returncode == 0, first.stderr
        crawled = run_cli("crawl", site.url("/"), "--data-dir", str(data), *FAST, "--no-requisites")
        assert crawled.returncode == 0, crawled.stderr
        grown = run_cli("log", "witness", base, "--state", str(state))
        assert grown.returncode == 0, grown.stderr
        assert "consistent: the log grew" in grown.stdout
        rewrite_log(data, victim(data), b'{"forged":true}')
        caught = run_cli("log", "witness", base, "--state", str(state))
        assert caught.returncode == 1
        assert "rewritten" in caught.stderr or "shrank" in caught.stderr
    finally:
        api.stop()
        engine.dispose()


# --- signed WACZ ---------------------------------------------------------------------------------


def test_a_signed_wacz_validates_and_its_signature_verifies_with_openssl(
    logged: Path, tsa: TimestampAuthority, tmp_path: Path
) -> None:
    wacz = tmp_path / "signed.wacz"
    exported = run_cli("export", "--wacz", str(wacz), "--sign", "--data-dir", str(logged),
                       *stamped(tsa))  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    validated = wacz_validate(wacz)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    checked = check(wacz, "--tsa-ca", str(tsa.ca))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "time-stamped" in checked.stdout
    with zipfile.ZipFile(wacz) as opened:
        signed = json.loads(opened.read("datapackage-digest.json"))["signedData"]
    der = base64.b64decode(signed["publicKey"])
    (tmp_path / "key.der").write_bytes(der)
    (tmp_path / "sig.der").write_bytes(base64.b64decode(signed["signature"]))
    (tmp_path / "hash.txt").write_text(signed["hash"])
    done = subprocess.run(
        ["openssl", "dgst", "-sha256", "-keyform", "DER", "-verify", str(tmp_path / "key.der"),
         "-signature", str(tmp_path / "sig.der"), str(tmp_path / "hash.txt")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    forged = tmp_path / "forged.wacz"
    with zipfile.ZipFile(wacz) as source, zipfile.ZipFile(forged, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "datapackage.json":
                data = data.replace(b"stablecopy export", b"stablecopy exporT")
            target.writestr(item, data)
    assert check(forged).returncode == 1


# --- citations, provenance, older catalogues -----------------------------------------------------


def test_cite_and_show_carry_the_log(logged: Path) -> None:
    reference = article_id(logged)
    cited = run_cli("cite", "--id", reference, "--evidence", "--format", "bibtex",
                    "--data-dir", str(logged))  # fmt: skip
    assert cited.returncode == 0, cited.stderr
    assert "capture log entry" in cited.stdout
    assert "RFC 3161 time-stamp" in cited.stdout
    plain = run_cli("cite", "--id", reference, "--data-dir", str(logged))
    assert "capture log" not in plain.stdout  # opt-in: the citation otherwise stays as it was
    shown = run_cli("show", reference, "--data-dir", str(logged))
    assert "inclusion proof verifies" in shown.stdout


def test_a_clean_text_made_again_is_a_new_entry_and_the_old_one_stays(
    logged: Path, tmp_path: Path
) -> None:
    """A repair or a resumed crawl refills a failed text's row in place, with new records."""
    data = tmp_path / "data"
    copy_data_dir(logged, data)
    with session_of(data) as session:
        size = caplog.size(session)
        text = session.scalars(select(Extraction).order_by(Extraction.id)).first()
        assert text is not None
        text.metadata_record_id = "<urn:uuid:00000000-0000-4000-8000-000000000001>"
        session.commit()
        assert caplog.size(session) == size + 1
        newest = session.scalars(select(LogLeaf).order_by(LogLeaf.leaf_index.desc())).first()
        assert newest is not None
        assert newest.subject == text.metadata_record_id
    audited = run_cli("log", "verify", "--data-dir", str(data))
    assert audited.returncode == 0, audited.stdout


def test_catch_up_logs_a_catalogue_made_before_the_log(logged: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    copy_data_dir(logged, data)
    with session_of(data) as session:
        total = caplog.size(session)
        session.execute(delete(LogLeaf))
        session.execute(delete(LogNode))
        session.execute(update(LogState).values(size=0))
        session.execute(delete(TimestampToken))
        session.execute(delete(TreeHeadRow))
        session.commit()
    assert (
        "not in the capture log"
        in run_cli("show", article_id(data), "--data-dir", str(data)).stdout
    )
    caught = run_cli("log", "catch-up", "--data-dir", str(data))
    assert caught.returncode == 0, caught.stderr
    assert f"appended {total} entries" in caught.stdout
    assert run_cli("log", "verify", "--data-dir", str(data)).returncode == 0
    again = run_cli("log", "catch-up", "--data-dir", str(data))
    assert "appended 0 entries" in again.stdout


def test_without_a_key_the_log_grows_and_says_heads_are_unsigned(
    site: SiteServer, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    crawled = run_cli("crawl", site.url(ARTICLE), "--data-dir", str(data), *FAST, "--no-requisites")
    assert crawled.returncode == 0, crawled.stderr
    status = run_cli("log", "status", "--data-dir", str(data))
    assert "none signed yet" in status.stdout
    made = run_cli(
        "evidence", article_id(data), "--data-dir", str(data), "-o", str(tmp_path / "x.zip")
    )
    assert made.returncode == 1
    assert "keys init" in made.stderr
    assert len(made.stderr.strip().splitlines()) == 1
    signing = run_cli("log", "sign", "--data-dir", str(data))
    assert signing.returncode == 1
    assert "keys init" in signing.stderr


def test_an_unreachable_tsa_is_one_warning_and_the_head_is_still_signed(
    logged: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    copy_data_dir(logged, data)
    signed = run_cli("log", "sign", "--data-dir", str(data),
                     "-s", "STABLECOPY_TSA_URLS=http://127.0.0.1:9/tsr")  # fmt: skip
    assert signed.returncode == 1
    assert "signed tree head" in signed.stdout
    assert "cannot reach the TSA" in signed.stderr


def test_serve_publishes_the_log_on_the_replay_address(logged: Path, tmp_path: Path) -> None:
    from tests.replay import fetch, serving

    data = tmp_path / "data"
    copy_data_dir(logged, data)
    with serving(data) as server:
        origin = server.base.removesuffix("archive/")
        head = fetch(origin + "log/tree-head")
        assert head.status == 200
        served = TreeHead.from_json(json.loads(head.body))
        served.verify(KeyFiles(data / "keys").log_key().public_key())
        key = fetch(origin + "log/key")
        assert key.body.startswith(b"-----BEGIN PUBLIC KEY-----")
        proof = json.loads(fetch(origin + f"log/proof?from=3&to={served.size}").body)
        with session_of(data) as session:
            old_root = caplog.root_at(session, 3)
        merkle.verify_consistency(3, served.size, old_root, served.root,
                                  [bytes.fromhex(p) for p in proof["path"]])  # fmt: skip
        assert fetch(origin + "log/proof?from=x").status == 400
        state = tmp_path / "witness.json"
        watched = run_cli("log", "witness", origin, "--state", str(state))
        assert watched.returncode == 0, watched.stderr
        import urllib.request

        refused = urllib.request.Request(origin + "log/tree-head", data=b"{}", method="POST")
        try:
            urllib.request.urlopen(refused, timeout=30)
            status = 200
        except urllib.error.HTTPError as error:
            status = error.code
        assert status == 405

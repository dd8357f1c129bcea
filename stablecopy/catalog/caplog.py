"""The capture log in the catalogue: leaves appended in the same transaction that catalogues their
captures, texts and closed WARC files; Merkle nodes; signed tree heads; proofs read back.

Every session that commits new captures, texts or files appends their leaves (a session hook), so
the crawl, repair, resume and late texts all log what they catalogue, once, in commit order, and a
crash loses a leaf only with the row it stands for. Appenders lock the one `log_state` row, so
leaf positions are consecutive whatever number of workers write.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import event, insert, select, tuple_, update
from sqlalchemy.orm import Session

from stablecopy.catalog.models import (
    Capture,
    Extraction,
    LogLeaf,
    LogNode,
    LogState,
    TreeHeadRow,
    WarcFile,
)
from stablecopy.evidence import merkle
from stablecopy.evidence.leaf import Leaf, capture_leaf, file_leaf, text_leaf
from stablecopy.evidence.treehead import TreeHead

_PENDING = "stablecopy.log.pending"
RECORD_URI = "urn:stablecopy:log:"  # the WARC-Target-URI prefix of archived heads and tokens
CATCH_UP_BATCH = 1000


class LogError(RuntimeError):
    """The capture log cannot answer: a position outside it, a head it never signed."""


def leaf_of_capture(capture: Capture) -> Leaf:
    return capture_leaf(
        record_id=capture.record_id, record_type=capture.record_type, target_uri=capture.url,
        fetched_at=capture.fetched_at, payload_digest=capture.payload_digest,
        block_digest=capture.block_digest, request_record_id=capture.request_record_id,
        warc_file=capture.warc_file, offset=capture.warc_offset, length=capture.warc_length,
    )  # fmt: skip


def leaf_of_text(extraction: Extraction, capture: Capture) -> Leaf:
    return text_leaf(
        refers_to=capture.record_id,
        metadata_record_id=extraction.metadata_record_id,
        conversion_record_id=extraction.conversion_record_id,
        text_sha256=extraction.text_sha256,
    )


def leaf_of_file(file: WarcFile) -> Leaf:
    return file_leaf(path=file.path, sha256=file.sha256, size=file.size, records=file.records)


class Subtrees:
    """The log's complete subtrees as stored: leaf hashes (level 0) and inner nodes, memoised."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._known: dict[tuple[int, int], bytes] = {}

    def prefetch(self, keys: Iterable[tuple[int, int]]) -> None:
        wanted = [key for key in keys if key not in self._known]
        leaves = [index for level, index in wanted if level == 0]
        inner = [key for key in wanted if key[0] > 0]
        if leaves:
            for index, digest in self.session.execute(
                select(LogLeaf.leaf_index, LogLeaf.leaf_hash).where(LogLeaf.leaf_index.in_(leaves))
            ):
                self._known[(0, index)] = bytes.fromhex(digest)
        if inner:
            for level, index, digest in self.session.execute(
                select(LogNode.level, LogNode.index, LogNode.hash).where(
                    tuple_(LogNode.level, LogNode.index).in_(inner)
                )
            ):
                self._known[(level, index)] = bytes.fromhex(digest)

    def __call__(self, level: int, index: int) -> bytes:
        key = (level, index)
        if key not in self._known:
            self.prefetch([key])
            if key not in self._known:
                raise LogError(f"the capture log lacks its subtree {key}: the log is damaged")
        return self._known[key]

    def root(self, size: int) -> bytes:
        self.prefetch(merkle.frontier(size))
        return merkle.root(size, self)


# --- appending -----------------------------------------------------------------------------------


def size(session: Session) -> int:
    return int(session.scalar(select(LogState.size).where(LogState.id == 1)) or 0)


def append(session: Session, leaves: Sequence[tuple[Leaf, int | None]]) -> int:
    """Append leaves (each with its capture's id, if any) after those already logged; returns the
    position of the first. Takes the log's lock until the transaction ends."""
    if not leaves:
        return size(session)
    new_size = session.execute(
        update(LogState)
        .where(LogState.id == 1)
        .values(size=LogState.size + len(leaves))
        .returning(LogState.size)
    ).scalar_one()
    start = new_size - len(leaves)
    hashes = [leaf.hash for leaf, _ in leaves]
    subtrees = Subtrees(session)
    subtrees.prefetch(merkle.frontier(start))
    nodes = merkle.appended(start, hashes, subtrees)
    now = datetime.now(UTC)
    session.execute(
        insert(LogLeaf),
        [
            {"leaf_index": start + offset, "kind": leaf.kind, "subject": leaf.subject,
             "capture_id": capture_id, "leaf": leaf.data.decode("ascii"),
             "leaf_hash": digest.hex(), "appended_at": now}
            for offset, ((leaf, capture_id), digest) in enumerate(zip(leaves, hashes, strict=True))
        ],
    )  # fmt: skip
    if nodes:
        session.execute(
            insert(LogNode),
            [
                {"level": level, "index": index, "hash": digest.hex()}
                for level, index, digest in nodes
            ],
        )
    return start


def logged_subjects(session: Session, kind: str, subjects: Iterable[str]) -> set[str]:
    """Which of these subjects (record ids, file paths) of a kind the log holds already."""
    wanted = list(subjects)
    if not wanted:
        return set()
    return set(
        session.scalars(
            select(LogLeaf.subject).where(LogLeaf.kind == kind, LogLeaf.subject.in_(wanted))
        )
    )


def log_rows(
    session: Session,
    captures: Iterable[Capture] = (),
    extractions: Iterable[Extraction] = (),
    files: Iterable[WarcFile] = (),
) -> int:
    """Append the leaves of rows not yet in the log (captures first, by id; then texts; then files);
    returns how many were appended."""
    pending: list[tuple[Leaf, int | None]] = []
    by_id = sorted(captures, key=lambda row: row.id)
    seen = logged_subjects(session, "capture", (row.record_id for row in by_id))
    pending += [(leaf_of_capture(row), row.id) for row in by_id if row.record_id not in seen]
    texts = sorted((row for row in extractions if row.metadata_record_id), key=lambda row: row.id)
    seen = logged_subjects(session, "text", (row.metadata_record_id for row in texts))
    pending += [
        (leaf_of_text(row, row.capture), row.capture_id)
        for row in texts
        if row.metadata_record_id not in seen
    ]
    closed = sorted(files, key=lambda row: row.id)
    seen = logged_subjects(session, "warc-file", (row.path for row in closed))
    pending += [(leaf_of_file(row), None) for row in closed if row.path not in seen]
    append(session, pending)
    return len(pending)


def _collect(session: Session, _context: Any) -> None:
    """After each flush: remember the rows that need leaves (new captures, files and texts, and
    texts redone in place, which get new records)."""
    pending = session.info.setdefault(_PENDING, {})
    for row in [*session.new, *session.dirty]:
        if isinstance(row, Capture | Extraction | WarcFile) and (row in session.new or (
            isinstance(row, Extraction) and row.metadata_record_id
        )):  # fmt: skip
            pending[id(row)] = row


def _append_pending(session: Session) -> None:
    """Before each commit: flush, then append the leaves of what this transaction catalogued."""
    if session.new or session.dirty:
        session.flush()
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    rows = list(pending.values())
    log_rows(
        session,
        [row for row in rows if isinstance(row, Capture)],
        [row for row in rows if isinstance(row, Extraction)],
        [row for row in rows if isinstance(row, WarcFile)],
    )


def _forget(session: Session, *_: Any) -> None:
    session.info.pop(_PENDING, None)


event.listen(Session, "after_flush", _collect)
event.listen(Session, "before_commit", _append_pending)
event.listen(Session, "after_rollback", _forget)


def catch_up(session: Session) -> int:
    """Log the rows catalogued before the log existed (or by another tool), oldest first, one
    committed batch at a time; returns how many leaves were appended."""
    total = 0
    kinds: list[tuple[Any, str, Any]] = [
        (Capture, "capture", Capture.record_id),
        (Extraction, "text", Extraction.metadata_record_id),
        (WarcFile, "warc-file", WarcFile.path),
    ]
    for model, kind, subject in kinds:
        last = 0
        while True:
            logged = select(LogLeaf.subject).where(LogLeaf.kind == kind)
            rows = list(
                session.scalars(
                    select(model)
                    .where(model.id > last, subject.not_in(logged))
                    .order_by(model.id)
                    .limit(CATCH_UP_BATCH)
                )
            )
            if not rows:
                break
            last = rows[-1].id
            total += log_rows(
                session,
                [r for r in rows if isinstance(r, Capture)],
                [r for r in rows if isinstance(r, Extraction)],
                [r for r in rows if isinstance(r, WarcFile)],
            )
            session.info.pop(_PENDING, None)
            session.commit()
    return total


# --- tree heads and proofs -----------------------------------------------------------------------


def sign_head(
    session: Session, key: ed25519.Ed25519PrivateKey, crawl_id: int | None = None
) -> tuple[TreeHead, TreeHeadRow]:
    """Sign the log as it stands (committed) and keep the head; commits."""
    session.commit()
    tree_size = size(session)
    head = TreeHead(tree_size, Subtrees(session).root(tree_size), int(time.time() * 1000)).signed(
        key
    )
    row = head_row(head, crawl_id)
    session.add(row)
    session.commit()
    return head, row


def head_row(head: TreeHead, crawl_id: int | None = None) -> TreeHeadRow:
    return TreeHeadRow(
        tree_size=head.size, root_hash=head.root.hex(), timestamp=head.timestamp,
        signature=base64.b64encode(head.signature).decode("ascii"), key_id=head.key_id,
        crawl_id=crawl_id,
    )  # fmt: skip


def tree_head(row: TreeHeadRow) -> TreeHead:
    return TreeHead(
        row.tree_size, bytes.fromhex(row.root_hash), row.timestamp,
        base64.b64decode(row.signature), row.key_id,
    )  # fmt: skip


def latest_head(session: Session) -> TreeHeadRow | None:
    return session.scalar(select(TreeHeadRow).order_by(TreeHeadRow.id.desc()).limit(1))


def capture_leaf_row(session: Session, capture_id: int) -> LogLeaf | None:
    return session.scalar(
        select(LogLeaf).where(LogLeaf.capture_id == capture_id, LogLeaf.kind == "capture")
    )


def leaves_of_capture(session: Session, capture_id: int) -> list[LogLeaf]:
    """The capture's own leaf and those of its clean texts, in log order."""
    return list(
        session.scalars(
            select(LogLeaf).where(LogLeaf.capture_id == capture_id).order_by(LogLeaf.leaf_index)
        )
    )


@dataclass(frozen=True)
class Inclusion:
    leaf_index: int
    tree_size: int
    path: list[bytes]


def inclusion(session: Session, leaf_index: int, tree_size: int) -> Inclusion:
    if not 0 <= leaf_index < tree_size <= size(session):
        raise LogError(f"leaf {leaf_index} is not in the log at size {tree_size}")
    return Inclusion(
        leaf_index, tree_size, merkle.inclusion_proof(leaf_index, tree_size, Subtrees(session))
    )


def consistency(session: Session, old: int, new: int) -> list[bytes]:
    if not 0 <= old <= new <= size(session):
        raise LogError(
            f"no consistency proof from size {old} to {new}: the log has {size(session)}"
        )
    return merkle.consistency_proof(old, new, Subtrees(session))


def root_at(session: Session, tree_size: int) -> bytes:
    if not 0 <= tree_size <= size(session):
        raise LogError(f"the log has no size {tree_size}")
    return Subtrees(session).root(tree_size)


def leaf_at(session: Session, index: int) -> str | None:
    """The canonical bytes (text) of the leaf at `index`."""
    return session.scalar(select(LogLeaf.leaf).where(LogLeaf.leaf_index == index))


def evidence_head(session: Session, last_leaf: int) -> TreeHeadRow | None:
    """The head to prove leaves up to `last_leaf` with: the earliest covering them that has a
    time-stamp (the earliest time vouched for), else the earliest covering them. Heads are only
    ever added, so the answer changes only when a first time-stamped head arrives."""
    covering = select(TreeHeadRow).where(TreeHeadRow.tree_size > last_leaf)
    stamped = session.scalar(
        covering.where(TreeHeadRow.tokens.any()).order_by(TreeHeadRow.id).limit(1)
    )
    return stamped or session.scalar(covering.order_by(TreeHeadRow.id).limit(1))


def citation_evidence(session: Session, capture_id: int) -> str | None:
    """What a citation says of the capture's place in the log, short enough for a reference
    manager's note: entry, head size and root prefix, time-stamp time."""
    row = capture_leaf_row(session, capture_id)
    head_row = evidence_head(session, row.leaf_index) if row is not None else None
    if row is None or head_row is None:
        return None
    stamp = min((token.gen_time for token in head_row.tokens), default=None)
    stamped = f", RFC 3161 time-stamp {stamp:%Y-%m-%dT%H:%M:%SZ}" if stamp else ""
    return (f"capture log entry {row.leaf_index}, signed tree head {head_row.tree_size} "
            f"(root {head_row.root_hash[:16]}){stamped}")  # fmt: skip


def earlier_sizes(session: Session, tree_size: int, limit: int) -> list[int]:
    """The sizes of signed heads before `tree_size`, newest first (at most `limit`)."""
    return list(
        session.scalars(
            select(TreeHeadRow.tree_size)
            .where(TreeHeadRow.tree_size < tree_size, TreeHeadRow.tree_size > 0)
            .distinct()
            .order_by(TreeHeadRow.tree_size.desc())
            .limit(limit)
        )
    )


def capture_log_status(session: Session, capture_id: int) -> str:
    """Where a capture is in the log and whether a signed head proves it (its inclusion proof
    checked against the head's root), in one line for people."""
    row = capture_leaf_row(session, capture_id)
    if row is None:
        return "not in the capture log (catalogued before it: `stablecopy log catch-up`)"
    head_row = evidence_head(session, row.leaf_index)
    if head_row is None:
        return (f"entry {row.leaf_index} of the capture log; no signed tree head covers it yet "
                "(`stablecopy log sign`)")  # fmt: skip
    head = tree_head(head_row)
    proof = inclusion(session, row.leaf_index, head.size)
    try:
        merkle.verify_inclusion(bytes.fromhex(row.leaf_hash), row.leaf_index, head.size,
                                proof.path, head.root)  # fmt: skip
        verdict = "inclusion proof verifies"
    except merkle.ProofError as exc:
        verdict = f"INCLUSION PROOF FAILS: {exc}"
    return (f"entry {row.leaf_index} of the capture log; tree head of {head.size} entries signed "
            f"{head.time:%Y-%m-%dT%H:%M:%SZ}, {len(head_row.tokens)} time-stamp(s); {verdict}")  # fmt: skip


def signed_head_keys(session: Session) -> set[str]:
    """`{size}:{timestamp}` of every signed head: the archived head and token records name their
    head so in their WARC-Target-URI (a kill between signing and archiving leaves the records
    without their ids in the catalogue; their head is still known)."""
    return {f"{size}:{stamp}" for size, stamp in session.execute(
        select(TreeHeadRow.tree_size, TreeHeadRow.timestamp))}  # fmt: skip


def head_key_of(uri: str) -> str | None:
    """The `{size}:{timestamp}` an archived head or token record's URI names."""
    if not uri.startswith(RECORD_URI):
        return None
    parts = uri[len(RECORD_URI) :].split(":")
    return ":".join(parts[1:3]) if len(parts) >= 3 else None

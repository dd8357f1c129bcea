"""`stablecopy log verify`: the whole capture log checked in one pass against itself, its signed
tree heads and the catalogue's rows as they are today (memory stays flat however long the log)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from stablecopy.catalog.caplog import (
    leaf_of_capture,
    leaf_of_file,
    leaf_of_text,
    logged_subjects,
    size,
)
from stablecopy.catalog.models import Capture, Extraction, LogLeaf, TreeHeadRow, WarcFile
from stablecopy.evidence import merkle
from stablecopy.evidence.leaf import parse


@dataclass
class Audit:
    entries: int = 0
    heads_checked: int = 0
    problems: list[str] = field(default_factory=list)


AUDIT_BATCH = 5000
MAX_PROBLEMS = 100


def _rows_leaves(session: Session, kind: str, subjects: list[str]) -> dict[str, bytes]:
    """The leaf bytes the catalogue's rows would give today, by subject."""
    if kind == "capture":
        rows = session.scalars(select(Capture).where(Capture.record_id.in_(subjects)))
        return {row.record_id: leaf_of_capture(row).data for row in rows}
    if kind == "text":
        found = session.scalars(
            select(Extraction).where(Extraction.metadata_record_id.in_(subjects))
        )
        return {row.metadata_record_id: leaf_of_text(row, row.capture).data for row in found}
    files = session.scalars(select(WarcFile).where(WarcFile.path.in_(subjects)))
    return {row.path: leaf_of_file(row).data for row in files}


def _superseded(session: Session, leaf: bytes) -> bool:
    """Whether a text entry's capture has a clean text logged since (a repair or a resumed crawl
    made it again, in place of a failed attempt)."""
    refers_to = parse(leaf).get("refers_to")
    row = session.scalar(select(Capture).where(Capture.record_id == refers_to))
    if row is None or row.extraction is None:
        return False
    return logged_subjects(session, "text", [row.extraction.metadata_record_id]) != set()


def audit(session: Session) -> Audit:
    """Check the whole log against itself, its signed heads and the catalogue, in one pass over
    its leaves: positions without gaps, each leaf's hash from its bytes, each leaf as its row says
    today, every signed head's root recomputed from the leaves, rows that have no leaf."""
    report = Audit()
    heads: dict[int, list[TreeHeadRow]] = {}
    for head in session.scalars(select(TreeHeadRow)):
        heads.setdefault(head.tree_size, []).append(head)
    stack: list[tuple[int, bytes]] = []

    def problem(text: str) -> None:
        if len(report.problems) < MAX_PROBLEMS:
            report.problems.append(text)

    def check_heads(count: int) -> None:
        if count not in heads:
            return
        root = stack[-1][1]
        for _, digest in reversed(stack[:-1]):
            root = merkle.node_hash(digest, root)
        for head in heads[count]:
            report.heads_checked += 1
            if head.root_hash != root.hex():
                problem(f"the signed tree head of {count} entries ({head.id}) does not match "
                        "the log's leaves: the log was rewritten")  # fmt: skip

    last = -1
    while True:
        batch = list(session.scalars(
            select(LogLeaf).where(LogLeaf.leaf_index > last).order_by(LogLeaf.leaf_index)
            .limit(AUDIT_BATCH)
        ))  # fmt: skip
        if not batch:
            break
        by_kind: dict[str, list[str]] = {}
        for row in batch:
            by_kind.setdefault(row.kind, []).append(row.subject)
        today = {kind: _rows_leaves(session, kind, subjects) for kind, subjects in by_kind.items()}
        for row in batch:
            if row.leaf_index != report.entries:
                problem(f"entries {report.entries} to {row.leaf_index - 1} are missing")
                return report
            data = row.leaf.encode("ascii")
            digest = merkle.leaf_hash(data)
            if digest.hex() != row.leaf_hash:
                problem(f"entry {row.leaf_index}: its bytes do not hash to its stored hash")
            current = today[row.kind].get(row.subject)
            if current is None and row.kind == "text" and _superseded(session, data):
                pass  # a clean text made again (its first attempt failed): a new entry logs it
            elif current is None:
                problem(f"entry {row.leaf_index}: {row.kind} {row.subject} is logged but no "
                        "longer catalogued")  # fmt: skip
            elif current != data:
                problem(f"entry {row.leaf_index}: the catalogue's {row.kind} {row.subject} "
                        "differs from what the log committed to")  # fmt: skip
            level, value = 0, digest
            while stack and stack[-1][0] == level:
                value = merkle.node_hash(stack.pop()[1], value)
                level += 1
            stack.append((level, value))
            report.entries += 1
            check_heads(report.entries)
        last = batch[-1].leaf_index
        session.expunge_all()
    if report.entries != size(session):
        problem(f"the log says it holds {size(session)} entries; {report.entries} are stored")
    unlogged = session.scalar(
        select(func.count()).select_from(Capture).where(
            ~select(LogLeaf.leaf_index).where(LogLeaf.capture_id == Capture.id,
                                              LogLeaf.kind == "capture").exists()
        )
    )  # fmt: skip
    if unlogged:
        problem(f"{unlogged} catalogued capture(s) are not in the log (`stablecopy log catch-up` "
                "adds those catalogued before it existed)")  # fmt: skip
    return report

"""The Merkle tree of RFC 9162 (Certificate Transparency 2.0): leaf and node hashes, tree heads,
inclusion and consistency proofs, made from any store of complete subtrees and checked anew.

Pure: no database, no files. A tree of n leaves is read through a `Subtrees` source that answers
the hash of a complete, aligned subtree (level L, index i covers leaves [i*2^L, (i+1)*2^L)).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()

# The hash of the complete subtree at (level, index); level 0 is a leaf hash.
Subtrees = Callable[[int, int], bytes]


class ProofError(ValueError):
    """A proof does not verify, or was asked for outside the tree."""


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def frontier(size: int) -> list[tuple[int, int]]:
    """The complete subtrees a tree of `size` leaves is made of, largest (leftmost) first."""
    nodes = []
    start = 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            nodes.append((level, start >> level))
            start += 1 << level
    return nodes


def appended(
    size: int, hashes: Iterable[bytes], subtrees: Subtrees
) -> list[tuple[int, int, bytes]]:
    """The inner nodes (level >= 1) completed by appending leaves with `hashes` to a tree of
    `size` leaves, as (level, index, hash); `subtrees` answers the tree's existing nodes."""
    made: dict[tuple[int, int], bytes] = {}
    created = []
    for offset, digest in enumerate(hashes):
        index, level, value = size + offset, 0, digest
        made[(0, index)] = value
        while index & 1:
            sibling = (level, index - 1)
            left = made[sibling] if sibling in made else subtrees(*sibling)
            value = node_hash(left, value)
            level, index = level + 1, index >> 1
            made[(level, index)] = value
            created.append((level, index, value))
    return created


def range_hash(start: int, end: int, subtrees: Subtrees) -> bytes:
    """MTH(D[start:end]) for a range whose start is aligned to its largest power-of-two part (as
    every range the tree head and proofs need)."""
    n = end - start
    if n == 0:
        return EMPTY_ROOT
    if n & (n - 1) == 0:
        level = n.bit_length() - 1
        return subtrees(level, start >> level)
    k = _split(n)
    return node_hash(range_hash(start, start + k, subtrees), range_hash(start + k, end, subtrees))


def root(size: int, subtrees: Subtrees) -> bytes:
    return range_hash(0, size, subtrees)


def inclusion_proof(index: int, size: int, subtrees: Subtrees) -> list[bytes]:
    """PATH(index, D[size]) of RFC 9162 2.1.3.1, leaf end first."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size} leaves")
    path: list[bytes] = []
    start, end, m = 0, size, index
    while end - start > 1:
        k = _split(end - start)
        if m < k:
            path.append(range_hash(start + k, end, subtrees))
            end = start + k
        else:
            path.append(range_hash(start, start + k, subtrees))
            start, m = start + k, m - k
    return path[::-1]


def consistency_proof(old: int, new: int, subtrees: Subtrees) -> list[bytes]:
    """PROOF(old, D[new]) of RFC 9162 2.1.4.1."""
    if not 0 <= old <= new:
        raise ProofError(f"no consistency proof from {old} to {new} leaves")
    if old in (0, new):
        return []
    path: list[bytes] = []
    start, end, m, whole = 0, new, old, True
    while True:
        n = end - start
        if m == n:
            if not whole:
                path.append(range_hash(start, end, subtrees))
            break
        k = _split(n)
        if m <= k:
            path.append(range_hash(start + k, end, subtrees))
            end = start + k
        else:
            path.append(range_hash(start, start + k, subtrees))
            start, m, whole = start + k, m - k, False
    return path[::-1]


def verify_inclusion(
    leaf: bytes, index: int, size: int, path: Sequence[bytes], expected_root: bytes
) -> None:
    """RFC 9162 2.1.3.2, for the leaf hash `leaf`; raises ProofError when it does not hold."""
    if index >= size:
        raise ProofError(f"leaf {index} is not in a tree of {size} leaves")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the tree is deep")
    if r != expected_root:
        raise ProofError("inclusion proof does not lead to the tree head's root")


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, path: Sequence[bytes]
) -> None:
    """RFC 9162 2.1.4.2; raises ProofError when the tree of `new` leaves does not extend the one
    of `old` leaves (a rewritten history)."""
    if old > new:
        raise ProofError(f"a tree of {new} leaves cannot extend one of {old}")
    if old == new:
        if path or old_root != new_root:
            raise ProofError(
                "two heads of the same size with different roots: history was rewritten"
            )
        return
    if old == 0:
        if path:
            raise ProofError("a consistency proof from an empty tree is empty")
        return
    if not path:
        raise ProofError("empty consistency proof")
    nodes = list(path)
    if old & (old - 1) == 0:
        nodes.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = nodes[0]
    for c in nodes[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("consistency proof is shorter than the tree is deep")
    if fr != old_root:
        raise ProofError("the earlier head's root is not in the new tree: history was rewritten")
    if sr != new_root:
        raise ProofError("consistency proof does not lead to the new head's root")


def memory_subtrees(leaf_hashes: Sequence[bytes]) -> Subtrees:
    """A `Subtrees` over leaf hashes held in memory (small trees, tests, evidence checks)."""
    cache: dict[tuple[int, int], bytes] = {}

    def subtree(level: int, index: int) -> bytes:
        if level == 0:
            return leaf_hashes[index]
        key = (level, index)
        if key not in cache:
            cache[key] = node_hash(subtree(level - 1, 2 * index), subtree(level - 1, 2 * index + 1))
        return cache[key]

    return subtree

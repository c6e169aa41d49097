"""RFC 9162 Merkle tree hashing, proofs and their verification (pure functions, no database).

Leaf hash ``SHA-256(0x00 ‖ data)``, node hash ``SHA-256(0x01 ‖ left ‖ right)``; the tree over ``n``
leaves splits at the largest power of two below ``n`` (RFC 9162 §2.1.1).

The ledger stores the hash of every *perfect* subtree that is aligned to its size: node
``(level, index)`` covers leaves ``[index·2^level, (index+1)·2^level)``; level 0 are the leaf
hashes. Every range the RFC's recursions ask for starts at a multiple of the largest power of two
that fits in it, so any such range is a short list (at most log₂ n) of stored nodes, folded from the
right. That is why a proof costs O(log n) node lookups however large the tree is: the functions
here first say which nodes they need (:func:`inclusion_plan`, :func:`consistency_plan`,
:func:`root_plan`), the caller fetches them in one query, then :func:`resolve` computes the hashes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence

from audit.errors import AuditError

Node = tuple[int, int]  # (level, index)
Range = tuple[int, int]  # [start, end) in leaf indices


class ProofError(AuditError):
    """A proof or tree size that cannot be right."""


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 leaf hash."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash."""
    return hashlib.sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()


def _largest_power_below(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def range_nodes(start: int, end: int) -> list[Node]:
    """The aligned perfect subtrees that make up ``[start, end)``, left to right.

    Valid for the ranges RFC 9162's recursions produce, whose start is a multiple of the largest
    power of two not above their size.
    """
    nodes: list[Node] = []
    while start < end:
        size = end - start
        level = size.bit_length() - 1
        if start % (1 << level):
            raise ProofError("range is not aligned")
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def fold(hashes: Sequence[bytes]) -> bytes:
    """The root over consecutive perfect subtrees given left to right (fold from the right)."""
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def root_plan(size: int) -> list[Range]:
    """The range whose hash is the root of a tree of ``size`` leaves."""
    return [(0, size)] if size else []


def inclusion_plan(index: int, size: int) -> list[Range]:
    """The ranges whose hashes form the inclusion proof of leaf ``index`` (RFC 9162 2.1.3.1)."""
    if not 0 <= index < size:
        raise ProofError("leaf index outside the tree")
    path: list[Range] = []
    start, end = 0, size
    while end - start > 1:
        k = _largest_power_below(end - start)
        if index - start < k:
            path.append((start + k, end))
            end = start + k
        else:
            path.append((start, start + k))
            start += k
    path.reverse()  # the RFC lists the path from the leaf upwards
    return path


def consistency_plan(old: int, new: int) -> list[Range]:
    """The ranges forming the consistency proof from ``old`` to ``new`` (RFC 9162 2.1.4.1)."""
    if not 0 < old <= new:
        raise ProofError("tree sizes must satisfy 0 < old <= new")
    proof: list[Range] = []
    start, end, m, complete = 0, new, old, True
    while m != end - start:
        k = _largest_power_below(end - start)
        if m <= k:
            proof.append((start + k, end))
            end = start + k
        else:
            proof.append((start, start + k))
            m -= k
            start += k
            complete = False
    if not complete:
        proof.append((start, end))
    proof.reverse()
    return proof


def nodes_for(ranges: Sequence[Range]) -> set[Node]:
    """Every stored node the ranges need."""
    return {node for start, end in ranges for node in range_nodes(start, end)}


def resolve(ranges: Sequence[Range], nodes: Mapping[Node, bytes]) -> list[bytes]:
    """The hash of each range, from the fetched nodes."""
    try:
        return [fold([nodes[n] for n in range_nodes(s, e)]) for s, e in ranges]
    except KeyError as exc:
        raise ProofError("the ledger is missing a tree node") from exc


def new_nodes(
    index: int, leaf: bytes, sibling: Callable[[Node], bytes]
) -> list[tuple[Node, bytes]]:
    """The nodes completed by appending ``leaf`` at ``index``: the leaf and each finished parent.

    ``sibling(node)`` returns a stored node's hash (the left siblings on the way up).
    """
    out: list[tuple[Node, bytes]] = [((0, index), leaf)]
    level, idx, current = 0, index, leaf
    while idx % 2 == 1:
        current = node_hash(sibling((level, idx - 1)), current)
        level, idx = level + 1, idx // 2
        out.append(((level, idx), current))
    return out


def left_siblings(index: int) -> list[Node]:
    """The stored nodes :func:`new_nodes` reads when appending at ``index``."""
    out: list[Node] = []
    level, idx = 0, index
    while idx % 2 == 1:
        out.append((level, idx - 1))
        level, idx = level + 1, idx // 2
    return out


class Frontier:
    """The roots of the perfect subtrees covering the leaves so far (a compact range)."""

    def __init__(self, stack: Sequence[tuple[int, bytes]] = ()) -> None:
        self.stack: list[tuple[int, bytes]] = list(stack)

    @classmethod
    def at(cls, size: int, nodes: Mapping[Node, bytes]) -> Frontier:
        """The frontier of a tree of ``size`` leaves, from its stored nodes."""
        return cls([(lv, nodes[(lv, i)]) for lv, i in range_nodes(0, size)])

    def push(self, index: int, leaf: bytes) -> list[tuple[Node, bytes]]:
        """Append a leaf; return it and every node it completes."""
        made: list[tuple[Node, bytes]] = [((0, index), leaf)]
        self.stack.append((0, leaf))
        idx = index
        while len(self.stack) >= 2 and self.stack[-1][0] == self.stack[-2][0]:
            (level, right), (_, left) = self.stack.pop(), self.stack.pop()
            idx //= 2
            parent = node_hash(left, right)
            self.stack.append((level + 1, parent))
            made.append(((level + 1, idx), parent))
        return made

    def root(self) -> bytes:
        """The root of the tree so far."""
        return fold([h for _, h in self.stack])


# -- verification (what a third party runs; the same steps are in web/static/ledger.js) --------


def verify_inclusion(
    *, leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 2.1.3.2: does ``path`` prove ``leaf`` (a leaf hash) at ``index`` under ``root``?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = node_hash(p, r)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    *, old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 2.1.4.2: does ``proof`` show tree ``old_size`` is a prefix of ``new_size``?"""
    if not 0 < old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    items = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is the first node
        items.insert(0, old_root)
    if not items:
        return False
    fn, sn = old_size - 1, new_size - 1
    while fn % 2 == 1:
        fn >>= 1
        sn >>= 1
    fr = sr = items[0]
    for c in items[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


def reference_root(leaves: Sequence[bytes]) -> bytes:
    """MTH straight from the RFC's recursive definition (for tests and the full check)."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[0]
    k = _largest_power_below(n)
    return node_hash(reference_root(leaves[:k]), reference_root(leaves[k:]))

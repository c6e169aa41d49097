"""RFC 9162 tree hashing and proofs, checked against the RFC's recursive definitions."""

from __future__ import annotations

import hashlib
import random

import pytest

from audit import merkle


def _leaves(n: int) -> list[bytes]:
    return [merkle.leaf_hash(i.to_bytes(8, "big")) for i in range(n)]


def _rfc_path(m: int, d: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) exactly as RFC 9162 2.1.3.1 writes it."""
    n = len(d)
    if n == 1:
        return []
    k = merkle._largest_power_below(n)
    if m < k:
        return [*_rfc_path(m, d[:k]), merkle.reference_root(d[k:])]
    return [*_rfc_path(m - k, d[k:]), merkle.reference_root(d[:k])]


def _rfc_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) exactly as RFC 9162 2.1.4.1 writes it."""
    n = len(d)
    if m == n:
        return [] if b else [merkle.reference_root(d)]
    k = merkle._largest_power_below(n)
    if m <= k:
        return [*_rfc_subproof(m, d[:k], b), merkle.reference_root(d[k:])]
    return [*_rfc_subproof(m - k, d[k:], False), merkle.reference_root(d[:k])]


def _all_nodes(leaves: list[bytes]) -> dict[merkle.Node, bytes]:
    """Every aligned perfect subtree of a leaf list, as the ledger stores them."""
    nodes: dict[merkle.Node, bytes] = {}
    for i, leaf in enumerate(leaves):
        for node, h in merkle.new_nodes(i, leaf, lambda n: nodes[n]):
            nodes[node] = h
    return nodes


def test_hashes_follow_the_rfc_prefixes() -> None:
    assert merkle.leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert merkle.node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()
    assert merkle.reference_root([]) == hashlib.sha256(b"").digest()


def test_roots_from_stored_nodes_equal_the_rfc_root() -> None:
    leaves = _leaves(70)
    nodes = _all_nodes(leaves)
    for n in range(1, 71):
        (root,) = merkle.resolve(merkle.root_plan(n), nodes)
        assert root == merkle.reference_root(leaves[:n])


def test_inclusion_proofs_equal_the_rfc_paths_and_verify() -> None:
    leaves = _leaves(40)
    nodes = _all_nodes(leaves)
    for n in range(1, 41):
        root = merkle.reference_root(leaves[:n])
        for m in range(n):
            path = merkle.resolve(merkle.inclusion_plan(m, n), nodes)
            assert path == _rfc_path(m, leaves[:n])
            assert merkle.verify_inclusion(leaf=leaves[m], index=m, size=n, path=path, root=root)


def test_consistency_proofs_equal_the_rfc_subproofs_and_verify() -> None:
    leaves = _leaves(40)
    nodes = _all_nodes(leaves)
    for n in range(1, 41):
        for m in range(1, n + 1):
            proof = merkle.resolve(merkle.consistency_plan(m, n), nodes)
            assert proof == _rfc_subproof(m, leaves[:n], True)
            assert merkle.verify_consistency(
                old_size=m,
                new_size=n,
                old_root=merkle.reference_root(leaves[:m]),
                new_root=merkle.reference_root(leaves[:n]),
                proof=proof,
            )


def test_a_wrong_leaf_index_or_root_does_not_verify() -> None:
    leaves = _leaves(11)
    nodes = _all_nodes(leaves)
    root = merkle.reference_root(leaves)
    path = merkle.resolve(merkle.inclusion_plan(5, 11), nodes)
    assert not merkle.verify_inclusion(leaf=leaves[6], index=5, size=11, path=path, root=root)
    assert not merkle.verify_inclusion(leaf=leaves[5], index=4, size=11, path=path, root=root)
    assert not merkle.verify_inclusion(leaf=leaves[5], index=5, size=11, path=path[:-1], root=root)
    assert not merkle.verify_inclusion(leaf=leaves[5], index=5, size=11, path=path, root=bytes(32))


def test_a_forked_history_fails_the_consistency_check() -> None:
    leaves = _leaves(20)
    forked = [*leaves[:6], merkle.leaf_hash(b"rewritten"), *leaves[7:]]
    nodes = _all_nodes(forked)
    proof = merkle.resolve(merkle.consistency_plan(10, 20), nodes)
    assert not merkle.verify_consistency(
        old_size=10,
        new_size=20,
        old_root=merkle.reference_root(leaves[:10]),
        new_root=merkle.reference_root(forked),
        proof=proof,
    )


def test_proofs_in_a_tree_of_100000_leaves_need_log_n_nodes() -> None:
    leaves = _leaves(100_000)
    nodes = _all_nodes(leaves)
    root = merkle.reference_root(leaves)
    rng = random.Random(9162)
    for m in rng.sample(range(100_000), 50):
        plan = merkle.inclusion_plan(m, 100_000)
        assert len(merkle.nodes_for(plan)) <= 2 * 17
        path = merkle.resolve(plan, nodes)
        assert merkle.verify_inclusion(leaf=leaves[m], index=m, size=100_000, path=path, root=root)


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(merkle.ProofError):
        merkle.inclusion_plan(5, 5)
    with pytest.raises(merkle.ProofError):
        merkle.consistency_plan(0, 5)
    with pytest.raises(merkle.ProofError):
        merkle.consistency_plan(6, 5)

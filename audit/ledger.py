"""The ledger as a transparency log: signed tree heads, proofs, and the full check.

Formats (also in docs/ledger.md, for third parties):

- entry of an event: ``prev_hash ‖ canonical JSON`` (:func:`audit.service.event_entry`); leaf index
  ``seq - 1``; leaf hash ``SHA-256(0x00 ‖ entry)``; nodes per RFC 9162.
- signed tree head message: ``b"amanat-sth/1\\n" ‖ size (8 bytes, big-endian) ‖ time (milliseconds
  since 1970-01-01 UTC, 8 bytes, big-endian) ‖ root (32 bytes)``, signed with ECDSA P-256 / SHA-256
  by the ledger key; the signature is ``r ‖ s`` (64 bytes), the form WebCrypto verifies.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select
from sqlalchemy.orm import Session

from audit import merkle
from audit.errors import AuditError
from audit.models import AuditEvent, AuditKey, AuditPending, AuditTreeHead, AuditTreeNode
from audit.service import (
    GENESIS,
    chain_fault,
    chain_pending,
    entry_of,
    event_batches,
    fetch_nodes,
    lock_ledger,
)
from keys import pki
from keys.stores import KeyStore

_LABEL = "audit-ledger-key"
HEAD_PREFIX = b"amanat-sth/1\n"


class LedgerError(AuditError):
    """A proof cannot be produced (unknown event, size beyond the tree, no signed head)."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _millis(when: dt.datetime) -> int:
    # Integer arithmetic: float timestamps can round 122 ms down to 121.999.
    return (when - _EPOCH) // dt.timedelta(milliseconds=1)


def head_message(size: int, signed_at: dt.datetime, root: bytes) -> bytes:
    """The bytes a tree head signature covers."""
    millis = _millis(signed_at)
    return HEAD_PREFIX + size.to_bytes(8, "big") + millis.to_bytes(8, "big") + root


# -- the ledger key -------------------------------------------------------------------------------


def ensure_ledger_key(session: Session, *, keystore: KeyStore, now: dt.datetime) -> AuditKey:
    """The current ledger key, created (sealed under the key store) on first use."""
    row = session.scalars(select(AuditKey).order_by(AuditKey.id.desc()).limit(1)).first()
    if row is not None:
        return row
    key = pki.new_private_key("ec-p256")
    public = pki.public_key_der(key)
    sealed = pki.seal_private_key(keystore, key, label=_LABEL)
    row = AuditKey(
        kid=hashlib.sha256(public).hexdigest()[:16],
        public_key=public,
        master_version=sealed.master_version,
        wrapped_key=sealed.wrapped_key,
        ciphertext=sealed.ciphertext,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def _private(keystore: KeyStore, row: AuditKey) -> pki.PrivateKey:
    sealed = pki.SealedKey(row.master_version, row.wrapped_key, row.ciphertext)
    return pki.open_private_key(keystore, sealed, label=_LABEL)


def ledger_public_keys(session: Session) -> dict[str, bytes]:
    """Every ledger key's SubjectPublicKeyInfo DER by kid (old heads stay checkable)."""
    return {r.kid: r.public_key for r in session.scalars(select(AuditKey))}


def rewrap_ledger_keys(session: Session, *, keystore: KeyStore) -> int:
    """Rewrap every ledger key under the key store's current master key."""
    count = 0
    for row in session.scalars(select(AuditKey)):
        sealed = pki.rewrap_sealed_key(
            keystore,
            pki.SealedKey(row.master_version, row.wrapped_key, row.ciphertext),
            label=_LABEL,
        )
        row.master_version, row.wrapped_key = sealed.master_version, sealed.wrapped_key
        count += 1
    session.flush()
    return count


def sign_statement(
    session: Session, *, keystore: KeyStore, payload: Mapping[str, Any], now: dt.datetime
) -> str:
    """A JWS (compact, ES256) by the ledger key over ``payload`` — consent receipts use it."""
    row = ensure_ledger_key(session, keystore=keystore, now=now)
    header = {"alg": "ES256", "kid": row.kid, "typ": "JWT"}

    def part(obj: Mapping[str, Any]) -> str:
        raw = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    signing_input = f"{part(header)}.{part(payload)}"
    signature = pki.cose_sign(_private(keystore, row), signing_input.encode())
    return signing_input + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()


def verify_statement(session: Session, *, token: str) -> dict[str, Any]:
    """The payload of a JWS made by :func:`sign_statement`; LedgerError when it does not verify."""
    try:
        head_b64, body_b64, sig_b64 = token.split(".")

        def unb64(value: str) -> bytes:
            return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))

        header = json.loads(unb64(head_b64))
        if not isinstance(header, dict):
            raise LedgerError("not a signed statement")
        public = ledger_public_keys(session).get(str(header.get("kid")))
        if header.get("alg") != "ES256" or public is None:
            raise LedgerError("unknown signing key")
        key = pki.load_public_key_der(public)
        if not pki.cose_verify(key, f"{head_b64}.{body_b64}".encode(), unb64(sig_b64)):
            raise LedgerError("signature does not verify")
        payload = json.loads(unb64(body_b64))
    except (ValueError, TypeError) as exc:
        raise LedgerError("not a signed statement") from exc
    if not isinstance(payload, dict):
        raise LedgerError("not a signed statement")
    return payload


# -- tree heads -----------------------------------------------------------------------------------


def tree_size(session: Session) -> int:
    """How many events the ledger holds (the last seq; seqs run 1..n)."""
    return int(session.scalar(select(func.coalesce(func.max(AuditEvent.seq), 0))) or 0)


def root_at(session: Session, size: int) -> bytes:
    """The Merkle root over the first ``size`` events, from the stored nodes."""
    plan = merkle.root_plan(size)
    if not plan:
        return merkle.EMPTY_ROOT
    (root,) = merkle.resolve(plan, fetch_nodes(session, merkle.nodes_for(plan)))
    return root


def latest_tree_head(session: Session) -> AuditTreeHead | None:
    """The newest signed tree head."""
    return session.scalars(
        select(AuditTreeHead).order_by(AuditTreeHead.tree_size.desc(), AuditTreeHead.id.desc())
    ).first()


def publish_tree_head(
    session: Session,
    *,
    keystore: KeyStore,
    now: dt.datetime,
    max_age: dt.timedelta | None = None,
) -> AuditTreeHead:
    """Sign the current tree head unless the latest one already covers every event.

    With ``max_age``, a head that is behind is still reused while it is younger than that (so a
    busy service signs at most once per interval); the next call after it catches up.
    """
    latest = latest_tree_head(session)
    size = tree_size(session)
    waiting = session.scalar(select(func.count()).select_from(AuditPending)) or 0
    if latest is not None and latest.tree_size == size and not waiting:
        return latest
    if latest is not None and max_age is not None and now - latest.signed_at < max_age:
        if waiting:
            chain_pending(session)  # chained now, signed with the next head
        return latest
    lock_ledger(session)  # the size and the root must describe the same tree
    chain_pending(session)  # events that waited for the ledger belong in the head
    size = tree_size(session)
    root = root_at(session, size)
    key_row = ensure_ledger_key(session, keystore=keystore, now=now)
    signed_at = now.astimezone(dt.UTC).replace(microsecond=(now.microsecond // 1000) * 1000)
    signature = pki.cose_sign(_private(keystore, key_row), head_message(size, signed_at, root))
    head = AuditTreeHead(
        tree_size=size, root_hash=root, signed_at=signed_at, key_id=key_row.id, signature=signature
    )
    session.add(head)
    session.flush()
    return head


def head_json(session: Session, head: AuditTreeHead) -> dict[str, Any]:
    """A tree head as published (JSON; binary fields base64)."""
    key = session.get(AuditKey, head.key_id)
    assert key is not None
    return {
        "tree_size": head.tree_size,
        "root_hash": _b64(head.root_hash),
        "timestamp": _millis(head.signed_at),
        "signed_at": head.signed_at.isoformat(),
        "key_id": key.kid,
        "public_key": _b64(key.public_key),
        "signature": _b64(head.signature),
    }


def check_head_signature(public_key_der: bytes, head: AuditTreeHead) -> bool:
    """Does the head's signature verify under the given ledger key?"""
    key = pki.load_public_key_der(public_key_der)
    message = head_message(head.tree_size, head.signed_at, head.root_hash)
    return pki.cose_verify(key, message, head.signature)


# -- proofs ---------------------------------------------------------------------------------------


def _event(session: Session, seq: int) -> AuditEvent:
    event = session.scalars(select(AuditEvent).where(AuditEvent.seq == seq)).first()
    if event is None:
        raise LedgerError(f"no event {seq}")
    return event


def inclusion_proofs(
    session: Session, *, seqs: Sequence[int], head: AuditTreeHead
) -> list[dict[str, Any]]:
    """Inclusion proofs of events under one signed head (one node query for all of them)."""
    plans: list[list[merkle.Range]] = []
    for seq in seqs:
        if not 1 <= seq <= head.tree_size:
            raise LedgerError(f"event {seq} is not covered by the tree head")
        plans.append(merkle.inclusion_plan(seq - 1, head.tree_size))
    wanted = set().union(*(merkle.nodes_for(p) for p in plans)) if plans else set()
    nodes = fetch_nodes(session, wanted)
    events = {
        e.seq: e for e in session.scalars(select(AuditEvent).where(AuditEvent.seq.in_(list(seqs))))
    }
    out = []
    for seq, plan in zip(seqs, plans, strict=True):
        event = events.get(seq)
        if event is None:
            raise LedgerError(f"no event {seq}")
        out.append(
            {
                "event": seq,
                "leaf_index": seq - 1,
                "entry": _b64(entry_of(event)),
                "path": [_b64(h) for h in merkle.resolve(plan, nodes)],
            }
        )
    return out


def inclusion_proof(session: Session, *, seq: int, head: AuditTreeHead) -> dict[str, Any]:
    """Everything a third party needs to check that event ``seq`` is in the signed tree."""
    (proof,) = inclusion_proofs(session, seqs=[seq], head=head)
    return {"tree_head": head_json(session, head), **proof}


def head_at_size(session: Session, size: int) -> AuditTreeHead:
    """A signed head of exactly ``size`` events."""
    head = session.scalars(
        select(AuditTreeHead).where(AuditTreeHead.tree_size == size).order_by(AuditTreeHead.id)
    ).first()
    if head is None:
        raise LedgerError(f"no signed tree head of size {size}")
    return head


def consistency_proof(session: Session, *, old_size: int, new_size: int) -> dict[str, Any]:
    """A consistency proof between two signed heads (their sizes), with both heads."""
    old, new = head_at_size(session, old_size), head_at_size(session, new_size)
    try:
        plan = merkle.consistency_plan(old_size, new_size)
    except merkle.ProofError as exc:
        raise LedgerError(str(exc)) from exc
    proof = merkle.resolve(plan, fetch_nodes(session, merkle.nodes_for(plan)))
    return {
        "old_head": head_json(session, old),
        "new_head": head_json(session, new),
        "proof": [_b64(h) for h in proof],
    }


# -- the full check -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerReport:
    """Outcome of :func:`verify_ledger`."""

    events: int
    heads: int
    first_bad_seq: int | None
    problem: str | None
    # Events committed while the ledger was busy and not chained yet (not an error).
    waiting: int = 0

    @property
    def intact(self) -> bool:
        """True when the chain, the stored tree and every signed head check out."""
        return self.problem is None


def _stored_nodes(session: Session, first: int, last: int) -> dict[merkle.Node, bytes]:
    """Stored nodes whose rightmost leaf lies in [first, last]."""
    conditions = []
    for level in range(0, max(last, 1).bit_length() + 1):
        lo, hi = ((first + 1) >> level) - 1, ((last + 1) >> level) - 1
        lo = max(lo, 0)
        if hi >= lo and ((last + 1) >> level) > 0:
            conditions.append(and_(AuditTreeNode.level == level, AuditTreeNode.idx.between(lo, hi)))
    rows = session.execute(
        select(AuditTreeNode.level, AuditTreeNode.idx, AuditTreeNode.hash).where(or_(*conditions))
    ).all()
    return {(r.level, r.idx): r.hash for r in rows}


def verify_ledger(session: Session, *, batch: int = 5000) -> LedgerReport:
    """Recompute the chain and the tree from the events; check stored nodes and every head.

    Names the first event that does not fit: edited content, a missing or reordered event, a
    stored tree node that disagrees, or a signed head the table no longer matches (which is how
    removing the newest events shows).
    """
    heads = session.scalars(select(AuditTreeHead).order_by(AuditTreeHead.tree_size)).all()
    keys = {r.id: r.public_key for r in session.scalars(select(AuditKey))}
    for head in heads:
        if head.key_id not in keys or not check_head_signature(keys[head.key_id], head):
            return LedgerReport(0, len(heads), None, f"tree head {head.id} has a bad signature")
    pending = list(heads)
    frontier = merkle.Frontier()
    prev, count = GENESIS, 0

    def check_heads(size: int) -> LedgerReport | None:
        while pending and pending[0].tree_size == size:
            head = pending.pop(0)
            if head.tree_size and frontier.root() != head.root_hash:
                return LedgerReport(
                    count, len(heads), size, f"signed tree head of size {size} does not match"
                )
        return None

    bad = check_heads(0)
    if bad:
        return bad
    for rows in event_batches(session, batch=batch):
        stored = _stored_nodes(session, rows[0].seq - 1, rows[-1].seq - 1)
        for event in rows:
            fault = chain_fault(event, expected_seq=count + 1, prev_hash=prev)
            if fault:
                return LedgerReport(count, len(heads), *fault)
            for node, value in frontier.push(event.seq - 1, merkle.leaf_hash(entry_of(event))):
                if stored.get(node) != value:
                    return LedgerReport(
                        count, len(heads), event.seq, f"stored tree node {node} does not match"
                    )
            prev, count = event.hash, count + 1
            bad = check_heads(count)
            if bad:
                return bad
    if pending:
        return LedgerReport(
            count,
            len(heads),
            count + 1,
            f"a signed tree head covers {pending[-1].tree_size} events but the ledger has {count}:"
            " events were removed",
        )
    waiting = int(session.scalar(select(func.count()).select_from(AuditPending)) or 0)
    return LedgerReport(count, len(heads), None, None, waiting)


def rebuild_tree_nodes(session: Session, *, batch: int = 5000) -> int:
    """Rebuild the tree nodes from the events when they do not match in number (after the
    upgrade to the Merkle ledger, which found events without leaves). Returns the events covered;
    0 when nothing had to be done. Run with writers stopped (``amanat db upgrade`` does)."""
    events = int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)
    leaves = int(
        session.scalar(
            select(func.count()).select_from(AuditTreeNode).where(AuditTreeNode.level == 0)
        )
        or 0
    )
    if events == leaves:
        return 0
    lock_ledger(session)
    session.execute(delete(AuditTreeNode))
    frontier = merkle.Frontier()
    count = 0
    for rows in event_batches(session, batch=batch):
        made = []
        for event in rows:
            made.extend(frontier.push(event.seq - 1, merkle.leaf_hash(entry_of(event))))
            count += 1
        session.execute(
            insert(AuditTreeNode), [{"level": lv, "idx": i, "hash": h} for (lv, i), h in made]
        )
    session.flush()
    return count

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
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from audit import checkpoint, merkle
from audit.errors import AuditError
from audit.keyring import (
    LABEL,
    LedgerKeyError,
    ensure_ledger_key,
    event_mac,
    lock_ledger,
    mac_key_of,
    macs_equal,
    open_ledger_key,
    sealed_of,
    vouched_public_key,
)
from audit.models import AuditEvent, AuditKey, AuditPending, AuditTreeHead, AuditTreeNode
from audit.redaction import redaction_holds
from audit.service import (
    GENESIS,
    chain_fault,
    chain_pending,
    entry_of,
    event_batches,
    fetch_nodes,
)
from keys import pki
from keys.stores import KeyStore

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


def ledger_public_keys(session: Session, *, keystore: KeyStore) -> dict[str, bytes]:
    """Every ledger key's SubjectPublicKeyInfo DER by kid, as the key store vouches for it.

    The public key is derived from the sealed private key that only the key store opens; a row
    whose stored public key differs (replaced by someone holding only the database) raises
    :class:`LedgerKeyError`, so nothing is ever checked against a key the database chose.
    """
    return {kid: public for kid, (_, public) in _trusted_keys(session, keystore).items()}


def _trusted_keys(session: Session, keystore: KeyStore) -> dict[str, tuple[AuditKey, bytes]]:
    out: dict[str, tuple[AuditKey, bytes]] = {}
    for row in session.scalars(select(AuditKey).order_by(AuditKey.id)):
        out[row.kid] = (row, vouched_public_key(keystore, row))
    return out


def rewrap_ledger_keys(session: Session, *, keystore: KeyStore) -> int:
    """Rewrap every ledger key under the key store's current master key."""
    count = 0
    for row in session.scalars(select(AuditKey)):
        sealed = pki.rewrap_sealed_key(keystore, sealed_of(row), label=LABEL)
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
    signature = pki.cose_sign(open_ledger_key(keystore, row), signing_input.encode())
    return signing_input + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()


def verify_statement(session: Session, *, keystore: KeyStore, token: str) -> dict[str, Any]:
    """The payload of a JWS made by :func:`sign_statement`; LedgerError when it does not verify."""
    try:
        head_b64, body_b64, sig_b64 = token.split(".")

        def unb64(value: str) -> bytes:
            return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))

        header = json.loads(unb64(head_b64))
        if not isinstance(header, dict):
            raise LedgerError("not a signed statement")
        public = ledger_public_keys(session, keystore=keystore).get(str(header.get("kid")))
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
    busy service signs at most once per interval); the next call after it catches up. Before
    signing, the tree must still hold the last signed head and every event since must carry the
    ledger key's MAC: an honest head never vouches for what a database-only writer added.
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
    key_row = ensure_ledger_key(session, keystore=keystore, now=now)
    private = open_ledger_key(keystore, key_row)
    _check_before_signing(session, keystore=keystore, latest=latest)
    root = root_at(session, size)
    signed_at = now.astimezone(dt.UTC).replace(microsecond=(now.microsecond // 1000) * 1000)
    signature = pki.cose_sign(private, head_message(size, signed_at, root))
    head = AuditTreeHead(
        tree_size=size, root_hash=root, signed_at=signed_at, key_id=key_row.id, signature=signature
    )
    session.add(head)
    session.flush()
    return head


def _check_before_signing(
    session: Session, *, keystore: KeyStore, latest: AuditTreeHead | None
) -> None:
    """Refuse to sign when the tree lost the last head or an event since has no valid MAC."""
    first = latest.tree_size if latest is not None else 0
    if latest is not None and root_at(session, first) != latest.root_hash:
        raise LedgerError(
            "the ledger no longer matches its last signed head: run 'amanat audit verify'"
        )
    mac_key = _mac_key(session, keystore)
    for rows in event_batches(session, after=first):
        for event in rows:
            if not macs_equal(event.mac, event_mac(mac_key, event.hash)):
                raise LedgerError(
                    f"event {event.seq} is not authenticated by the ledger key:"
                    " run 'amanat audit verify'"
                )


def _mac_key(session: Session, keystore: KeyStore) -> bytes:
    """The event-authentication key of the ledger's first key (see audit.keyring)."""
    row = session.scalars(select(AuditKey).order_by(AuditKey.id).limit(1)).first()
    if row is None:
        raise LedgerKeyError("the ledger has no key yet")
    return mac_key_of(open_ledger_key(keystore, row))


def head_json(session: Session, head: AuditTreeHead, *, keystore: KeyStore) -> dict[str, Any]:
    """A tree head as published (JSON; binary fields base64), with the key the key store vouches
    for (LedgerKeyError when the database's key was replaced)."""
    key = session.get(AuditKey, head.key_id)
    if key is None:
        raise LedgerKeyError("a tree head names a ledger key that does not exist")
    public = vouched_public_key(keystore, key)
    return {
        "tree_size": head.tree_size,
        "root_hash": _b64(head.root_hash),
        "timestamp": _millis(head.signed_at),
        "signed_at": head.signed_at.isoformat(),
        "key_id": key.kid,
        "public_key": _b64(public),
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
    nodes = fetch_nodes(session, wanted | {(0, seq - 1) for seq in seqs})
    events = {
        e.seq: e for e in session.scalars(select(AuditEvent).where(AuditEvent.seq.in_(list(seqs))))
    }
    out = []
    for seq, plan in zip(seqs, plans, strict=True):
        event = events.get(seq)
        if event is None:
            raise LedgerError(f"no event {seq}")
        proof: dict[str, Any] = {"event": seq, "leaf_index": seq - 1}
        if event.redaction is None:
            proof["entry"] = _b64(entry_of(event))
        else:
            # Erased (audit.redaction): no entry is left, only the leaf that stands for it.
            proof["entry"], proof["leaf_hash"] = None, _b64(nodes[(0, seq - 1)])
        proof["path"] = [_b64(h) for h in merkle.resolve(plan, nodes)]
        out.append(proof)
    return out


def inclusion_proof(
    session: Session, *, keystore: KeyStore, seq: int, head: AuditTreeHead
) -> dict[str, Any]:
    """Everything a third party needs to check that event ``seq`` is in the signed tree."""
    (proof,) = inclusion_proofs(session, seqs=[seq], head=head)
    return {"tree_head": head_json(session, head, keystore=keystore), **proof}


def head_at_size(session: Session, size: int) -> AuditTreeHead:
    """A signed head of exactly ``size`` events."""
    head = session.scalars(
        select(AuditTreeHead).where(AuditTreeHead.tree_size == size).order_by(AuditTreeHead.id)
    ).first()
    if head is None:
        raise LedgerError(f"no signed tree head of size {size}")
    return head


def consistency_proof(
    session: Session, *, keystore: KeyStore, old_size: int, new_size: int
) -> dict[str, Any]:
    """A consistency proof between two signed heads (their sizes), with both heads."""
    old, new = head_at_size(session, old_size), head_at_size(session, new_size)
    try:
        plan = merkle.consistency_plan(old_size, new_size)
    except merkle.ProofError as exc:
        raise LedgerError(str(exc)) from exc
    proof = merkle.resolve(plan, fetch_nodes(session, merkle.nodes_for(plan)))
    return {
        "old_head": head_json(session, old, keystore=keystore),
        "new_head": head_json(session, new, keystore=keystore),
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


@dataclass
class _Walk:
    """State of one pass over the ledger in :func:`verify_ledger`."""

    heads: list[AuditTreeHead]
    mac_key: bytes | None
    frontier: merkle.Frontier
    prev: bytes = GENESIS
    count: int = 0

    def report(self, seq: int | None, problem: str | None) -> LedgerReport:
        return LedgerReport(self.count, self._total, seq, problem)

    def __post_init__(self) -> None:
        self._total = len(self.heads)

    def check_heads(self) -> LedgerReport | None:
        """Every signed head of the current size must have the current root."""
        while self.heads and self.heads[0].tree_size == self.count:
            head = self.heads.pop(0)
            if head.tree_size and self.frontier.root() != head.root_hash:
                return self.report(
                    self.count, f"signed tree head of size {self.count} does not match"
                )
        return None

    def step(self, event: Any, stored: Mapping[merkle.Node, bytes]) -> LedgerReport | None:
        """Check one event: its link, its hash, its MAC, its tree nodes, the heads at its size."""
        fault = chain_fault(event, expected_seq=self.count + 1, prev_hash=self.prev)
        if fault:
            return self.report(*fault)
        if self.mac_key is None or not macs_equal(event.mac, event_mac(self.mac_key, event.hash)):
            return self.report(
                event.seq, "not authenticated by the ledger key (written outside Amanat)"
            )
        if event.redaction is None:
            leaf: bytes | None = merkle.leaf_hash(entry_of(event))
        else:
            leaf = stored.get((0, event.seq - 1))
            if not redaction_holds(self.mac_key, event, leaf):
                return self.report(event.seq, "content wiped without the ledger key's erasure tag")
        assert leaf is not None
        for node, value in self.frontier.push(event.seq - 1, leaf):
            if stored.get(node) != value:
                return self.report(event.seq, f"stored tree node {node} does not match")
        self.prev, self.count = event.hash, self.count + 1
        return self.check_heads()


def _check_keys_and_heads(
    session: Session, keystore: KeyStore, heads: Sequence[AuditTreeHead]
) -> tuple[bytes | None, str | None]:
    """(MAC key, problem): the database's ledger keys against the key store, then each head."""
    try:
        trusted = _trusted_keys(session, keystore)
    except LedgerKeyError as exc:
        return None, str(exc)
    by_id = {row.id: public for row, public in trusted.values()}
    for head in heads:
        if head.key_id not in by_id or not check_head_signature(by_id[head.key_id], head):
            return None, f"tree head {head.id} has a bad signature"
    first = min((row for row, _ in trusted.values()), key=lambda r: r.id, default=None)
    return (mac_key_of(open_ledger_key(keystore, first)) if first else None), None


def verify_ledger(session: Session, *, keystore: KeyStore, batch: int = 5000) -> LedgerReport:
    """Recompute the chain and the tree from the events; check stored nodes and every head.

    The keys come from outside the database: each ledger key must open with the key store and
    match its stored public key, heads verify under those keys only, and each event's MAC under
    the key store's ledger key. Names the first event that does not fit: edited content, a
    missing, reordered or fabricated event, a stored tree node that disagrees, or a signed head
    the table no longer matches (which is how removing the newest events shows). Events that no
    signed head covers at all are a failure too.
    """
    heads = list(session.scalars(select(AuditTreeHead).order_by(AuditTreeHead.tree_size)).all())
    mac_key, problem = _check_keys_and_heads(session, keystore, heads)
    if problem:
        return LedgerReport(0, len(heads), None, problem)
    walk = _Walk(heads=list(heads), mac_key=mac_key, frontier=merkle.Frontier())
    bad = walk.check_heads()
    for rows in event_batches(session, batch=batch):
        if bad:
            break
        stored = _stored_nodes(session, rows[0].seq - 1, rows[-1].seq - 1)
        bad = next(filter(None, (walk.step(event, stored) for event in rows)), None)
    if bad:
        return bad
    if walk.heads:
        return walk.report(
            walk.count + 1,
            f"a signed tree head covers {walk.heads[-1].tree_size} events but the ledger has"
            f" {walk.count}: events were removed",
        )
    if walk.count and not heads:
        return walk.report(None, f"no signed tree head covers the ledger's {walk.count} events")
    waiting = int(session.scalar(select(func.count()).select_from(AuditPending)) or 0)
    return LedgerReport(walk.count, len(heads), None, None, waiting)


def authenticate_legacy_events(session: Session, *, keystore: KeyStore, now: dt.datetime) -> int:
    """Give a MAC to every event written before MACs existed (revision 0005); how many.

    Run once, right after that upgrade, with writers stopped (``amanat db upgrade`` does): it
    vouches for whatever the table holds at that moment.
    """
    lock_ledger(session)
    mac_key = mac_key_of(
        open_ledger_key(keystore, ensure_ledger_key(session, keystore=keystore, now=now))
    )
    count = 0
    for rows in event_batches(session):
        todo = [r for r in rows if r.mac is None]
        for row in todo:
            session.execute(
                update(AuditEvent)
                .where(AuditEvent.seq == row.seq)
                .values(mac=event_mac(mac_key, row.hash))
            )
        count += len(todo)
    session.flush()
    return count


def _leaf_of(event: Any, kept: Mapping[int, bytes]) -> bytes:
    if event.redaction is None:
        return merkle.leaf_hash(entry_of(event))
    if event.seq - 1 not in kept:
        raise LedgerError(f"erased event {event.seq} has no stored leaf to rebuild from")
    return kept[event.seq - 1]


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
    # An erased event has no content to hash again: its stored leaf is what stands for it.
    kept = {
        idx: leaf
        for idx, leaf in session.execute(
            select(AuditTreeNode.idx, AuditTreeNode.hash)
            .join(AuditEvent, AuditEvent.seq - 1 == AuditTreeNode.idx)
            .where(AuditTreeNode.level == 0, AuditEvent.redaction.is_not(None))
        )
    }
    session.execute(delete(AuditTreeNode))
    frontier = merkle.Frontier()
    count = 0
    for rows in event_batches(session, batch=batch):
        made = []
        for event in rows:
            made.extend(frontier.push(event.seq - 1, _leaf_of(event, kept)))
            count += 1
        session.execute(
            insert(AuditTreeNode), [{"level": lv, "idx": i, "hash": h} for (lv, i), h in made]
        )
    session.flush()
    return count


# -- checkpoints and witnesses (audit.checkpoint) -------------------------------------------------


def consistency_path(session: Session, *, old_size: int, new_size: int) -> list[bytes]:
    """The RFC 9162 consistency proof between two tree sizes, from the stored nodes."""
    if old_size == 0 or old_size == new_size:
        return []
    try:
        plan = merkle.consistency_plan(old_size, new_size)
    except merkle.ProofError as exc:
        raise LedgerError(str(exc)) from exc
    return merkle.resolve(plan, fetch_nodes(session, merkle.nodes_for(plan)))


def checkpoint_of(session: Session, *, keystore: KeyStore, origin: str, head: AuditTreeHead) -> str:
    """A signed tree head as a C2SP checkpoint, signed by the ledger key."""
    key = session.get(AuditKey, head.key_id)
    if key is None:
        raise LedgerKeyError("a tree head names a ledger key that does not exist")
    private = open_ledger_key(keystore, key)
    public = pki.public_key_der(private)
    return checkpoint.sign(origin, head.tree_size, head.root_hash, key=private, public_der=public)


class WitnessDisagrees(LedgerError):
    """A witness saw a longer or different ledger than the one in the database."""


Post = Callable[[bytes], tuple[int, str]]


def submit_to_witness(
    session: Session, *, keystore: KeyStore, origin: str, head: AuditTreeHead, post: Post
) -> str:
    """Have a witness cosign ``head``; its cosignature line. WitnessDisagrees when the witness
    has seen more events than the ledger holds, or a tree this one does not extend."""
    note = checkpoint_of(session, keystore=keystore, origin=origin, head=head)
    status, text = post(checkpoint.add_checkpoint_request(0, [], note))
    if status == 409:
        seen = _witness_size(text)
        if seen > head.tree_size:
            raise WitnessDisagrees(
                f"the witness has seen {seen} events but the ledger holds {head.tree_size}:"
                " events were removed"
            )
        proof = consistency_path(session, old_size=seen, new_size=head.tree_size)
        status, text = post(checkpoint.add_checkpoint_request(seen, proof, note))
        if status in (409, 422):
            raise WitnessDisagrees(
                f"the ledger does not extend the {seen} events the witness saw: history changed"
            )
    if status != 200:
        raise LedgerError(f"the witness answered {status}: {text.strip()[:200]}")
    return text


def _witness_size(text: str) -> int:
    value = text.strip()
    if not value.isdigit() or len(value) > 19:
        raise LedgerError("the witness's answer is not a tree size")
    return int(value)

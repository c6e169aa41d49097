"""Appending to, reading and checking the hash-chained ledger."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Row, Table, and_, bindparam, or_, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause

from amanat.db import is_postgresql
from audit import merkle
from audit.actors import OPERATOR, Actor
from audit.errors import AuditError
from audit.keyring import (
    _APPEND_LOCK,
    event_mac,
    ledger_keys,
    lock_ledger,
    macs_equal,
    pending_mac,
)
from audit.models import AuditEvent, AuditPending, AuditTreeNode
from audit.tags import EventTag

log = logging.getLogger("amanat.audit")

GENESIS = bytes(32)
# Event numbers are 64-bit (BIGINT); anything outside is not an event number.
MAX_SEQ = 2**63 - 1
# Set in Session.info when a transaction appended events (the web publishes a tree head after).
LEDGER_APPENDED = "amanat.ledger_appended"
# Set when a transaction wrote events to wait for the ledger (PostgreSQL under contention).
LEDGER_PENDING = "amanat.ledger_pending"


def _utc(value: dt.datetime) -> dt.datetime:
    # Callers pass aware times (the database returns them aware too, see amanat.db.UtcDateTime);
    # the hash input is always written in UTC.
    return value.astimezone(dt.UTC)


def event_entry(
    *,
    prev_hash: bytes,
    seq: int,
    tag: str,
    actor: str,
    subject_id: int | None,
    object_type: str | None,
    object_id: str | None,
    details: Mapping[str, Any],
    occurred_at: dt.datetime,
) -> bytes:
    """The bytes an event stands for: the previous event's hash ‖ canonical JSON of its fields.

    The chain hash is SHA-256 of these bytes and the Merkle leaf is ``merkle.leaf_hash`` of them,
    so a proof's holder can read the event back from the entry (docs/ledger.md).
    """
    body = {
        "seq": seq,
        "tag": tag,
        "actor": actor,
        "subject": subject_id,
        "object_type": object_type,
        "object_id": object_id,
        "details": details,
        "at": _utc(occurred_at).isoformat(timespec="microseconds"),
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return prev_hash + canonical.encode()


def event_digest(**fields: Any) -> bytes:
    """SHA-256 over the event's entry (:func:`event_entry`): its link in the hash chain."""
    return hashlib.sha256(event_entry(**fields)).digest()


def entry_of(event: Any) -> bytes:
    """The entry of a stored event (an ORM object or a plain row)."""
    return event_entry(
        prev_hash=event.prev_hash,
        seq=event.seq,
        tag=event.tag,
        actor=event.actor,
        subject_id=event.subject_id,
        object_type=event.object_type,
        object_id=event.object_id,
        details=event.details,
        occurred_at=event.occurred_at,
    )


@functools.lru_cache(maxsize=64)
def _pg_append_sql(node_count: int) -> TextClause:
    """INSERT of an event and its ``node_count`` tree nodes in one statement (PostgreSQL)."""
    values = ", ".join(f"(:l{k}, :i{k}, :h{k})" for k in range(node_count))
    # Only numbered placeholders are added to the fixed head: no data is ever formatted in.
    return text(_PG_APPEND_HEAD + values)


_PG_APPEND_HEAD = (
    "WITH e AS (INSERT INTO audit_events (seq, tag, actor, subject_id, object_type, object_id,"
    " details, occurred_at, prev_hash, hash, mac) VALUES (:seq, :tag, :actor, :subject_id,"
    " :object_type, :object_id, CAST(:details AS JSON), :occurred_at, :prev_hash, :hash, :mac))"
    " INSERT INTO audit_tree_nodes (level, idx, hash) VALUES "
)


def fetch_nodes(session: Session, wanted: Iterable[merkle.Node]) -> dict[merkle.Node, bytes]:
    """Stored tree nodes by (level, index), in one query that uses the primary key."""
    by_level: dict[int, list[int]] = {}
    for level, idx in wanted:
        by_level.setdefault(level, []).append(idx)
    if not by_level:
        return {}
    # One (level = ? AND idx IN (...)) per level: SQLite does not use an index for row values.
    rows = session.execute(
        select(AuditTreeNode.level, AuditTreeNode.idx, AuditTreeNode.hash).where(
            or_(
                *(
                    and_(AuditTreeNode.level == level, AuditTreeNode.idx.in_(idxs))
                    for level, idxs in by_level.items()
                )
            )
        )
    ).all()
    return {(r.level, r.idx): r.hash for r in rows}


_EVENTS = cast(Table, AuditEvent.__table__)
_NODES = cast(Table, AuditTreeNode.__table__)
_PENDING = cast(Table, AuditPending.__table__)
# One round trip: take the ledger if it is free, and see whether events wait to be chained.
_TRY_LOCK_AND_LOOK = text(
    "SELECT pg_try_advisory_xact_lock(:k, hashtext(current_schema())),"
    " EXISTS (SELECT 1 FROM audit_pending)"
)
# Fixed-shape Core statements: compiled once and cached, so an append costs three short
# statements (the last event, the event, its tree nodes) and a sibling read every other time.
_LAST = select(_EVENTS.c.seq, _EVENTS.c.hash).order_by(_EVENTS.c.seq.desc()).limit(1)
_SIBLING = select(_NODES.c.hash).where(
    _NODES.c.level == bindparam("level"), _NODES.c.idx == bindparam("idx")
)


def record_event(
    session: Session,
    *,
    tag: EventTag,
    actor: Actor | str,
    subject_id: int | None,
    now: dt.datetime,
    object_type: str | None = None,
    object_id: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> int | None:
    """Append an event in the caller's transaction (it commits or rolls back with the action).

    Returns the event's number (its ``seq``), or None on PostgreSQL when another transaction
    held the ledger: the event is then written to ``audit_pending`` in this transaction and chained
    by the next transaction that holds the ledger (the next append, the next signed tree head, or
    :func:`chain_pending`). That delay is the ledger's merge delay; waiting for the holder's commit
    instead would make the ledger one commit at a time under load. Either way the row carries a
    MAC by the key store's ledger key (:mod:`audit.keyring`).
    """
    if not isinstance(tag, EventTag):
        raise AuditError("event tags must be EventTag members")
    mac_key = ledger_keys(session).mac_key(session, now=now)
    fields: dict[str, Any] = {
        "tag": tag.value,
        "actor": str(actor),
        "subject_id": subject_id,
        "object_type": object_type,
        "object_id": object_id,
        "details": dict(details or {}),
        "occurred_at": _utc(now),
    }
    conn = session.connection()
    if is_postgresql(session):
        locked, others_waiting = conn.execute(_TRY_LOCK_AND_LOOK, {"k": _APPEND_LOCK}).one()
        if not locked:
            # Another transaction holds the ledger until it commits. Waiting would make the
            # ledger one commit at a time; instead the event is written now, in this transaction
            # (it commits or rolls back with the action), and chained in order by the next holder.
            mac = pending_mac(mac_key, _pending_entry(fields))
            waiting = conn.execute(
                _PENDING.insert().returning(_PENDING.c.id), {**fields, "mac": mac}
            ).scalar_one()
            session.info.setdefault(LEDGER_PENDING, []).append(waiting)
            return None
        if others_waiting:
            _chain_pending_locked(session)  # what others left waiting goes first, in their order
    return _append_one(session, fields, mac_key)


def record_operator(
    session: Session,
    tag: EventTag,
    *,
    object_type: str,
    object_id: str,
    now: dt.datetime,
    details: Mapping[str, Any] | None = None,
) -> int | None:
    """An act of the operator (the command line: registering, revoking, rolling keys), about no
    citizen; the department's or organisation's record shows it."""
    return record_event(
        session, tag=tag, actor=OPERATOR, subject_id=None, now=now,
        object_type=object_type, object_id=object_id, details=details,
    )  # fmt: skip


def _fields_entry(fields: Mapping[str, Any], *, prev_hash: bytes, seq: int) -> bytes:
    """The entry (:func:`event_entry`) of an event given as a field dict."""
    return event_entry(
        prev_hash=prev_hash,
        seq=seq,
        tag=fields["tag"],
        actor=fields["actor"],
        subject_id=fields["subject_id"],
        object_type=fields["object_type"],
        object_id=fields["object_id"],
        details=fields["details"],
        occurred_at=fields["occurred_at"],
    )


def _pending_entry(fields: Mapping[str, Any]) -> bytes:
    """The entry a waiting event's MAC covers: its fields, with no link and number 0."""
    return _fields_entry(fields, prev_hash=b"", seq=0)


def _append_one(session: Session, fields: dict[str, Any], mac_key: bytes) -> int:
    """Chain one event after the last (the caller holds the ledger) with its tree nodes."""
    conn = session.connection()
    session.info[LEDGER_APPENDED] = True
    last = conn.execute(_LAST).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    entry = _fields_entry(fields, prev_hash=prev, seq=seq)
    digest = hashlib.sha256(entry).digest()
    event = {**fields, "seq": seq, "prev_hash": prev, "hash": digest}
    event["mac"] = event_mac(mac_key, digest)

    def sibling(node: merkle.Node) -> bytes:
        value = conn.execute(_SIBLING, {"level": node[0], "idx": node[1]}).scalar()
        if value is None:
            raise AuditError("the ledger's tree is missing a node: run 'amanat audit verify'")
        return bytes(value)

    nodes = [
        {"level": lv, "idx": i, "hash": h}
        for (lv, i), h in merkle.new_nodes(seq - 1, merkle.leaf_hash(entry), sibling)
    ]
    if is_postgresql(session):
        # One round trip for the event and its nodes (the lock is held until commit: every
        # round trip saved is throughput), as fixed SQL so that nothing is compiled per call.
        params: dict[str, Any] = {
            **event,
            "details": json.dumps(fields["details"], ensure_ascii=False),
        }
        for k, node in enumerate(nodes):
            params.update({f"l{k}": node["level"], f"i{k}": node["idx"], f"h{k}": node["hash"]})
        conn.execute(_pg_append_sql(len(nodes)), params)
    else:
        conn.execute(_EVENTS.insert(), event)
        conn.execute(_NODES.insert(), nodes)
    return seq


@dataclass(frozen=True)
class NewEvent:
    """One event for :func:`record_events`."""

    tag: EventTag
    actor: str
    subject_id: int | None
    object_type: str | None = None
    object_id: str | None = None
    details: Mapping[str, Any] | None = None


def record_events(session: Session, *, events: Sequence[NewEvent], now: dt.datetime) -> int:
    """Append many events at once (one lock, two bulk inserts): batches, imports, benchmarks."""
    if any(not isinstance(e.tag, EventTag) for e in events):
        raise AuditError("event tags must be EventTag members")
    if not events:
        return 0
    lock_ledger(session)
    if is_postgresql(session):
        _chain_pending_locked(session)
    session.info[LEDGER_APPENDED] = True
    occurred = _utc(now)
    mac_key = ledger_keys(session).mac_key(session, now=now)
    return _append_rows(
        session,
        mac_key,
        [
            {
                "tag": e.tag.value,
                "actor": e.actor,
                "subject_id": e.subject_id,
                "object_type": e.object_type,
                "object_id": e.object_id,
                "details": dict(e.details or {}),
                "occurred_at": occurred,
            }
            for e in events
        ],
    )


def _append_rows(session: Session, mac_key: bytes, events: Sequence[Mapping[str, Any]]) -> int:
    """Chain events (plain field dicts) after the last one; the caller holds the ledger lock."""
    last = session.execute(_LAST).first()
    seq, prev = (last[0], last[1]) if last else (0, GENESIS)
    frontier = merkle.Frontier.at(seq, fetch_nodes(session, merkle.range_nodes(0, seq)))
    rows: list[dict[str, Any]] = []
    nodes: list[dict[str, Any]] = []
    for e in events:
        seq += 1
        fields = {**e, "occurred_at": _utc(e["occurred_at"])}
        entry = _fields_entry(fields, prev_hash=prev, seq=seq)
        digest = hashlib.sha256(entry).digest()
        mac = event_mac(mac_key, digest)
        rows.append({**fields, "seq": seq, "prev_hash": prev, "hash": digest, "mac": mac})
        made = frontier.push(seq - 1, merkle.leaf_hash(entry))
        nodes.extend({"level": lv, "idx": i, "hash": h} for (lv, i), h in made)
        prev = digest
    if rows:
        session.execute(_EVENTS.insert(), rows)
        session.execute(_NODES.insert(), nodes)
    return len(rows)


def chain_pending(session: Session) -> int:
    """Chain the events written while the ledger was busy (waits for the lock); how many."""
    if not is_postgresql(session):
        return 0
    lock_ledger(session)
    return _chain_pending_locked(session)


def _chain_pending_locked(session: Session, *, limit: int = 10_000) -> int:
    conn = session.connection()
    pending = (
        conn.execute(select(*_PENDING.c).order_by(_PENDING.c.id).limit(limit)).mappings().all()
    )
    if not pending:
        return 0
    session.info[LEDGER_APPENDED] = True
    mac_key = ledger_keys(session).mac_key(session, now=pending[0]["occurred_at"])
    fields = [{k: v for k, v in p.items() if k not in ("id", "mac")} for p in pending]
    genuine = [
        f
        for f, p in zip(fields, pending, strict=True)
        if macs_equal(p["mac"], pending_mac(mac_key, _pending_entry(_with_utc(f))))
    ]
    if len(genuine) < len(pending):
        # Only a database-only writer makes a waiting row without the key: it never joins the
        # chain. The operator is told; the row goes (it is not an event anybody recorded).
        log.error(
            "ledger: %d waiting event(s) without a valid MAC were not chained",
            len(pending) - len(genuine),
        )
    count = _append_rows(session, mac_key, genuine)
    conn.execute(_PENDING.delete().where(_PENDING.c.id.in_([p["id"] for p in pending])))
    return count


def _with_utc(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {**fields, "occurred_at": _utc(fields["occurred_at"])}


def list_events(
    session: Session,
    *,
    subject_id: int,
    limit: int = 100,
    before_seq: int | None = None,
    tag_prefix: str | None = None,
    actor_prefix: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> Sequence[AuditEvent]:
    """The events concerning one citizen, newest first, optionally filtered.

    ``tag_prefix`` ("consent:") filters what happened, ``actor_prefix`` ("organisation:") who did
    it, ``since``/``until`` (until exclusive) when.
    """
    if before_seq is not None and not 0 < before_seq <= MAX_SEQ:
        raise AuditError("not an event number")
    query = select(AuditEvent).where(AuditEvent.subject_id == subject_id)
    if before_seq is not None:
        query = query.where(AuditEvent.seq < before_seq)
    if tag_prefix:
        query = query.where(AuditEvent.tag.startswith(tag_prefix, autoescape=True))
    if actor_prefix:
        query = query.where(AuditEvent.actor.startswith(actor_prefix, autoescape=True))
    if since is not None:
        query = query.where(AuditEvent.occurred_at >= since)
    if until is not None:
        query = query.where(AuditEvent.occurred_at < until)
    return session.scalars(query.order_by(AuditEvent.seq.desc()).limit(limit)).all()


def own_events(session: Session, *, subject_id: int, seqs: Iterable[int]) -> set[int]:
    """Which of the event numbers ``seqs`` are about ``subject_id`` (proofs are for one's own)."""
    wanted = list(seqs)
    if not wanted:
        return set()
    query = select(AuditEvent.seq).where(
        AuditEvent.subject_id == subject_id, AuditEvent.seq.in_(wanted)
    )
    return set(session.scalars(query))


@dataclass(frozen=True)
class ChainReport:
    """Outcome of :func:`verify_chain`: how many events were checked, and the first bad one."""

    checked: int
    first_bad_seq: int | None
    problem: str | None

    @property
    def intact(self) -> bool:
        """True when every event chains correctly."""
        return self.first_bad_seq is None


def event_batches(
    session: Session, *, batch: int = 5000, after: int = 0
) -> Iterator[Sequence[Row[Any]]]:
    """Every event after ``after`` in order, as plain rows in batches (nothing piles up in the
    identity map)."""
    last_seq = after
    while True:
        rows = session.execute(
            select(*_EVENTS.c).where(_EVENTS.c.seq > last_seq).order_by(_EVENTS.c.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield rows
        last_seq = rows[-1].seq


def chain_fault(event: Any, *, expected_seq: int, prev_hash: bytes) -> tuple[int, str] | None:
    """(event number, problem) when a stored event does not fit the chain at ``expected_seq``."""
    if event.seq != expected_seq:
        return expected_seq, "event missing or out of order"
    if event.prev_hash != prev_hash:
        return event.seq, "does not link to the previous event"
    # An erased event's content is gone (audit.redaction); only its hash stands for it, and only
    # verify_ledger, holding the key store's ledger key, can tell a real erasure from a wiped row.
    redacted = event.redaction is not None
    if not redacted and hashlib.sha256(entry_of(event)).digest() != event.hash:
        return event.seq, "content does not match its hash"
    return None


def verify_chain(session: Session, *, batch: int = 5000) -> ChainReport:
    """Recompute the chain from the table; report the first event that does not fit.

    Without the key store this cannot authenticate erased events (their content is gone): the
    full check is :func:`audit.ledger.verify_ledger`."""
    prev, checked = GENESIS, 0
    for rows in event_batches(session, batch=batch):
        for event in rows:
            fault = chain_fault(event, expected_seq=checked + 1, prev_hash=prev)
            if fault:
                return ChainReport(checked, *fault)
            prev, checked = event.hash, checked + 1
    return ChainReport(checked, None, None)

"""Erasing a person from the ledger without breaking it.

When a citizen's account is erased, every event that names them (as the subject, or as the actor)
loses what it said: actor, subject, object id and details are wiped; the tag and the time stay.
What the event *was* survives only as its commitments — its chain hash and its Merkle leaf —
so the chain still links, every signed tree head still matches, and every other event's proofs
still check, while nothing left ties the event to the person (the mapping from commitment to
content, the entry, is gone).

A database administrator must not be able to hide an event this way, so each redaction carries
a tag by the key store's ledger key (``HMAC(mac_key, "redacted\\n" ‖ seq ‖ hash ‖ leaf)``):
:func:`audit.ledger.verify_ledger` accepts a wiped event only with that tag, and the event's own
MAC over its hash still has to hold. Someone holding only the database can wipe a row but cannot
make the tag, and the check names the event.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from audit.actors import Actor
from audit.keyring import ledger_keys, lock_ledger, macs_equal
from audit.models import AuditEvent, AuditTreeNode
from audit.service import chain_pending

ERASED_ACTOR = "erased"


def redaction_mac(mac_key: bytes, *, seq: int, event_hash: bytes, leaf: bytes) -> bytes:
    """The tag that vouches for a wiped event: its number, chain hash and leaf, nothing else."""
    message = b"redacted\n" + seq.to_bytes(8, "big") + bytes(event_hash) + bytes(leaf)
    return hmac.new(mac_key, message, hashlib.sha256).digest()


def redaction_holds(mac_key: bytes, event: Any, leaf: bytes | None) -> bool:
    """True when a wiped event (a row or an ORM object) carries the ledger key's tag over its
    stored commitments."""
    if leaf is None:
        return False
    expected = redaction_mac(mac_key, seq=event.seq, event_hash=event.hash, leaf=leaf)
    return macs_equal(event.redaction, expected)


@dataclass(frozen=True)
class Redacted:
    """What :func:`redact_person` did: how many events, and the first and last of them."""

    events: int
    first_seq: int | None
    last_seq: int | None


def redact_person(session: Session, *, account_id: int, now: dt.datetime) -> Redacted:
    """Wipe every event about or by ``account_id`` (see the module text); idempotent.

    Holds the ledger (events waiting to be chained are chained first, so none escapes), and
    needs the key store's ledger key for the tags.
    """
    lock_ledger(session)
    chain_pending(session)
    mac_key = ledger_keys(session).mac_key(session, now=now)
    actor = str(Actor.account(account_id))
    rows = session.execute(
        select(AuditEvent.id, AuditEvent.seq, AuditEvent.hash, AuditTreeNode.hash)
        .join(AuditTreeNode, (AuditTreeNode.level == 0) & (AuditTreeNode.idx == AuditEvent.seq - 1))
        .where(or_(AuditEvent.subject_id == account_id, AuditEvent.actor == actor))
        .where(AuditEvent.redaction.is_(None))
        .order_by(AuditEvent.seq)
    ).all()
    for row_id, seq, event_hash, leaf in rows:
        session.execute(
            update(AuditEvent)
            .where(AuditEvent.id == row_id)
            .values(
                actor=ERASED_ACTOR,
                subject_id=None,
                object_id=None,
                details={},
                redaction=redaction_mac(mac_key, seq=seq, event_hash=event_hash, leaf=leaf),
            )
        )
    session.flush()
    seqs = [r[1] for r in rows]
    return Redacted(len(seqs), seqs[0] if seqs else None, seqs[-1] if seqs else None)

"""What someone holding only the database can do to the ledger, and how each attempt is caught.

The attacker here has full read-write access to every table (a database administrator, a stolen
backup restored and edited) but not the key store. Each case runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from amanat.db import session_factory, transaction
from audit import EventTag, NewEvent, record_event, record_events
from audit.keyring import LedgerKeyError, pending_mac
from audit.ledger import (
    LedgerError,
    authenticate_legacy_events,
    head_message,
    ledger_public_keys,
    publish_tree_head,
    rebuild_tree_nodes,
    sign_statement,
    verify_ledger,
    verify_statement,
)
from audit.models import AuditEvent, AuditKey, AuditPending, AuditTreeHead, AuditTreeNode
from audit.redaction import redact_person
from audit.service import _append_rows, _pending_entry, _utc
from keys import pki
from keys.stores import FileKeyStore


def _fill(
    sessions: sessionmaker[Session], keystore: FileKeyStore, now: dt.datetime, n: int
) -> None:
    with transaction(sessions) as s:
        record_events(
            s,
            events=[
                NewEvent(EventTag.VAULT_DOCUMENT_VIEWED, "account:7", 7, "document", str(i))
                for i in range(n)
            ],
            now=now,
        )
        publish_tree_head(s, keystore=keystore, now=now)


def _forge_event(s: Session, now: dt.datetime, *, actor: str = "account:7") -> None:
    """Append an event the way Amanat would, chain and tree included, but with a made-up MAC
    (the one thing that needs the key store)."""
    fields = {
        "tag": "vault:document-downloaded",
        "actor": actor,
        "subject_id": 7,
        "object_type": "document",
        "object_id": "x",
        "details": {},
        "occurred_at": _utc(now),
    }
    _append_rows(s, hashlib.sha256(b"attacker's guess").digest(), [fields])


def test_an_intact_ledger_verifies(sessions, file_keystore, now) -> None:
    _fill(sessions, file_keystore, now, 12)
    with sessions() as s:
        report = verify_ledger(s, keystore=file_keystore)
    assert report.intact
    assert report.events == 12
    assert report.heads == 1


def test_a_replaced_ledger_key_with_re_signed_heads_is_caught(sessions, file_keystore, now) -> None:
    """Delete events, recompute everything, swap in the attacker's public key, re-sign the heads:
    the key store's sealed key does not match the stored public key."""
    _fill(sessions, file_keystore, now, 10)
    attacker = pki.new_private_key("ec-p256")
    with transaction(sessions) as s:
        s.execute(update(AuditKey).values(public_key=pki.public_key_der(attacker)))
        for head in s.scalars(select(AuditTreeHead)):
            message = head_message(head.tree_size, head.signed_at, head.root_hash)
            head.signature = pki.cose_sign(attacker, message)
    with sessions() as s:
        report = verify_ledger(s, keystore=file_keystore)
        assert not report.intact
        assert "not the key store's" in (report.problem or "")
        with pytest.raises(LedgerKeyError):
            ledger_public_keys(s, keystore=file_keystore)


def test_an_edit_in_the_middle_with_every_head_deleted_is_caught(
    sessions, file_keystore, now
) -> None:
    _fill(sessions, file_keystore, now, 8)
    with transaction(sessions) as s:
        s.execute(delete(AuditTreeHead))
        s.execute(update(AuditEvent).where(AuditEvent.seq == 4).values(actor="account:9"))
    with sessions() as s:
        report = verify_ledger(s, keystore=file_keystore)
    assert report.first_bad_seq == 4


def test_events_without_any_signed_head_are_not_intact(sessions, file_keystore, now) -> None:
    _fill(sessions, file_keystore, now, 5)
    with transaction(sessions) as s:
        s.execute(delete(AuditTreeHead))
    with sessions() as s:
        report = verify_ledger(s, keystore=file_keystore)
    assert not report.intact
    assert "no signed tree head" in (report.problem or "")


def test_a_fabricated_event_after_the_newest_head_is_named(sessions, file_keystore, now) -> None:
    _fill(sessions, file_keystore, now, 6)
    with transaction(sessions) as s:
        _forge_event(s, now)
    with sessions() as s:
        report = verify_ledger(s, keystore=file_keystore)
    assert report.first_bad_seq == 7
    assert "not authenticated" in (report.problem or "")


def test_the_next_honest_head_refuses_to_sign_a_fabricated_event(
    sessions, file_keystore, now
) -> None:
    _fill(sessions, file_keystore, now, 6)
    with transaction(sessions) as s:
        _forge_event(s, now)
    with sessions() as s, pytest.raises(LedgerError, match="event 7 is not authenticated"):
        publish_tree_head(s, keystore=file_keystore, now=now + dt.timedelta(minutes=1))


def test_the_next_head_refuses_a_tree_that_lost_its_last_head(sessions, file_keystore, now) -> None:
    """Truncate and re-grow: the stored tree no longer has the signed root at the old size."""
    _fill(sessions, file_keystore, now, 6)
    with transaction(sessions) as s:
        s.execute(delete(AuditEvent).where(AuditEvent.seq >= 4))

        s.execute(delete(AuditTreeNode))
        rebuild_tree_nodes(s)
        for _ in range(4):  # one more than was removed: the next head is due
            record_event(s, tag=EventTag.ACCOUNT_SIGNED_IN, actor="a", subject_id=1, now=now)
    with sessions() as s, pytest.raises(LedgerError, match="no longer matches"):
        publish_tree_head(s, keystore=file_keystore, now=now + dt.timedelta(minutes=1))


def test_a_reordered_pair_with_recomputed_links_is_named(sessions, file_keystore, now) -> None:
    _fill(sessions, file_keystore, now, 6)
    with transaction(sessions) as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(seq=-2))
        s.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(seq=2))
        s.execute(update(AuditEvent).where(AuditEvent.seq == -2).values(seq=3))
    with sessions() as s:
        assert verify_ledger(s, keystore=file_keystore).first_bad_seq == 2


def test_a_removed_mac_is_named(sessions, file_keystore, now) -> None:
    _fill(sessions, file_keystore, now, 4)
    with transaction(sessions) as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(mac=None))
    with sessions() as s:
        assert verify_ledger(s, keystore=file_keystore).first_bad_seq == 2


def test_events_from_before_macs_are_authenticated_once_at_upgrade(
    sessions, file_keystore, now
) -> None:
    _fill(sessions, file_keystore, now, 5)
    with transaction(sessions) as s:
        s.execute(update(AuditEvent).values(mac=None))  # as revision 0004 left them
    with sessions() as s:
        assert not verify_ledger(s, keystore=file_keystore).intact
    with transaction(sessions) as s:
        assert authenticate_legacy_events(s, keystore=file_keystore, now=now) == 5
        assert authenticate_legacy_events(s, keystore=file_keystore, now=now) == 0
    with sessions() as s:
        assert verify_ledger(s, keystore=file_keystore).intact


def test_a_receipt_signed_by_a_swapped_key_is_refused(sessions, file_keystore, now) -> None:
    with transaction(sessions) as s:
        token = sign_statement(s, keystore=file_keystore, payload={"a": 1}, now=now)
    with transaction(sessions) as s:
        s.execute(update(AuditKey).values(public_key=pki.public_key_der(pki.new_private_key())))
    with sessions() as s, pytest.raises(LedgerKeyError):
        verify_statement(s, keystore=file_keystore, token=token)


def test_a_session_without_a_key_store_cannot_append(engine, now) -> None:
    """Fail closed: an event that cannot be authenticated is not written."""

    with session_factory(engine)() as s, pytest.raises(LedgerKeyError):
        record_event(s, tag=EventTag.ACCOUNT_SIGNED_IN, actor="a", subject_id=1, now=now)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_fabricated_waiting_event_is_never_chained(sessions, file_keystore, now) -> None:
    """PostgreSQL: a row put into audit_pending without the key is dropped, not chained."""
    _fill(sessions, file_keystore, now, 3)
    forged = {
        "tag": "vault:document-downloaded",
        "actor": "organisation:EVIL",
        "subject_id": 7,
        "object_type": "document",
        "object_id": "x",
        "details": {},
        "occurred_at": _utc(now),
    }
    with transaction(sessions) as s:
        s.execute(AuditPending.__table__.insert(), {**forged, "mac": bytes(32)})
        genuine = {**forged, "actor": "account:7"}
        key = s.info["amanat.ledger_keys"].mac_key(s, now=now)
        s.execute(
            AuditPending.__table__.insert(),
            {**genuine, "mac": pending_mac(key, _pending_entry(genuine))},
        )
    with transaction(sessions) as s:
        publish_tree_head(s, keystore=file_keystore, now=now + dt.timedelta(minutes=1))
    with sessions() as s:
        actors = list(s.scalars(select(AuditEvent.actor).order_by(AuditEvent.seq)))
        assert actors[-1] == "account:7"
        assert "organisation:EVIL" not in actors
        assert s.scalar(select(func.count()).select_from(AuditPending)) == 0
        assert verify_ledger(s, keystore=file_keystore).intact


def _wipe(s: Session, seq: int, tag: bytes) -> None:
    s.execute(update(AuditEvent).where(AuditEvent.seq == seq)
              .values(actor="erased", subject_id=None, object_id=None, details={},
                      redaction=tag))  # fmt: skip


def test_an_erasure_by_the_ledger_key_verifies(sessions, file_keystore, now) -> None:

    _fill(sessions, file_keystore, now, 6)
    with transaction(sessions) as s:
        assert redact_person(s, account_id=7, now=now).events == 6
    with sessions() as s:
        assert verify_ledger(s, keystore=file_keystore).intact


def test_an_event_wiped_without_the_ledger_key_is_caught(sessions, file_keystore, now) -> None:
    """Hiding an event by making it look erased: the tag needs the key store."""
    _fill(sessions, file_keystore, now, 6)
    with transaction(sessions) as s:
        _wipe(s, 4, hashlib.sha256(b"attacker's guess").digest())
    with sessions() as s:
        report = verify_ledger(s, keystore=file_keystore)
    assert (report.first_bad_seq, report.problem) == (
        4,
        "content wiped without the ledger key's erasure tag",
    )


def test_an_erasure_tag_moved_to_another_event_is_caught(sessions, file_keystore, now) -> None:
    """A real tag covers its own event's number, hash and leaf: copied onto another, it fails."""

    _fill(sessions, file_keystore, now, 3)
    with transaction(sessions) as s:
        record_event(s, tag=EventTag.VAULT_DOCUMENT_VIEWED, actor="account:8", subject_id=8,
                     now=now)  # fmt: skip
        redact_person(s, account_id=7, now=now)
        publish_tree_head(s, keystore=file_keystore, now=now)
    with transaction(sessions) as s:
        tag = s.scalar(select(AuditEvent.redaction).where(AuditEvent.seq == 1))
        _wipe(s, 4, tag)
    with sessions() as s:
        assert verify_ledger(s, keystore=file_keystore).first_bad_seq == 4


def test_the_tree_rebuilds_over_erased_events(sessions, file_keystore, now) -> None:

    _fill(sessions, file_keystore, now, 4)
    with transaction(sessions) as s:
        record_event(s, tag=EventTag.VAULT_DOCUMENT_VIEWED, actor="account:8", subject_id=8,
                     now=now)  # fmt: skip
        redact_person(s, account_id=7, now=now)
        publish_tree_head(s, keystore=file_keystore, now=now)
        # The one event that was not erased loses its leaf: the whole tree is rebuilt.
        s.execute(delete(AuditTreeNode).where(AuditTreeNode.level == 0, AuditTreeNode.idx == 4))
        assert rebuild_tree_nodes(s) == 5
    with sessions() as s:
        assert verify_ledger(s, keystore=file_keystore).intact

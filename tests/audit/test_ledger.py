"""The Merkle ledger on both databases: heads, proofs, the full check, tampering, concurrency."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import random
import threading

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from amanat.db import transaction
from audit import EventTag, NewEvent, merkle, record_event, record_events
from audit.ledger import (
    LedgerError,
    check_head_signature,
    consistency_proof,
    inclusion_proof,
    inclusion_proofs,
    ledger_public_keys,
    publish_tree_head,
    rebuild_tree_nodes,
    root_at,
    sign_statement,
    verify_ledger,
    verify_statement,
)
from audit.models import AuditEvent, AuditPending, AuditTreeHead, AuditTreeNode
from audit.service import entry_of, event_digest


def _events(n: int, subject: int = 7) -> list[NewEvent]:
    return [
        NewEvent(
            tag=EventTag.VAULT_DOCUMENT_VIEWED,
            actor=f"account:{subject}",
            subject_id=subject,
            object_type="document",
            object_id=str(i),
            details={"title": f"Doc {i}"},
        )
        for i in range(n)
    ]


def _append(sessions: sessionmaker[Session], n: int, now: dt.datetime) -> None:
    with transaction(sessions) as s:
        record_events(s, events=_events(n), now=now)


def _publish(sessions, keystore, now) -> int:
    with transaction(sessions) as s:
        return publish_tree_head(s, keystore=keystore, now=now).tree_size


def _unb64(text: str) -> bytes:
    return base64.b64decode(text)


# An independent checker written from RFC 9162 2.1.3.2, sharing no code with audit.merkle.
def _rfc_inclusion_ok(entry: bytes, index: int, size: int, path: list[bytes], root: bytes) -> bool:
    def h(data: bytes) -> bytes:
        return hashlib.sha256(data).digest()

    fn, sn, r = index, size - 1, h(b"\x00" + entry)
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = h(b"\x01" + p + r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = h(b"\x01" + r + p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def test_single_and_bulk_appends_build_the_same_tree(sessions, now, file_keystore) -> None:
    """record_event and record_events store the nodes of the RFC tree over the entries."""
    with transaction(sessions) as s:
        for e in _events(5):
            record_event(
                s,
                tag=e.tag,
                actor=e.actor,
                subject_id=e.subject_id,
                object_type=e.object_type,
                object_id=e.object_id,
                details=e.details,
                now=now,
            )
        record_events(s, events=_events(6), now=now)
    _publish(sessions, file_keystore, now)
    with sessions() as s:
        events = s.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        leaves = [merkle.leaf_hash(entry_of(e)) for e in events]
        assert root_at(s, 11) == merkle.reference_root(leaves)
        assert root_at(s, 7) == merkle.reference_root(leaves[:7])
        assert verify_ledger(s, keystore=file_keystore).intact


def test_tree_head_is_signed_over_size_time_and_root(sessions, now, file_keystore) -> None:
    _append(sessions, 9, now)
    with transaction(sessions) as s:
        head = publish_tree_head(s, keystore=file_keystore, now=now)
        keys = ledger_public_keys(s, keystore=file_keystore)
        assert head.tree_size == 9
        assert head.root_hash == root_at(s, 9)
        (public,) = keys.values()
        assert check_head_signature(public, head)
        head.root_hash = bytes(32)
        assert not check_head_signature(public, head)
        s.rollback()


def test_a_current_head_is_reused_and_a_young_one_within_max_age(
    sessions, now, file_keystore
) -> None:
    _append(sessions, 3, now)
    with transaction(sessions) as s:
        first = publish_tree_head(s, keystore=file_keystore, now=now)
        assert publish_tree_head(s, keystore=file_keystore, now=now).id == first.id
    _append(sessions, 2, now)
    later = now + dt.timedelta(seconds=5)
    with transaction(sessions) as s:
        kept = publish_tree_head(
            s, keystore=file_keystore, now=later, max_age=dt.timedelta(seconds=30)
        )
        assert kept.id == first.id
        fresh = publish_tree_head(s, keystore=file_keystore, now=later)
        assert fresh.tree_size == 5


def test_inclusion_proofs_verify_for_random_events_in_100000(sessions, now, file_keystore) -> None:
    """Proofs for random events in a ledger of 100,000 check with an independent RFC checker."""
    with transaction(sessions) as s:
        for _ in range(10):
            record_events(s, events=_events(10_000), now=now)
        head = publish_tree_head(s, keystore=file_keystore, now=now)
    assert head.tree_size == 100_000
    with sessions() as s:
        head = s.get(AuditTreeHead, head.id)
        for seq in random.Random(5).sample(range(1, 100_001), 25):
            proof = inclusion_proof(s, keystore=file_keystore, seq=seq, head=head)
            assert _rfc_inclusion_ok(
                _unb64(proof["entry"]),
                proof["leaf_index"],
                proof["tree_head"]["tree_size"],
                [_unb64(p) for p in proof["path"]],
                _unb64(proof["tree_head"]["root_hash"]),
            )
            assert len(proof["path"]) <= 17


def test_a_proof_for_an_event_after_the_head_is_refused(sessions, now, file_keystore) -> None:
    _append(sessions, 4, now)
    _publish(sessions, file_keystore, now)
    _append(sessions, 1, now)
    with sessions() as s:
        head = s.scalars(select(AuditTreeHead)).one()
        with pytest.raises(LedgerError):
            inclusion_proofs(s, seqs=[5], head=head)


def test_consistency_proof_between_two_heads_verifies(sessions, now, file_keystore) -> None:
    _append(sessions, 13, now)
    _publish(sessions, file_keystore, now)
    _append(sessions, 22, now)
    _publish(sessions, file_keystore, now + dt.timedelta(minutes=1))
    with sessions() as s:
        proof = consistency_proof(s, keystore=file_keystore, old_size=13, new_size=35)
    assert merkle.verify_consistency(
        old_size=13,
        new_size=35,
        old_root=_unb64(proof["old_head"]["root_hash"]),
        new_root=_unb64(proof["new_head"]["root_hash"]),
        proof=[_unb64(p) for p in proof["proof"]],
    )


def test_edited_row_is_named(sessions, now, file_keystore) -> None:
    _append(sessions, 8, now)
    _publish(sessions, file_keystore, now)
    with transaction(sessions) as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 5).values(actor="someone-else"))
    with sessions() as s:
        report = verify_ledger(s, keystore=file_keystore)
    assert report.first_bad_seq == 5
    assert not report.intact


def test_reordered_rows_are_named(sessions, now, file_keystore) -> None:
    _append(sessions, 6, now)
    _publish(sessions, file_keystore, now)
    with transaction(sessions) as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(seq=-3))
        s.execute(update(AuditEvent).where(AuditEvent.seq == 4).values(seq=3))
        s.execute(update(AuditEvent).where(AuditEvent.seq == -3).values(seq=4))
    with sessions() as s:
        assert verify_ledger(s, keystore=file_keystore).first_bad_seq == 3


def test_deleted_row_is_named(sessions, now, file_keystore) -> None:
    _append(sessions, 6, now)
    _publish(sessions, file_keystore, now)
    with transaction(sessions) as s:
        s.execute(delete(AuditEvent).where(AuditEvent.seq == 2))
    with sessions() as s:
        report = verify_ledger(s, keystore=file_keystore)
    assert report.first_bad_seq == 2
    assert "missing" in (report.problem or "")


def test_removing_the_newest_events_is_caught_by_the_signed_head(
    sessions, now, file_keystore
) -> None:
    """Without tree heads a truncated chain still links; the signed head covers more events."""
    _append(sessions, 10, now)
    _publish(sessions, file_keystore, now)
    with transaction(sessions) as s:
        s.execute(delete(AuditEvent).where(AuditEvent.seq > 7))
        s.execute(delete(AuditTreeNode).where(AuditTreeNode.level == 0, AuditTreeNode.idx >= 7))
    with sessions() as s:
        report = verify_ledger(s, keystore=file_keystore)
    assert report.first_bad_seq == 8
    assert "removed" in (report.problem or "")


def test_rewritten_history_with_recomputed_hashes_fails_the_signed_head(
    sessions, now, file_keystore
) -> None:
    """An insider who rewrites an event and recomputes every hash and node is named at that
    event: without the key store they cannot make its MAC (and the signed head disagrees too)."""

    _append(sessions, 6, now)
    _publish(sessions, file_keystore, now)
    with transaction(sessions) as s:
        prev = bytes(32)
        for e in s.scalars(select(AuditEvent).order_by(AuditEvent.seq)):
            if e.seq == 3:
                e.details = {"title": "forged"}
            e.prev_hash = prev
            e.hash = event_digest(
                prev_hash=prev,
                seq=e.seq,
                tag=e.tag,
                actor=e.actor,
                subject_id=e.subject_id,
                object_type=e.object_type,
                object_id=e.object_id,
                details=e.details,
                occurred_at=e.occurred_at,
            )
            prev = e.hash
        s.flush()
        s.execute(delete(AuditTreeNode))
        rebuild_tree_nodes(s)
    with sessions() as s:
        report = verify_ledger(s, keystore=file_keystore)
    assert report.first_bad_seq == 3
    assert "not authenticated" in (report.problem or "")


def test_tampered_tree_node_is_caught(sessions, now, file_keystore) -> None:
    _append(sessions, 8, now)
    with transaction(sessions) as s:
        s.execute(
            update(AuditTreeNode)
            .where(AuditTreeNode.level == 1, AuditTreeNode.idx == 2)
            .values(hash=bytes(32))
        )
    with sessions() as s:
        report = verify_ledger(s, keystore=file_keystore)
    assert report.first_bad_seq == 6
    assert "node" in (report.problem or "")


def test_forged_tree_head_signature_is_caught(sessions, now, file_keystore) -> None:
    _append(sessions, 4, now)
    _publish(sessions, file_keystore, now)
    with transaction(sessions) as s:
        s.execute(update(AuditTreeHead).values(tree_size=3))
    with sessions() as s:
        assert "signature" in (verify_ledger(s, keystore=file_keystore).problem or "")


def test_signed_statements_round_trip_and_refuse_tampering(sessions, now, file_keystore) -> None:
    with transaction(sessions) as s:
        token = sign_statement(s, keystore=file_keystore, payload={"a": "ب"}, now=now)
    with sessions() as s:
        assert verify_statement(s, keystore=file_keystore, token=token) == {"a": "ب"}
        head, _body, sig = token.split(".")
        forged = base64.urlsafe_b64encode(b'{"a":"c"}').rstrip(b"=").decode()
        with pytest.raises(LedgerError):
            verify_statement(s, keystore=file_keystore, token=f"{head}.{forged}.{sig}")
        with pytest.raises(LedgerError):
            verify_statement(s, keystore=file_keystore, token="not a token")
        listed = base64.urlsafe_b64encode(b"[1]").rstrip(b"=").decode()
        with pytest.raises(LedgerError):
            verify_statement(s, keystore=file_keystore, token=f"{listed}.{forged}.{sig}")


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_eight_threads_of_500_appends_give_one_tree(sessions, now, file_keystore) -> None:
    """8 x 500 parallel appends on PostgreSQL: 4,000 contiguous events, one valid tree."""
    threads, per_thread = 8, 500
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            for i in range(per_thread):
                with transaction(sessions) as s:
                    record_event(
                        s,
                        tag=EventTag.ACCOUNT_SIGNED_IN,
                        actor=f"account:{k}",
                        subject_id=k,
                        object_id=str(i),
                        now=now,
                    )
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert not errors, errors
    _publish(sessions, file_keystore, now)  # also chains events that waited for a busy ledger
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == 4000
        report = verify_ledger(s, keystore=file_keystore)
        assert report.intact
        assert report.events == 4000
        assert report.heads == 1
        assert report.waiting == 0


def test_events_from_before_the_merkle_ledger_get_their_tree(sessions, now, file_keystore) -> None:
    """Upgrading: events without tree nodes get them, once; a second run changes nothing."""

    _append(sessions, 9, now)
    with transaction(sessions) as s:
        s.execute(delete(AuditTreeNode))
        assert rebuild_tree_nodes(s) == 9
        assert rebuild_tree_nodes(s) == 0
    _append(sessions, 3, now)
    _publish(sessions, file_keystore, now)
    with sessions() as s:
        report = verify_ledger(s, keystore=file_keystore)
        assert report.intact
        assert report.events == 12


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_an_event_written_while_the_ledger_is_busy_is_chained_by_the_next_writer(
    sessions, now, file_keystore
) -> None:
    """PostgreSQL: a writer that finds the ledger held does not wait for the holder's commit; its
    event commits with its action and the next writer chains it first, in order."""

    _publish(sessions, file_keystore, now)  # the ledger key ('amanat init' makes it) and a head
    holder = sessions()
    try:
        record_event(holder, tag=EventTag.ACCOUNT_SIGNED_IN, actor="a", subject_id=1, now=now)
        with transaction(sessions) as s:
            waited = record_event(
                s, tag=EventTag.ACCOUNT_SIGNED_OUT, actor="b", subject_id=2, now=now
            )
            assert waited is None
        holder.commit()
    finally:
        holder.close()
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(AuditPending)) == 1
        report = verify_ledger(s, keystore=file_keystore)
        assert report.intact
        assert report.waiting == 1
    with transaction(sessions) as s:
        record_event(s, tag=EventTag.ACCOUNT_CREATED, actor="c", subject_id=3, now=now)
    with sessions() as s:
        tags = list(s.scalars(select(AuditEvent.tag).order_by(AuditEvent.seq)))
        assert tags == ["account:signed-in", "account:signed-out", "account:created"]
        report = verify_ledger(s, keystore=file_keystore)
        assert report.intact
        assert report.waiting == 0
        assert report.events == 3


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_waiting_event_rolls_back_with_its_action(sessions, now, file_keystore) -> None:

    _publish(sessions, file_keystore, now)  # the ledger key ('amanat init' makes it)
    holder = sessions()
    try:
        record_event(holder, tag=EventTag.ACCOUNT_SIGNED_IN, actor="a", subject_id=1, now=now)
        s = sessions()
        record_event(s, tag=EventTag.ACCOUNT_SIGNED_OUT, actor="b", subject_id=2, now=now)
        s.rollback()
        s.close()
        holder.commit()
    finally:
        holder.close()
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(AuditPending)) == 0


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_signed_tree_head_covers_waiting_events(sessions, now, file_keystore) -> None:
    _publish(sessions, file_keystore, now)  # the ledger key ('amanat init' makes it)
    holder = sessions()
    try:
        record_event(holder, tag=EventTag.ACCOUNT_SIGNED_IN, actor="a", subject_id=1, now=now)
        with transaction(sessions) as s:
            record_event(s, tag=EventTag.ACCOUNT_SIGNED_OUT, actor="b", subject_id=2, now=now)
        holder.commit()
    finally:
        holder.close()
    assert _publish(sessions, file_keystore, now) == 2

"""The hash-chained ledger: appends, tamper detection, concurrency — on both databases."""

from __future__ import annotations

import datetime as dt
import itertools
import threading

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from amanat.db import transaction
from audit import AuditError, EventTag, list_events, record_event, verify_chain
from audit.models import AuditEvent
from audit.service import chain_pending, event_digest


def _append(sessions: sessionmaker[Session], n: int, now: dt.datetime, subject: int = 7) -> None:
    with transaction(sessions) as s:
        for i in range(n):
            record_event(
                s,
                tag=EventTag.VAULT_DOCUMENT_VIEWED,
                actor=f"account:{subject}",
                subject_id=subject,
                object_type="document",
                object_id=str(i),
                details={"title": f"Doc {i}"},
                now=now,
            )


def test_events_chain_from_genesis(sessions, now) -> None:
    """Sequence numbers run 1..n and each event links to the one before."""
    _append(sessions, 5, now)
    with sessions() as s:
        events = s.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        assert [e.seq for e in events] == [1, 2, 3, 4, 5]
        assert events[0].prev_hash == bytes(32)
        assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
        assert verify_chain(s).intact
        assert verify_chain(s).checked == 5


def test_free_string_tags_are_refused(sessions, now) -> None:
    """Only EventTag members are accepted."""
    with sessions() as s, pytest.raises(AuditError):
        record_event(s, tag="vault:whatever", actor="x", subject_id=None, now=now)  # type: ignore[arg-type]


def test_list_events_newest_first_and_per_subject(sessions, now) -> None:
    _append(sessions, 3, now, subject=1)
    _append(sessions, 2, now, subject=2)
    with sessions() as s:
        events = list_events(s, subject_id=1)
        assert [e.object_id for e in events] == ["2", "1", "0"]
        assert list_events(s, subject_id=1, before_seq=events[0].seq, limit=1)[0].object_id == "1"


def test_edited_content_names_the_event(sessions, now) -> None:
    """Changing any field of a stored event is caught at that event."""
    _append(sessions, 6, now)
    with transaction(sessions) as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 4).values(details={"title": "forged"}))
    with sessions() as s:
        report = verify_chain(s)
    assert not report.intact
    assert report.first_bad_seq == 4


def test_edited_time_is_caught(sessions, now) -> None:
    _append(sessions, 3, now)
    with transaction(sessions) as s:
        s.execute(
            update(AuditEvent)
            .where(AuditEvent.seq == 2)
            .values(occurred_at=now - dt.timedelta(days=1))
        )
    with sessions() as s:
        assert verify_chain(s).first_bad_seq == 2


def test_deleted_event_is_caught(sessions, now) -> None:
    """Removing an event from the middle is caught where the gap is."""
    _append(sessions, 6, now)
    with transaction(sessions) as s:
        s.execute(delete(AuditEvent).where(AuditEvent.seq == 3))
    with sessions() as s:
        report = verify_chain(s)
    assert report.first_bad_seq == 3
    assert "missing" in (report.problem or "")


def test_reordered_events_are_caught(sessions, now) -> None:
    """Swapping two events' positions is caught at the first of them."""
    _append(sessions, 5, now)
    with transaction(sessions) as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(seq=-2))
        s.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(seq=2))
        s.execute(update(AuditEvent).where(AuditEvent.seq == -2).values(seq=3))
    with sessions() as s:
        assert verify_chain(s).first_bad_seq == 2


def test_rehashed_forgery_is_caught_at_the_next_event(sessions, now) -> None:
    """Recomputing a forged event's own hash still breaks the link to its successor."""

    _append(sessions, 4, now)
    with transaction(sessions) as s:
        e = s.scalar(select(AuditEvent).where(AuditEvent.seq == 2))
        e.details = {"title": "forged"}
        e.hash = event_digest(
            prev_hash=e.prev_hash,
            seq=e.seq,
            tag=e.tag,
            actor=e.actor,
            subject_id=e.subject_id,
            object_type=e.object_type,
            object_id=e.object_id,
            details=e.details,
            occurred_at=e.occurred_at,
        )
    with sessions() as s:
        assert verify_chain(s).first_bad_seq == 3


def test_concurrent_appends_never_fork_the_chain(sessions, now) -> None:
    """8 threads appending at once give contiguous sequence numbers and one valid chain."""
    threads, per_thread = 8, 25
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            for _ in range(per_thread):
                with transaction(sessions) as s:
                    record_event(
                        s,
                        tag=EventTag.ACCOUNT_SIGNED_IN,
                        actor=f"account:{k}",
                        subject_id=k,
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
    with transaction(sessions) as s:
        chain_pending(s)  # PostgreSQL: events that found the ledger busy wait to be chained
    with sessions() as s:
        seqs = list(s.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)))
        assert seqs == list(range(1, threads * per_thread + 1))
        assert verify_chain(s).intact

"""signing.recording: verifications reach the holder's ledger off the request path, folded, and
nothing is lost on a clean stop or when the database refuses for a while."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from amanat.db import create_engine, session_factory
from audit.models import AuditEvent
from audit.tally import counts, day_of
from signing.check import check_qr
from signing.recording import Verification, VerificationNotRecorded, VerificationRecorder
from tests.signing.test_issuance import _decode_qr


@pytest.fixture
def verification(env, tmp_path) -> Verification:
    row = env.issue("degree")
    url = _decode_qr(env.pdf(row), tmp_path)
    with env.sessions() as s:
        check = check_qr(s, text=url, now=env.now)
    item = Verification.of(check, actor="anonymous", channel="qr", now=env.now)
    assert item is not None
    return item


@pytest.fixture
def recorders() -> Iterator[Callable[..., VerificationRecorder]]:
    """Makes recorders; each one's thread is stopped at the end of the test (no retries left)."""
    made: list[VerificationRecorder] = []

    def make(sessions: sessionmaker[Session], **kwargs: Any) -> VerificationRecorder:
        made.append(VerificationRecorder(sessions, **kwargs))
        return made[-1]

    yield make
    for recorder in made:
        recorder._stop.set()


def _events(sessions: sessionmaker[Session]) -> list[AuditEvent]:
    with sessions() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.tag == "certificate:verified")))


def _count(sessions: sessionmaker[Session], item: Verification) -> int:
    with sessions() as s:
        return counts(s, wanted=[(item.tally_key, day_of(item.at))]).get(
            (item.tally_key, day_of(item.at)), 0
        )


def test_repeats_fold_into_one_event_with_their_count(recorders, env, verification) -> None:
    recorder = recorders(env.sessions, interval=3600)
    for _ in range(5):
        recorder.add(verification)
    assert recorder.pending() == 1
    assert _events(env.sessions) == []
    assert recorder.flush()
    (event,) = _events(env.sessions)
    assert event.actor == "anonymous"
    assert event.object_id == verification.serial
    assert _count(env.sessions, verification) == 5


def test_a_later_flush_the_same_day_only_raises_the_count(recorders, env, verification) -> None:
    recorder = recorders(env.sessions, interval=3600)
    recorder.add(verification)
    recorder.flush()
    recorder.add(verification)
    recorder.flush()
    assert len(_events(env.sessions)) == 1
    assert _count(env.sessions, verification) == 2


def test_a_clean_stop_writes_what_waits(recorders, env, verification) -> None:
    recorder = recorders(env.sessions, interval=3600)
    recorder.add(verification)
    recorder.close()
    assert len(_events(env.sessions)) == 1
    assert recorder.pending() == 0


def test_the_thread_writes_within_its_interval(recorders, env, verification) -> None:
    recorder = recorders(env.sessions, interval=1)
    try:
        recorder.add(verification)
        deadline = time.monotonic() + 20
        while not _events(env.sessions) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(_events(env.sessions)) == 1
    finally:
        recorder.close()


def test_the_commit_hook_runs_after_events_were_written(recorders, env, verification) -> None:
    seen: list[int] = []
    recorder = recorders(
        env.sessions, interval=3600, committed=lambda: seen.append(len(_events(env.sessions)))
    )
    recorder.add(verification)
    recorder.flush()
    assert seen == [1]


def _broken_sessions(tmp_path) -> sessionmaker[Session]:
    """Sessions on a database without the ledger's tables: every flush fails."""
    return session_factory(create_engine(f"sqlite:///{tmp_path / 'empty.db'}"))


def test_a_refused_flush_keeps_everything_for_the_next(
    recorders, env, verification, tmp_path
) -> None:
    recorder = recorders(_broken_sessions(tmp_path), interval=3600)
    recorder.add(verification)
    recorder.add(verification)
    assert not recorder.flush()
    assert recorder.pending() == 1
    recorder._sessions = env.sessions  # the database is back
    assert recorder.flush()
    assert _count(env.sessions, verification) == 2


def test_a_full_buffer_is_written_by_the_request_that_filled_it(
    recorders, env, verification
) -> None:
    recorder = recorders(env.sessions, interval=3600, capacity=2)
    recorder.add(verification)
    other = Verification(**{**verification.__dict__, "actor": "organisation:BANK api-key:k"})
    recorder.add(other)  # the second distinct entry fills it
    assert recorder.pending() == 0
    assert len(_events(env.sessions)) == 2


def test_a_full_buffer_that_cannot_be_written_refuses_the_verification(
    recorders, verification, tmp_path
) -> None:
    recorder = recorders(_broken_sessions(tmp_path), interval=3600, capacity=1)
    with pytest.raises(VerificationNotRecorded):
        recorder.add(verification)
    assert recorder.pending() == 1  # kept, not dropped


def test_a_new_day_is_a_new_entry(recorders, env, verification) -> None:
    recorder = recorders(env.sessions, interval=3600)
    recorder.add(verification)
    tomorrow = Verification(**{**verification.__dict__, "at": verification.at + dt.timedelta(1)})
    recorder.add(tomorrow)
    assert recorder.pending() == 2
    recorder.flush()
    assert len(_events(env.sessions)) == 2

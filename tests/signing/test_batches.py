"""Batches in the database: recorded once per file, rows leased one worker at a time, a dead
worker's row taken again after its lease, a row that keeps killing workers set aside."""

from __future__ import annotations

import datetime as dt

import pytest

from signing.batch import file_digest
from signing.batches import (
    FAILED,
    ISSUED,
    MAX_ATTEMPTS,
    batch_outcomes,
    batch_progress,
    batches_to_resume,
    claim_row,
    close_if_done,
    finish_row,
    recent_batches,
    submit_file,
)
from signing.errors import BatchNotFound, SigningError, UnknownDepartment
from signing.models import Batch
from tests.signing.conftest import Env

LEASE = dt.timedelta(seconds=60)
GOOD = "35202-1234567-1,degree,Ayesha Khan,BSc,2024\n"
CSV = ("citizen,type,name,degree,year\n" + GOOD + "35202-1234567-1,degree,Ayesha Khan,,2024\n"
       + "35202-1234567-1,degree,Ayesha Khan,MSc,2026\n").encode()  # fmt: skip


def _submit(env: Env, data: bytes = CSV, *, department: str = "UNI", at: dt.datetime | None = None):
    with env.sessions() as s:
        progress = submit_file(
            s, department=department, actor=None, name="b.csv", data=data, now=at or env.now
        )
        s.commit()
        return progress


def test_a_file_becomes_a_batch_with_broken_rows_failed_at_once(env: Env) -> None:
    progress = _submit(env)
    assert (progress.total, progress.issued, progress.failed, progress.left) == (3, 0, 1, 2)
    with env.sessions() as s:
        failed = batch_outcomes(s, batch_id=progress.id, status=FAILED)
    assert [(o.line, o.error.code if o.error else None) for o in failed] == [(3, "fields_missing")]


def test_the_same_file_again_finds_the_same_batch(env: Env) -> None:
    assert _submit(env).id == _submit(env).id
    with env.sessions() as s:
        assert s.query(Batch).count() == 1


def test_a_batch_for_an_unknown_department_is_refused(env: Env) -> None:
    with pytest.raises(UnknownDepartment):
        _submit(env, department="NOPE")


def test_a_leased_row_is_not_given_to_a_second_worker(env: Env) -> None:
    progress = _submit(env)
    with env.sessions() as s:
        first = claim_row(s, batch_id=progress.id, now=env.now, lease=LEASE)
        second = claim_row(s, batch_id=progress.id, now=env.now, lease=LEASE)
        third = claim_row(s, batch_id=progress.id, now=env.now, lease=LEASE)
        s.commit()
    assert first is not None
    assert second is not None
    assert (first.line, second.line, third) == (2, 4, None)
    assert first.request is not None
    assert first.request.batch_key == f"UNI:{file_digest(CSV)}:2"


def test_a_dead_workers_row_is_taken_again_once_its_lease_ran_out(env: Env) -> None:
    progress = _submit(env, ("citizen,type,name,degree,year\n" + GOOD).encode())
    with env.sessions() as s:
        assert claim_row(s, batch_id=progress.id, now=env.now, lease=LEASE) is not None
        early = claim_row(s, batch_id=progress.id, now=env.now + LEASE / 2, lease=LEASE)
        late = claim_row(s, batch_id=progress.id, now=env.now + LEASE * 2, lease=LEASE)
        s.commit()
    assert early is None
    assert late is not None
    assert late.line == 2


def test_a_row_that_keeps_killing_workers_is_set_aside(env: Env) -> None:
    progress = _submit(env, ("citizen,type,name,degree,year\n" + GOOD).encode())
    claims = []
    with env.sessions() as s:
        for n in range(MAX_ATTEMPTS + 1):
            claims.append(
                claim_row(s, batch_id=progress.id, now=env.now + LEASE * 2 * n, lease=LEASE)
            )
        s.commit()
    assert all(c is not None and c.request is not None for c in claims[:MAX_ATTEMPTS])
    last = claims[-1]
    assert last is not None
    assert last.request is None
    assert last.refusal is not None
    assert last.refusal.code == "batch_row_gave_up"


def test_the_last_outcome_finishes_the_batch(env: Env) -> None:
    progress = _submit(env)
    with env.sessions() as s:
        for serial in ("AAAA-BBBB-CCC1", "AAAA-BBBB-CCC2"):
            claimed = claim_row(s, batch_id=progress.id, now=env.now, lease=LEASE)
            assert claimed is not None
            finish_row(s, item_id=claimed.item_id, now=env.now, serial=serial)
        s.commit()
        done = batch_progress(s, batch_id=progress.id)
        issued = batch_outcomes(s, batch_id=progress.id, status=ISSUED)
    assert done.done
    assert done.finished_at is not None
    assert (done.issued, done.failed) == (2, 1)
    assert [o.serial for o in issued] == ["AAAA-BBBB-CCC1", "AAAA-BBBB-CCC2"]


def test_sending_a_finished_file_again_takes_up_its_failed_rows(env: Env) -> None:
    progress = _submit(env, ("citizen,type,name,degree,year\n" + GOOD).encode())
    with env.sessions() as s:
        claimed = claim_row(s, batch_id=progress.id, now=env.now, lease=LEASE)
        assert claimed is not None
        finish_row(
            s, item_id=claimed.item_id, now=env.now, error=SigningError(code="batch_row_invalid")
        )
        s.commit()
    again = _submit(env, ("citizen,type,name,degree,year\n" + GOOD).encode())
    assert (again.id, again.failed, again.left, again.finished_at) == (progress.id, 0, 1, None)


def test_a_batch_of_another_department_is_not_found(env: Env) -> None:
    progress = _submit(env)
    with env.sessions() as s, pytest.raises(BatchNotFound):
        batch_progress(s, batch_id=progress.id, department="CRD")


def test_only_batches_nobody_works_on_are_resumed(env: Env) -> None:
    progress = _submit(env)
    with env.sessions() as s:
        assert batches_to_resume(s, now=env.now, idle=LEASE) == []  # just sent: its jobs wait
        later = env.now + LEASE * 2
        assert batches_to_resume(s, now=later, idle=LEASE) == [progress.id]
        claim_row(s, batch_id=progress.id, now=later, lease=LEASE)
        s.commit()
        assert batches_to_resume(s, now=later, idle=LEASE) == []  # a worker holds a row
        assert batches_to_resume(s, now=later + LEASE * 2, idle=LEASE) == [progress.id]


def test_a_departments_latest_batches_come_newest_first(env: Env) -> None:
    first = _submit(env)
    second = _submit(env, ("citizen,type,name,degree,year\n" + GOOD).encode(), at=env.now + LEASE)
    with env.sessions() as s:
        assert [b.id for b in recent_batches(s, department="UNI")] == [second.id, first.id]


def test_a_batch_whose_last_rows_ended_apart_is_closed_by_the_next_look(env: Env) -> None:

    progress = _submit(env, ("citizen,type,name,degree,year\n" + GOOD).encode())
    with env.sessions() as s:
        claimed = claim_row(s, batch_id=progress.id, now=env.now, lease=LEASE)
        assert claimed is not None
        assert close_if_done(s, batch_id=progress.id, now=env.now) is False  # a row is out
        finish_row(s, item_id=claimed.item_id, now=env.now, serial="AAAA-BBBB-CCC1")
        s.get(Batch, progress.id).finished_at = None  # as if a racing worker had missed it
        assert close_if_done(s, batch_id=progress.id, now=env.now) is True
        s.commit()
        assert s.get(Batch, progress.id).finished_at is not None

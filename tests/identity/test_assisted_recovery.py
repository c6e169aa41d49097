"""Assisted recovery at a service centre (both databases): started only by a recovery officer
after the card check, nothing before the waiting period, nothing after a refusal, one passkey
once after it; every step in the citizen's ledger, naming the officer."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from amanat.db import transaction
from audit import EventTag
from audit.models import AuditEvent
from identity.accounts import create_account
from identity.assisted import (
    finish_enrolment,
    open_recoveries,
    recovery_by_link,
    refuse_recovery,
    start_enrolment,
    start_recovery,
)
from identity.ceremonies import consume_ceremony
from identity.errors import RecoveryRefused
from identity.models import Account, Passkey, Role
from identity.webauthn import RelyingParty
from tests.softauthn import SoftAuthenticator

RP = RelyingParty(id="localhost", name="Amanat", origin="http://localhost:8000")
CNIC = "35202-1234567-1"
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def people(sessions: sessionmaker[Session], now: dt.datetime) -> dict[str, int]:
    with transaction(sessions) as s:
        citizen = create_account(s, role=Role.CITIZEN, display_name="Ayesha", login=CNIC, now=now)
        officer = create_account(s, role=Role.RECOVERY, display_name="Officer Bilal",
                                 login="bilal", now=now)  # fmt: skip
        clerk = create_account(s, role=Role.OFFICER, display_name="Clerk", login="clerk", now=now)
        return {"citizen": citizen.id, "officer": officer.id, "clerk": clerk.id}


def _start(sessions, people, now, *, who: str = "officer", checked: bool = True,
           cnic: str = CNIC) -> str:  # fmt: skip
    with transaction(sessions) as s:
        officer = s.get(Account, people[who])
        return start_recovery(s, officer=officer, cnic=cnic, card_checked=checked, now=now).token


def _enrol(sessions, token: str, at: dt.datetime) -> SoftAuthenticator:
    auth = SoftAuthenticator()
    with transaction(sessions) as s:
        started = start_enrolment(s, rp=RP, token=token, now=at)
    with transaction(sessions) as s:
        ceremony = consume_ceremony(s, token=started.token, kind="add-passkey", now=at)
        finish_enrolment(s, rp=RP, token=token, ceremony=ceremony,
                         response=auth.register(started.options), passkey_name="New phone",
                         now=at)  # fmt: skip
    return auth


def _passkeys(sessions, people) -> int:
    with sessions() as s:
        return len(s.scalars(select(Passkey).where(Passkey.account_id == people["citizen"])).all())


def test_after_the_wait_the_link_adds_one_passkey(sessions, people, now) -> None:
    token = _start(sessions, people, now)
    _enrol(sessions, token, now + 73 * HOUR)
    assert _passkeys(sessions, people) == 1


def test_before_the_wait_the_link_gives_nothing(sessions, people, now) -> None:
    token = _start(sessions, people, now)
    with transaction(sessions) as s, pytest.raises(RecoveryRefused) as caught:
        start_enrolment(s, rp=RP, token=token, now=now + 71 * HOUR)
    assert caught.value.code == "recovery_waiting"
    assert _passkeys(sessions, people) == 0


def test_a_refused_recovery_gives_nothing(sessions, people, now) -> None:
    token = _start(sessions, people, now)
    with transaction(sessions) as s:
        (row,) = open_recoveries(s, account_id=people["citizen"], now=now)
        refuse_recovery(s, account_id=people["citizen"], recovery_id=row.id, now=now + HOUR)
    with transaction(sessions) as s, pytest.raises(RecoveryRefused) as caught:
        start_enrolment(s, rp=RP, token=token, now=now + 73 * HOUR)
    assert caught.value.code == "recovery_was_refused"


def test_the_link_works_once(sessions, people, now) -> None:
    token = _start(sessions, people, now)
    _enrol(sessions, token, now + 73 * HOUR)
    with sessions() as s, pytest.raises(RecoveryRefused) as caught:
        recovery_by_link(s, token=token, now=now + 74 * HOUR)
    assert caught.value.code == "recovery_link_used"


def test_the_link_expires_a_week_after_the_wait(sessions, people, now) -> None:
    token = _start(sessions, people, now)
    with sessions() as s, pytest.raises(RecoveryRefused) as caught:
        recovery_by_link(s, token=token, now=now + 72 * HOUR + dt.timedelta(days=7))
    assert caught.value.code == "recovery_link_used"


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"who": "clerk"}, "recovery_officer_only"),
        ({"checked": False}, "recovery_card_not_checked"),
        ({"cnic": "35202-7654321-1"}, "recovery_no_citizen"),
        ({"cnic": "not a cnic"}, "recovery_no_citizen"),
    ],
)
def test_a_recovery_that_cannot_start(sessions, people, now, kwargs, code) -> None:
    with pytest.raises(RecoveryRefused) as caught:
        _start(sessions, people, now, **kwargs)
    assert caught.value.code == code


def test_one_recovery_at_a_time(sessions, people, now) -> None:
    _start(sessions, people, now)
    with pytest.raises(RecoveryRefused) as caught:
        _start(sessions, people, now + HOUR)
    assert caught.value.code == "recovery_already_started"


def test_someone_else_cannot_refuse(sessions, people, now) -> None:
    _start(sessions, people, now)
    with transaction(sessions) as s:
        (row,) = open_recoveries(s, account_id=people["citizen"], now=now)
    with transaction(sessions) as s, pytest.raises(RecoveryRefused):
        refuse_recovery(s, account_id=people["officer"], recovery_id=row.id, now=now)


def test_every_step_is_in_the_ledger_naming_the_officer(sessions, people, now) -> None:
    _enrol(sessions, _start(sessions, people, now), now + 73 * HOUR)
    with sessions() as s:
        events = s.scalars(select(AuditEvent).where(
            AuditEvent.subject_id == people["citizen"], AuditEvent.object_type == "recovery"
        ).order_by(AuditEvent.seq)).all()  # fmt: skip
    assert [(e.tag, e.actor, e.details["officer"]) for e in events] == [
        (EventTag.ACCOUNT_RECOVERY_STARTED.value, f"account:{people['officer']}", "Officer Bilal"),
        (EventTag.ACCOUNT_RECOVERY_COMPLETED.value, f"account:{people['citizen']}",
         "Officer Bilal"),
    ]  # fmt: skip

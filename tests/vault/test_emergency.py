"""Emergency access (both databases, both blob stores): a trusted contact reads the chosen
documents only after asking and a waiting period without refusal; a refusal in time, an ended
naming, another document or another person gets nothing."""

from __future__ import annotations

import datetime as dt
import os
import uuid

import pytest
from sqlalchemy import select

from amanat.db import transaction
from audit import EventTag
from audit.models import AuditEvent
from identity.ceremonies import consume_ceremony
from identity.models import Account
from identity.passkeys import finish_confirmation, start_confirmation
from tests.vault.conftest import make_citizen
from tests.vault.test_shares import RP, _document, _passkey
from vault.emergency import (
    EmergencyState,
    ask_for_access,
    confirm_naming,
    end_naming,
    prepare_naming,
    read_document,
    refuse_access,
    state_of,
)
from vault.erasure import ERASURE_ACTOR, shred_vault
from vault.errors import EmergencyRefused, ShareRefused
from vault.models import EmergencyContact

DAY = dt.timedelta(days=1)
CONTACT_CNIC = "35202-4444444-4"
DATA = b"%PDF-1.7\n" + os.urandom(4000)


@pytest.fixture
def naming(sessions, ctx, owner, now) -> dict:
    """The owner names a contact for one of two documents, waiting 7 days."""
    contact = make_citizen(sessions, CONTACT_CNIC, now)
    auth = _passkey(sessions, owner, now)
    chosen = _document(sessions, ctx, owner, now, "Will", DATA)
    other = _document(sessions, ctx, owner, now, "Diary", b"%PDF-1.7\n" + os.urandom(100))
    with transaction(sessions) as s:
        me = s.get(Account, owner)
        pending = prepare_naming(s, owner=me, contact_cnic=CONTACT_CNIC, wait_days=7,
                                 document_ids=[chosen], now=now)  # fmt: skip
        started = start_confirmation(s, rp=RP, account=me, challenge=pending.challenge,
                                     payload=pending.terms, now=now)  # fmt: skip
    response = auth.assert_(started.options)
    with transaction(sessions) as s:
        ceremony = consume_ceremony(s, token=started.token, kind="confirm", now=now)
        done = finish_confirmation(s, rp=RP, ceremony=ceremony, account=s.get(Account, owner),
                                   response=response, now=now)  # fmt: skip
        row = confirm_naming(s, owner_id=owner, confirmation=done, now=now)
        return {"id": row.id, "contact": contact, "chosen": chosen, "other": other}


def _ask(sessions, naming, at) -> None:
    with transaction(sessions) as s:
        ask_for_access(s, contact_id=naming["contact"], naming_id=naming["id"], now=at)


def _read(sessions, ctx, naming, at, *, doc: uuid.UUID | None = None, who: int | None = None):
    with transaction(sessions) as s:
        opened = read_document(s, ctx=ctx, contact_id=who or naming["contact"],
                               naming_id=naming["id"], document_id=doc or naming["chosen"],
                               now=at)  # fmt: skip
        with opened.file as fh:
            return fh.read()


def _refused(sessions, ctx, naming, at, code: str, **kw) -> None:
    with pytest.raises(EmergencyRefused) as caught:
        _read(sessions, ctx, naming, at, **kw)
    assert caught.value.code == code


def test_after_the_wait_the_contact_reads_the_document(sessions, ctx, naming, now) -> None:
    _ask(sessions, naming, now + DAY)
    assert _read(sessions, ctx, naming, now + 8 * DAY) == DATA


def test_each_read_is_in_the_owners_activity(sessions, ctx, owner, naming, now) -> None:
    _ask(sessions, naming, now + DAY)
    _read(sessions, ctx, naming, now + 8 * DAY)
    with sessions() as s:
        mine = select(AuditEvent.tag).where(AuditEvent.subject_id == owner,
                                            AuditEvent.object_type == "emergency")  # fmt: skip
        tags = s.scalars(mine.order_by(AuditEvent.seq)).all()
    assert tags == [EventTag.EMERGENCY_CONTACT_SET.value, EventTag.EMERGENCY_ACCESS_REQUESTED.value,
                    EventTag.EMERGENCY_DOCUMENT_READ.value]  # fmt: skip


def test_before_the_wait_the_contact_gets_nothing(sessions, ctx, naming, now) -> None:
    _ask(sessions, naming, now + DAY)
    _refused(sessions, ctx, naming, now + 7 * DAY, "emergency_no_access")


def test_without_asking_the_contact_gets_nothing(sessions, ctx, naming, now) -> None:
    _refused(sessions, ctx, naming, now + 30 * DAY, "emergency_no_access")


def test_a_request_refused_in_time_gives_nothing(sessions, ctx, owner, naming, now) -> None:
    _ask(sessions, naming, now + DAY)
    with transaction(sessions) as s:
        refuse_access(s, owner_id=owner, naming_id=naming["id"], now=now + 2 * DAY)
    _refused(sessions, ctx, naming, now + 30 * DAY, "emergency_no_access")


def test_an_ended_naming_gives_nothing(sessions, ctx, owner, naming, now) -> None:
    _ask(sessions, naming, now + DAY)
    with transaction(sessions) as s:
        end_naming(s, owner_id=owner, naming_id=naming["id"], now=now + 9 * DAY)
    _refused(sessions, ctx, naming, now + 10 * DAY, "emergency_not_found")


def test_a_document_not_chosen_is_refused(sessions, ctx, naming, now) -> None:
    _ask(sessions, naming, now + DAY)
    _refused(sessions, ctx, naming, now + 8 * DAY, "emergency_not_found", doc=naming["other"])


def test_someone_else_gets_nothing(sessions, ctx, naming, now) -> None:
    stranger = make_citizen(sessions, "35202-3333333-3", now)
    _ask(sessions, naming, now + DAY)
    _refused(sessions, ctx, naming, now + 8 * DAY, "emergency_not_found", who=stranger)


def test_asking_twice_while_waiting_is_refused(sessions, naming, now) -> None:
    _ask(sessions, naming, now + DAY)
    with pytest.raises(EmergencyRefused) as caught:
        _ask(sessions, naming, now + 2 * DAY)
    assert caught.value.code == "emergency_already_asked"


def test_the_state_follows_the_clock(sessions, naming, now) -> None:
    _ask(sessions, naming, now + DAY)
    with sessions() as s:
        row = s.get(EmergencyContact, naming["id"])
        assert row is not None
        states = [state_of(row, now + d * DAY) for d in (2, 8)]
    assert states == [EmergencyState.WAITING, EmergencyState.ACTIVE]


@pytest.mark.parametrize(
    ("cnic", "days", "code"),
    [("35202-1111111-1", 7, "emergency_no_contact"), ("35202-9999999-9", 7, "emergency_no_contact"),
     (CONTACT_CNIC, 0, "emergency_days_range"), (CONTACT_CNIC, 31, "emergency_days_range")],
)  # fmt: skip
def test_namings_that_are_refused(sessions, ctx, owner, now, cnic, days, code) -> None:
    make_citizen(sessions, CONTACT_CNIC, now)
    doc = _document(sessions, ctx, owner, now, "Will", DATA)
    with transaction(sessions) as s, pytest.raises(EmergencyRefused) as caught:
        prepare_naming(s, owner=s.get(Account, owner), contact_cnic=cnic, wait_days=days,
                       document_ids=[doc], now=now)  # fmt: skip
    assert caught.value.code == code


def test_someone_elses_document_cannot_be_named(sessions, ctx, owner, other, now) -> None:
    make_citizen(sessions, CONTACT_CNIC, now)
    theirs = _document(sessions, ctx, other, now, "Theirs", DATA)
    with transaction(sessions) as s, pytest.raises(ShareRefused):
        prepare_naming(s, owner=s.get(Account, owner), contact_cnic=CONTACT_CNIC, wait_days=7,
                       document_ids=[theirs], now=now)  # fmt: skip


def test_the_contacts_erasure_ends_the_naming_and_tells_the_owner(
    sessions, ctx, owner, naming, now
) -> None:

    with transaction(sessions) as s:
        shred_vault(s, ctx=ctx, account_id=naming["contact"], now=now + DAY)
    with sessions() as s:
        assert s.get(EmergencyContact, naming["id"]) is None
        told = s.scalars(select(AuditEvent).where(
            AuditEvent.subject_id == owner,
            AuditEvent.tag == EventTag.EMERGENCY_CONTACT_REMOVED.value)).all()  # fmt: skip
    assert [e.actor for e in told] == [ERASURE_ACTOR]

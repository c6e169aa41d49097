"""Notice settings: contact details sealed, bad ones refused, the change in the activity; what is
due: the chosen topics, never the citizen's own doings, each event once, a failure tried later."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from audit import EventTag, record_event
from audit.models import AuditEvent
from vault.errors import NoticeRefused
from vault.models import NoticePrefs
from vault.notices import (
    TOPICS,
    NoticeSettings,
    due_notices,
    get_notice_settings,
    notice_failed,
    notice_sent,
    set_notice_settings,
)
from vault.service import VaultContext

EMAIL = "ayesha.khan@example.pk"
WANTED = NoticeSettings(True, True, TOPICS, EMAIL, "+92 300-1234567", "ur")


def _set(sessions: sessionmaker[Session], ctx: VaultContext, owner: int, now: dt.datetime,
         wanted: NoticeSettings = WANTED) -> NoticeSettings:  # fmt: skip
    with sessions() as s:
        saved = set_notice_settings(s, ctx=ctx, account_id=owner, wanted=wanted, now=now)
        s.commit()
        return saved


def _event(sessions: sessionmaker[Session], owner: int, now: dt.datetime, tag: EventTag,
           actor: str, **details: object) -> None:  # fmt: skip
    with sessions() as s:
        record_event(s, tag=tag, actor=actor, subject_id=owner, now=now, details=dict(details))
        s.commit()


def _due(sessions: sessionmaker[Session], ctx: VaultContext, now: dt.datetime):
    with sessions() as s:
        notices = due_notices(s, ctx=ctx, now=now)
        s.commit()
        return notices


def test_contact_details_are_kept_sealed(sessions, ctx, owner, now) -> None:
    saved = _set(sessions, ctx, owner, now)
    assert (saved.email, saved.phone, saved.language) == (EMAIL, "+923001234567", "ur")
    with sessions() as s:
        row = s.get(NoticePrefs, owner)
        assert row is not None
        assert row.email_sealed
        assert row.phone_sealed
        assert EMAIL.encode() not in row.email_sealed
        assert b"1234567" not in row.phone_sealed


@pytest.mark.parametrize(
    "wanted",
    [
        NoticeSettings(True, False, TOPICS, "not-an-address", "", "en"),
        NoticeSettings(False, True, TOPICS, "", "0300 1234567", "en"),  # no country code
        NoticeSettings(False, False, ("gossip",), "", "", "en"),
        NoticeSettings(False, False, TOPICS, "", "", "fr"),
    ],
    ids=["email", "phone", "topic", "language"],
)
def test_unusable_settings_are_refused_and_change_nothing(
    sessions, ctx, owner, now, wanted: NoticeSettings
) -> None:
    with pytest.raises(NoticeRefused):
        _set(sessions, ctx, owner, now, wanted)
    with sessions() as s:
        assert s.get(NoticePrefs, owner) is None
        assert get_notice_settings(s, ctx=ctx, account_id=owner, now=now).by_email is False


def test_the_change_is_in_the_citizens_activity(sessions, ctx, owner, now) -> None:
    _set(sessions, ctx, owner, now)
    with sessions() as s:
        tags = s.scalars(select(AuditEvent.tag).where(AuditEvent.subject_id == owner)).all()
    assert EventTag.ACCOUNT_NOTICES_CHANGED in tags


@pytest.mark.parametrize(
    ("tag", "actor", "details", "told"),
    [
        (EventTag.CERTIFICATE_ISSUED, "department:UNI", {}, True),
        (EventTag.CERTIFICATE_VERIFIED, "organisation:DEMOBANK", {}, True),
        (EventTag.CERTIFICATE_VERIFIED, "anonymous", {}, False),
        (EventTag.CONSENT_USED, "organisation:DEMOBANK", {}, True),
        (EventTag.VAULT_DOCUMENT_DOWNLOADED, "OWN", {}, False),
        (EventTag.ACCOUNT_SIGNED_IN, "OWN", {"new_device": True}, True),
        (EventTag.ACCOUNT_SIGNED_IN, "OWN", {}, False),
        (EventTag.REQUEST_RECEIVED, "organisation:DEMOBANK", {}, True),
        (EventTag.REQUEST_DECLINED, "OWN", {}, False),
        (EventTag.APPLICATION_INFO_REQUESTED, "account:99", {}, True),
        (EventTag.APPLICATION_ISSUED, "department:UNI api-key:k", {}, True),
        (EventTag.APPLICATION_SUBMITTED, "OWN", {}, False),
        (EventTag.DISPUTE_ANSWERED, "account:42", {}, True),
        (EventTag.DISPUTE_OPENED, "OWN", {}, False),
    ],
    ids=[
        "issued",
        "named-check",
        "anonymous-check",
        "fetch",
        "own-download",
        "new-device",
        "known-device",
        "asked-for-documents",
        "own-decline",
        "more-information",
        "application-issued",
        "own-application",
        "dispute-answered",
        "own-dispute",
    ],
)
def test_only_the_chosen_kinds_of_event_are_told(
    sessions, ctx, owner, now, tag: EventTag, actor: str, details: dict, told: bool
) -> None:
    _set(sessions, ctx, owner, now)
    _event(sessions, owner, now, tag, f"account:{owner}" if actor == "OWN" else actor, **details)
    notices = _due(sessions, ctx, now)
    assert [n.events[0].tag for n in notices] == ([tag] if told else [])


def test_a_topic_not_chosen_is_not_told(sessions, ctx, owner, now) -> None:
    _set(sessions, ctx, owner, now, NoticeSettings(True, False, ("sign_in",), EMAIL, "", "en"))
    _event(sessions, owner, now, EventTag.CERTIFICATE_ISSUED, "department:UNI")
    assert _due(sessions, ctx, now) == []


@pytest.mark.parametrize(
    "tag", [EventTag.ACCOUNT_ERASURE_REQUESTED, EventTag.ACCOUNT_ERASURE_CANCELLED]
)
def test_closing_the_account_is_told_whatever_the_topics(sessions, ctx, owner, now, tag) -> None:
    """Even when the citizen did it (a thief with their session may have), and with no topic."""
    _set(sessions, ctx, owner, now, NoticeSettings(True, False, (), EMAIL, "", "en"))
    _event(sessions, owner, now, tag, f"account:{owner}")
    assert [n.events[0].tag for n in _due(sessions, ctx, now)] == [tag]


def test_each_event_is_told_once_and_many_go_in_one_notice(sessions, ctx, owner, now) -> None:
    _set(sessions, ctx, owner, now)
    for _ in range(7):
        _event(sessions, owner, now, EventTag.CONSENT_USED, "organisation:DEMOBANK")
    (notice,) = _due(sessions, ctx, now)
    assert (len(notice.events), notice.more, notice.email) == (5, 2, EMAIL)
    with sessions() as s:
        notice_sent(s, account_id=owner, up_to_seq=notice.up_to_seq)
        s.commit()
    assert _due(sessions, ctx, now) == []


def test_a_failed_delivery_is_tried_again_later(sessions, ctx, owner, now) -> None:
    _set(sessions, ctx, owner, now)
    _event(sessions, owner, now, EventTag.CERTIFICATE_ISSUED, "department:UNI")
    with sessions() as s:
        again = notice_failed(s, account_id=owner, now=now)
        s.commit()
    assert _due(sessions, ctx, now) == []
    assert len(_due(sessions, ctx, again)) == 1

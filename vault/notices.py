"""Notices: a citizen is told, by e-mail or SMS, when something happens to their vault.

What is noticed comes from the ledger (never from the request that did it, so a notice can never
hold an access up): the events of the citizen's own activity after ``seen_seq`` that match the
topics they chose. Contact details are sealed under the owner's key; the sending itself, in the
citizen's language, is ``web/notices.py``'s.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from audit import EventTag, record_event
from audit.actors import Actor
from audit.models import AuditEvent
from keys.wrapping import open_value, seal_value
from vault.errors import NoticeRefused
from vault.models import NoticePrefs
from vault.service import VaultContext, _owner_key

TOPICS = ("access", "certificates", "sign_in")
LANGUAGES = ("en", "ur")
# One notice names at most this many events (the rest are counted: "and 12 more").
MAX_EVENTS = 5
_EMAIL = re.compile(r"[^@\s<>\"',;]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}")
_PHONE = re.compile(r"\+[1-9][0-9]{7,14}")


@dataclass(frozen=True)
class NoticeSettings:
    """A citizen's notice settings, contact details opened."""

    by_email: bool
    by_sms: bool
    topics: tuple[str, ...]
    email: str
    phone: str
    language: str


@dataclass(frozen=True)
class Notice:
    """What to tell one citizen now: their new events (oldest first) and where to send it."""

    account_id: int
    language: str
    email: str | None
    phone: str | None
    events: tuple[AuditEvent, ...]
    more: int
    up_to_seq: int
    # The last event each channel already told (a retry after the other channel failed).
    delivered: Mapping[str, int] = field(default_factory=dict)

    def for_channel(self, channel: str) -> Notice | None:
        """The notice as ``channel`` still has to tell it, or None when it has told it all."""
        mark = self.delivered.get(channel, 0)
        if mark >= self.up_to_seq:
            return None
        events = tuple(e for e in self.events if e.seq > mark)
        return replace(self, events=events) if events else None


def _aad(account_id: int, what: str) -> bytes:
    return f"amanat/notice-contact/v1/{account_id}/{what}".encode()


def normalize_phone(value: str) -> str:
    """A mobile number in international form (+923001234567), spaces and dashes left out;
    NoticeRefused otherwise."""
    phone = (value or "").strip().replace(" ", "").replace("-", "")
    if not _PHONE.fullmatch(phone):
        raise NoticeRefused("Bad phone number.", code="notice_phone_invalid")
    return phone


def _check(*, by_email: bool, by_sms: bool, email: str, phone: str, topics: Sequence[str],
           language: str) -> None:  # fmt: skip
    if by_email and not _EMAIL.fullmatch(email):
        raise NoticeRefused("Bad e-mail address.", code="notice_email_invalid")
    if by_sms and not _PHONE.fullmatch(phone):
        raise NoticeRefused("Bad phone number.", code="notice_phone_invalid")
    if not set(topics) <= set(TOPICS) or language not in LANGUAGES:
        raise NoticeRefused("Unknown choice.", code="notice_choice_unknown")


def set_notice_settings(
    session: Session,
    *,
    ctx: VaultContext,
    account_id: int,
    wanted: NoticeSettings,
    now: dt.datetime,
) -> NoticeSettings:
    """Keep a citizen's notice settings (contact details sealed); from now on, new events only.
    The change is itself an event of their activity: a thief who redirects notices is seen."""
    email, phone = wanted.email.strip(), wanted.phone.strip().replace(" ", "").replace("-", "")
    _check(by_email=wanted.by_email, by_sms=wanted.by_sms, email=email, phone=phone,
           topics=wanted.topics, language=wanted.language)  # fmt: skip
    _row, key = _owner_key(session, ctx, account_id=account_id, now=now)
    latest = int(session.scalar(select(func.coalesce(func.max(AuditEvent.seq), 0))) or 0)
    prefs = session.get(NoticePrefs, account_id)
    if prefs is None:
        prefs = NoticePrefs(account_id=account_id, failures=0)
        session.add(prefs)
    prefs.by_email, prefs.by_sms = wanted.by_email, wanted.by_sms
    prefs.topics, prefs.language = sorted(set(wanted.topics)), wanted.language
    prefs.email_sealed = (
        seal_value(key, email.encode(), aad=_aad(account_id, "email")) if email else None
    )
    prefs.phone_sealed = (
        seal_value(key, phone.encode(), aad=_aad(account_id, "phone")) if phone else None
    )
    prefs.seen_seq = latest  # from now on: what happened before is on the activity page
    prefs.failures, prefs.retry_at, prefs.updated_at = 0, None, now
    session.flush()
    channels = [c for c, on in (("email", wanted.by_email), ("sms", wanted.by_sms)) if on]
    record_event(session, tag=EventTag.ACCOUNT_NOTICES_CHANGED, actor=Actor.account(account_id),
                 subject_id=account_id, now=now,
                 details={"channels": channels, "topics": prefs.topics})  # fmt: skip
    return get_notice_settings(session, ctx=ctx, account_id=account_id, now=now)


def get_notice_settings(
    session: Session, *, ctx: VaultContext, account_id: int, now: dt.datetime
) -> NoticeSettings:
    """The settings, contact details opened (none chosen yet: everything off)."""
    prefs = session.get(NoticePrefs, account_id)
    if prefs is None:
        return NoticeSettings(False, False, TOPICS, "", "", "en")
    email, phone = _contacts(session, ctx, prefs, now=now)
    return NoticeSettings(prefs.by_email, prefs.by_sms, tuple(prefs.topics), email or "",
                          phone or "", prefs.language)  # fmt: skip


def _contacts(
    session: Session, ctx: VaultContext, prefs: NoticePrefs, *, now: dt.datetime
) -> tuple[str | None, str | None]:
    _row, key = _owner_key(session, ctx, account_id=prefs.account_id, now=now)
    opened = []
    for what, sealed in (("email", prefs.email_sealed), ("phone", prefs.phone_sealed)):
        opened.append(open_value(key, sealed, aad=_aad(prefs.account_id, what)).decode()
                      if sealed else None)  # fmt: skip
    return opened[0], opened[1]


# A department's doings about the citizen's certificates and applications ("certificates").
_CERTIFICATE_TAGS = (
    EventTag.CERTIFICATE_ISSUED,
    EventTag.CERTIFICATE_REVOKED,
    EventTag.APPLICATION_INFO_REQUESTED,
    EventTag.APPLICATION_REJECTED,
    EventTag.APPLICATION_ISSUED,
)


# Told on every channel the citizen set, whatever the topics and even when they did it: someone
# with a stolen session may have asked to close the account, someone with a forged card may have
# started a recovery at a service centre, and the owner has to hear of it in time to say no.
_ALWAYS_TOLD = (
    EventTag.ACCOUNT_ERASURE_REQUESTED, EventTag.ACCOUNT_ERASURE_CANCELLED,
    EventTag.ACCOUNT_RECOVERY_STARTED, EventTag.ACCOUNT_RECOVERY_REFUSED,
    EventTag.ACCOUNT_RECOVERY_COMPLETED, EventTag.EMERGENCY_ACCESS_REQUESTED,
)  # fmt: skip


def _matches(event: AuditEvent, topics: Sequence[str]) -> bool:
    """Whether an event of the citizen's activity is one of their topics. Their own doings are
    never noticed (they know); an anonymous check of a certificate is not an access."""
    own = Actor(event.actor).is_account(event.subject_id)
    if event.tag in _ALWAYS_TOLD:
        return True
    if "certificates" in topics and event.tag in _CERTIFICATE_TAGS:
        return True
    if "sign_in" in topics and event.tag == EventTag.ACCOUNT_SIGNED_IN:
        return bool((event.details or {}).get("new_device"))
    if "access" not in topics or own:
        return False
    if event.tag == EventTag.CERTIFICATE_VERIFIED:
        return event.actor != "anonymous"
    return event.tag in (EventTag.CONSENT_USED, EventTag.VAULT_DOCUMENT_VIEWED,
                         EventTag.VAULT_DOCUMENT_DOWNLOADED, EventTag.REQUEST_RECEIVED,
                         EventTag.DISPUTE_ANSWERED, EventTag.DISPUTE_CLOSED,
                         EventTag.EMERGENCY_DOCUMENT_READ)  # fmt: skip


def due_notices(
    session: Session, *, ctx: VaultContext, now: dt.datetime, accounts: int = 200
) -> list[Notice]:
    """The notices to send now: one per citizen with new events of their topics. Citizens with
    nothing new have their ``seen_seq`` moved on here (the caller commits)."""
    due = session.scalars(
        select(NoticePrefs)
        .where(or_(NoticePrefs.by_email, NoticePrefs.by_sms))
        .where(or_(NoticePrefs.retry_at.is_(None), NoticePrefs.retry_at <= now))
        .order_by(NoticePrefs.account_id)
        .limit(accounts)
    ).all()
    notices = []
    for prefs in due:
        events = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.subject_id == prefs.account_id, AuditEvent.seq > prefs.seen_seq)
            .order_by(AuditEvent.seq)
            .limit(1000)
        ).all()
        if not events:
            continue
        wanted = [e for e in events if _matches(e, prefs.topics)]
        if not wanted:
            prefs.seen_seq = events[-1].seq
            continue
        email, phone = _contacts(session, ctx, prefs, now=now)
        notices.append(Notice(
            prefs.account_id, prefs.language, email if prefs.by_email else None,
            phone if prefs.by_sms else None, tuple(wanted[:MAX_EVENTS]),
            max(0, len(wanted) - MAX_EVENTS), events[-1].seq, dict(prefs.delivered or {}),
        ))  # fmt: skip
    session.flush()
    return notices


def notice_sent(session: Session, *, account_id: int, up_to_seq: int) -> None:
    """Every event up to ``up_to_seq`` was told: never again."""
    prefs = session.get(NoticePrefs, account_id)
    if prefs is not None:
        prefs.seen_seq = max(prefs.seen_seq, up_to_seq)
        prefs.failures, prefs.retry_at, prefs.delivered = 0, None, None
        session.flush()


def channel_delivered(session: Session, *, account_id: int, channel: str, up_to_seq: int) -> None:
    """One channel told everything up to ``up_to_seq`` (the other may still fail)."""
    prefs = session.get(NoticePrefs, account_id)
    if prefs is not None:
        prefs.delivered = {**(prefs.delivered or {}), channel: up_to_seq}
        session.flush()


def notice_failed(session: Session, *, account_id: int, now: dt.datetime) -> dt.datetime:
    """A delivery failed: tried again later, each time twice as late (at most an hour)."""
    prefs = session.get(NoticePrefs, account_id)
    if prefs is None:
        return now
    prefs.failures += 1
    prefs.retry_at = now + dt.timedelta(seconds=min(3600, 15 * 2 ** min(prefs.failures, 8)))
    session.flush()
    return prefs.retry_at

"""Assisted recovery at a service centre, for a citizen who lost every passkey and recovery code.

An officer with the recovery role checks the person's CNIC card in person and starts a recovery;
the citizen is told at once on every channel they set (``vault.notices`` tells these events
whatever the topics). The one-time link the officer hands over works only after a waiting period
(72 hours by default), and only if the citizen has not refused in the meantime: someone who
fooled the officer with a forged card still has to get past the real owner, who still holds their
account and is told. Each step is an event of the citizen's ledger that names the officer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import EventTag, record_event
from identity.accounts import actor_of, find_by_login
from identity.errors import RecoveryRefused
from identity.models import Account, AssistedRecovery, Ceremony, Passkey, Role
from identity.passkeys import Started, finish_adding_passkey, start_adding_passkey
from identity.sessions import end_all_sessions
from identity.webauthn import RelyingParty

WAIT = dt.timedelta(hours=72)
# After the wait, the link is good this long: a link found in a drawer months later is not.
VALID = dt.timedelta(days=7)


@dataclass(frozen=True)
class StartedRecovery:
    """A recovery under way and its link's secret (for the officer to hand over, once)."""

    recovery: AssistedRecovery
    token: str


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _open(row: AssistedRecovery, now: dt.datetime) -> bool:
    return row.refused_at is None and row.completed_at is None and now < row.expires_at


def open_recoveries(
    session: Session, *, account_id: int, now: dt.datetime
) -> Sequence[AssistedRecovery]:
    """The account's recoveries that are waiting or usable (what the citizen may refuse)."""
    rows = session.scalars(
        select(AssistedRecovery)
        .where(AssistedRecovery.account_id == account_id)
        .order_by(AssistedRecovery.started_at)
    ).all()
    return [r for r in rows if _open(r, now)]


def start_recovery(
    session: Session,
    *,
    officer: Account,
    cnic: str,
    card_checked: bool,
    now: dt.datetime,
    wait: dt.timedelta = WAIT,
) -> StartedRecovery:
    """Start a recovery for the citizen with this CNIC, after the officer saw their card."""
    if officer.role != Role.RECOVERY:
        raise RecoveryRefused("Not a recovery officer.", code="recovery_officer_only")
    if not card_checked:
        raise RecoveryRefused("Card not checked.", code="recovery_card_not_checked")
    account = find_by_login(session, login=cnic)
    if account is None or account.role != Role.CITIZEN:
        raise RecoveryRefused("No such citizen.", code="recovery_no_citizen")
    if open_recoveries(session, account_id=account.id, now=now):
        raise RecoveryRefused("Already started.", code="recovery_already_started")
    token = secrets.token_urlsafe(32)
    row = AssistedRecovery(
        id=uuid.uuid4(), account_id=account.id, officer_id=officer.id,
        officer_name=officer.display_name, token_hash=_hash(token), started_at=now,
        due_at=now + wait, expires_at=now + wait + VALID,
    )  # fmt: skip
    session.add(row)
    session.flush()
    _log(session, row, EventTag.ACCOUNT_RECOVERY_STARTED, actor=actor_of(officer), now=now,
         due=row.due_at.isoformat())  # fmt: skip
    return StartedRecovery(row, token)


def _log(session: Session, row: AssistedRecovery, tag: EventTag, *, actor: str,
         now: dt.datetime, **more: Any) -> None:  # fmt: skip
    record_event(
        session, tag=tag, actor=actor, subject_id=row.account_id, now=now,
        object_type="recovery", object_id=str(row.id),
        details={"officer": row.officer_name, **more},
    )  # fmt: skip


def refuse_recovery(
    session: Session, *, account_id: int, recovery_id: uuid.UUID, now: dt.datetime
) -> AssistedRecovery:
    """The citizen says no: the link never works. Idempotent for one already refused."""
    row = session.get(AssistedRecovery, recovery_id, with_for_update=True)
    if row is None or row.account_id != account_id:
        raise RecoveryRefused("No such recovery.", code="recovery_not_found")
    if row.refused_at is None and row.completed_at is None:
        row.refused_at = now
        session.flush()
        _log(session, row, EventTag.ACCOUNT_RECOVERY_REFUSED, actor=actor_of(account_id), now=now)
    return row


def recovery_by_link(session: Session, *, token: str, now: dt.datetime) -> AssistedRecovery:
    """The recovery a link belongs to, if it works now; RecoveryRefused says why not."""
    row = session.scalar(
        select(AssistedRecovery).where(AssistedRecovery.token_hash == _hash(token or ""))
    )
    if row is None:
        raise RecoveryRefused("Unknown link.", code="recovery_not_found")
    if row.refused_at is not None:
        raise RecoveryRefused("Refused.", code="recovery_was_refused")
    if row.completed_at is not None or now >= row.expires_at:
        raise RecoveryRefused("Used or expired.", code="recovery_link_used")
    if now < row.due_at:
        raise RecoveryRefused("Too early.", code="recovery_waiting", due=row.due_at)
    return row


def start_enrolment(session: Session, *, rp: RelyingParty, token: str, now: dt.datetime) -> Started:
    """The new passkey's registration options, once the link works."""
    row = recovery_by_link(session, token=token, now=now)
    account = session.get(Account, row.account_id)
    assert account is not None  # the row's foreign key says so
    return start_adding_passkey(session, rp=rp, account=account, now=now)


def finish_enrolment(
    session: Session,
    *,
    rp: RelyingParty,
    token: str,
    ceremony: Ceremony,
    response: Mapping[str, Any],
    passkey_name: str,
    now: dt.datetime,
) -> tuple[Account, Passkey]:
    """Store the new passkey (``ceremony``: the consumed one :func:`start_enrolment` opened) and
    use the link up; every other session of the account ends (a lost phone may be signed in)."""
    row = recovery_by_link(session, token=token, now=now)
    # Held until the commit, and checked again under the lock: two tabs finishing at once add
    # one passkey, and a refusal that just came in wins.
    session.refresh(row, with_for_update=True)
    row = recovery_by_link(session, token=token, now=now)
    account = session.get(Account, row.account_id)
    assert account is not None
    passkey = finish_adding_passkey(
        session, rp=rp, ceremony=ceremony, account=account, response=response,
        passkey_name=passkey_name, now=now,
    )  # fmt: skip
    row.completed_at = now
    end_all_sessions(session, account_id=account.id, now=now)
    _log(session, row, EventTag.ACCOUNT_RECOVERY_COMPLETED, actor=actor_of(account), now=now,
         passkey=passkey.name)  # fmt: skip
    return account, passkey

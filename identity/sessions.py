"""Server-side sessions: a random 256-bit token in the cookie, its SHA-256 in the database."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from audit import EventTag
from identity.accounts import record_own
from identity.errors import NotFound
from identity.models import Account, AuthSession

# Writing last_seen on every request would make every page a write; a minute is precise enough.
_TOUCH_EVERY = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class SessionPolicy:
    """Idle and absolute lifetimes."""

    idle: dt.timedelta = dt.timedelta(minutes=30)
    absolute: dt.timedelta = dt.timedelta(hours=12)


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def start_session(
    session: Session,
    *,
    account: Account,
    method: str,
    user_agent: str,
    now: dt.datetime,
    new_device: bool = False,
) -> str:
    """Open a session after a successful sign-in; return the cookie token. ``new_device``: this
    browser had not signed in to the account before (the citizen may be told)."""
    token = secrets.token_urlsafe(32)
    row = AuthSession(
        token_hash=_hash(token),
        account_id=account.id,
        method=method,
        user_agent=(user_agent or "")[:200],
        created_at=now,
        last_seen_at=now,
    )
    session.add(row)
    session.flush()
    record_own(
        session, account, EventTag.ACCOUNT_SIGNED_IN, now=now,
        object_type="session",
        object_id=str(row.id),
        details={"method": method, "new_device": True} if new_device else {"method": method},
    )  # fmt: skip
    return token


def resolve_session(
    session: Session, *, token: str, policy: SessionPolicy, now: dt.datetime
) -> AuthSession | None:
    """The live session for a cookie token, or None (unknown, ended, idle or too old)."""
    if not token:
        return None
    row = session.scalar(select(AuthSession).where(AuthSession.token_hash == _hash(token)))
    if row is None or row.ended_at is not None:
        return None
    if now - row.last_seen_at > policy.idle or now - row.created_at > policy.absolute:
        row.ended_at = now
        session.flush()
        return None
    if now - row.last_seen_at > _TOUCH_EVERY:
        row.last_seen_at = now
        session.flush()
    return row


def list_sessions(
    session: Session, *, account: Account, policy: SessionPolicy, now: dt.datetime
) -> Sequence[AuthSession]:
    """The account's live sessions, newest first."""
    rows = session.scalars(
        select(AuthSession)
        .where(AuthSession.account_id == account.id, AuthSession.ended_at.is_(None))
        .order_by(AuthSession.created_at.desc())
    ).all()
    return [
        r
        for r in rows
        if now - r.last_seen_at <= policy.idle and now - r.created_at <= policy.absolute
    ]


def end_session(
    session: Session,
    *,
    account: Account,
    session_id: int,
    now: dt.datetime,
    signed_out: bool = False,
) -> None:
    """End one of the account's sessions (sign-out, or ending another device's session)."""
    row = session.get(AuthSession, session_id)
    if row is None or row.account_id != account.id or row.ended_at is not None:
        raise NotFound("no such session")
    row.ended_at = now
    session.flush()
    tag = EventTag.ACCOUNT_SIGNED_OUT if signed_out else EventTag.ACCOUNT_SESSION_ENDED
    record_own(
        session, account, tag, now=now,
        object_type="session",
        object_id=str(session_id),
    )  # fmt: skip


def end_all_sessions(session: Session, *, account_id: int, now: dt.datetime) -> None:
    """End every session of an account (after a recovery, say)."""
    session.execute(
        update(AuthSession)
        .where(AuthSession.account_id == account_id, AuthSession.ended_at.is_(None))
        .values(ended_at=now)
    )

"""Server-side, single-use WebAuthn ceremony state."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from identity.errors import PasskeyRejected
from identity.models import Ceremony

LIFETIME = dt.timedelta(minutes=5)


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def open_ceremony(
    session: Session,
    *,
    kind: str,
    state: dict[str, Any],
    now: dt.datetime,
    account_id: int | None = None,
) -> str:
    """Store ceremony state; return the opaque token the client sends back."""
    token = secrets.token_urlsafe(32)
    session.add(
        Ceremony(
            token_hash=_hash(token),
            kind=kind,
            account_id=account_id,
            state=state,
            expires_at=now + LIFETIME,
        )
    )
    # Expired ceremonies are garbage; clear them while we are here.
    session.execute(delete(Ceremony).where(Ceremony.expires_at < now))
    session.flush()
    return token


def consume_ceremony(session: Session, *, token: str, kind: str, now: dt.datetime) -> Ceremony:
    """Fetch and delete the ceremony: a second use of the same token always fails."""
    ceremony = session.scalar(
        select(Ceremony).where(Ceremony.token_hash == _hash(token or "")).with_for_update()
    )
    if ceremony is None:
        raise PasskeyRejected("Ceremony expired or used.", code="ceremony_expired")
    session.delete(ceremony)
    session.flush()
    if ceremony.kind != kind or ceremony.expires_at < now:
        raise PasskeyRejected("Ceremony expired or used.", code="ceremony_expired")
    return ceremony


def b64(data: bytes) -> str:
    """base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    """Inverse of :func:`b64`."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

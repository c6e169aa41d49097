"""One-time recovery codes (for a lost passkey), stored as SHA-256 hashes.

Each code carries 60 random bits, so a fast hash is enough: guessing is bounded by the sign-in
rate limit, not by hashing cost.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from audit import EventTag
from identity.accounts import find_by_login, record_own
from identity.errors import AuthenticationFailed
from identity.models import Account, RecoveryCode

COUNT = 10
_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L, U: easy to read aloud and type


def _normalize(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def _hash(code: str) -> bytes:
    return hashlib.sha256(b"amanat-recovery:" + _normalize(code).encode()).digest()


def generate_codes(session: Session, *, account: Account, now: dt.datetime) -> list[str]:
    """Replace the account's recovery codes with new ones; return them (shown once)."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account.id))
    codes = []
    for _ in range(COUNT):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(12))
        codes.append(f"{raw[:4]}-{raw[4:8]}-{raw[8:]}")
    session.add_all(
        RecoveryCode(account_id=account.id, code_hash=_hash(c), created_at=now) for c in codes
    )
    session.flush()
    record_own(session, account, EventTag.ACCOUNT_RECOVERY_CODES_CREATED, now=now)
    return codes


def remaining_codes(session: Session, *, account: Account) -> int:
    """How many unused codes the account has."""
    return (
        session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.account_id == account.id, RecoveryCode.used_at.is_(None))
        )
        or 0
    )


def redeem_code(session: Session, *, login: str, code: str, now: dt.datetime) -> Account:
    """Sign in with a recovery code, using it up; AuthenticationFailed otherwise."""
    account = find_by_login(session, login=login)
    digest = _hash(code)
    row = None
    if account is not None:
        row = session.scalar(
            select(RecoveryCode)
            .where(
                RecoveryCode.account_id == account.id,
                RecoveryCode.code_hash == digest,
                RecoveryCode.used_at.is_(None),
            )
            .with_for_update()
        )
    if account is None or row is None:
        raise AuthenticationFailed()
    row.used_at = now
    session.flush()
    record_own(
        session, account, EventTag.ACCOUNT_RECOVERY_CODE_USED, now=now,
        details={"remaining": remaining_codes(session, account=account)},
    )  # fmt: skip
    return account

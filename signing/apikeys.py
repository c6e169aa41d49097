"""Department API keys: a department's own record system issues, revokes and works its
application queue through the API (``Authorization: Bearer amanat_<key id>_<secret>``).

The key text is the same shape as an organisation's (``identity.organisations``); a department key
is looked up only here, so it opens no organisation endpoint and an organisation key opens none of
these. Shown once when created; only the secret's SHA-256 is kept; revoking ends it at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import EventTag, record_operator
from identity.errors import ApiKeyScopeMissing
from identity.organisations import clean_label, clean_scopes, end_key, live_key, mint_key
from signing.models import DepartmentApiKey
from signing.pki import get_department

# issue: POST /certificates and /batches; revoke: POST /certificates/<serial>/revoke;
# applications: the application queue.
DEPARTMENT_SCOPES = ("applications", "issue", "revoke")


@dataclass(frozen=True)
class NewDepartmentKey:
    """A created key: the row and the full key text, which is never shown again."""

    key: DepartmentApiKey
    token: str


def create_department_api_key(
    session: Session, *, code: str, label: str, scopes: Iterable[str], now: dt.datetime
) -> NewDepartmentKey:
    """Create an API key for the department; return it with the one-time key text."""
    department = get_department(session, code=code)
    minted = mint_key()
    row = DepartmentApiKey(
        key_id=minted.key_id,
        department_code=department.code,
        label=clean_label(label),
        secret_hash=minted.secret_hash,
        scopes=clean_scopes(scopes, DEPARTMENT_SCOPES),
        created_at=now,
    )
    session.add(row)
    session.flush()
    record_operator(
        session, EventTag.DEPARTMENT_API_KEY_CREATED,
        object_type="department",
        object_id=department.code,
        now=now,
        details={"key": row.key_id, "scopes": row.scopes},
    )
    return NewDepartmentKey(row, minted.token)


def revoke_department_api_key(
    session: Session, *, key_id: str, now: dt.datetime
) -> DepartmentApiKey:
    """End a key at once (idempotent)."""
    row, ended = end_key(session, DepartmentApiKey, key_id=key_id, now=now)
    if ended:
        record_operator(
            session, EventTag.DEPARTMENT_API_KEY_REVOKED,
            object_type="department",
            object_id=row.department_code,
            now=now,
            details={"key": row.key_id},
        )
    return row


def list_department_api_keys(session: Session, *, code: str) -> Sequence[DepartmentApiKey]:
    """A department's keys, newest first (the secrets are not stored, so never listed)."""
    department = get_department(session, code=code)
    return session.scalars(
        select(DepartmentApiKey)
        .where(DepartmentApiKey.department_code == department.code)
        .order_by(DepartmentApiKey.id.desc())
    ).all()


def authenticate_department_api_key(
    session: Session, *, token: str, scope: str, now: dt.datetime
) -> DepartmentApiKey:
    """The live department key for ``token`` with ``scope``: ApiKeyRejected for an unknown,
    malformed or revoked key (no reason given), ApiKeyScopeMissing for a live key without it."""
    row = live_key(session, DepartmentApiKey, token=token, now=now)
    if scope not in row.scopes:
        raise ApiKeyScopeMissing(scope)
    return row

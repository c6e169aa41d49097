"""Verifying organisations, their members and their API keys.

An API key reads ``amanat_<key id>_<secret>``: the key id finds the row, the secret (256 random
bits) is compared by its SHA-256 in constant time. A plain hash is enough for a random secret of
that size (a slow password hash protects guessable secrets; this one cannot be guessed). The key is
shown once when created; revoking it ends it at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import EventTag, record_operator
from identity.accounts import clean_display_name, create_account
from identity.errors import ApiKeyRejected, Conflict, InvalidInput, NotFound
from identity.models import Account, ApiKey, Organisation, Role

SCOPES = ("requests", "shares:read", "verify")
_CODE = re.compile(r"^[A-Z][A-Z0-9_-]{1,31}$")
_KEY = re.compile(r"^amanat_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")


def normalize_org_code(value: str) -> str:
    """Organisation codes: 2-32 capital letters, digits, '-' or '_', starting with a letter."""
    code = (value or "").strip().upper()
    if not _CODE.match(code):
        raise InvalidInput("Malformed organisation code.", code="org_code_format", low=2, high=32)
    return code


def create_organisation(
    session: Session, *, code: str, name: str, now: dt.datetime, name_ur: str | None = None
) -> Organisation:
    """Register a verifying organisation."""
    code = normalize_org_code(code)
    if session.get(Organisation, code) is not None:
        raise Conflict("Organisation exists.", code="org_exists")
    org = Organisation(
        code=code,
        name=clean_display_name(name),
        name_ur=clean_display_name(name_ur) if name_ur else None,
        created_at=now,
    )
    session.add(org)
    session.flush()
    record_operator(
        session, EventTag.ORGANISATION_CREATED,
        object_type="organisation",
        object_id=code,
        now=now,
    )
    return org


def get_organisation(session: Session, *, code: str) -> Organisation:
    """The organisation with this code, or NotFound."""
    org = session.get(Organisation, (code or "").strip().upper())
    if org is None:
        raise NotFound("no such organisation")
    return org


def find_organisation(session: Session, *, code: str) -> Organisation | None:
    """The organisation with this code, or None (an API key or a member whose organisation is
    gone is named by its code)."""
    return session.get(Organisation, (code or "").strip().upper())


def organisations_by_code(session: Session, *, codes: Iterable[str]) -> dict[str, Organisation]:
    """The organisations with these codes, by code (the unknown ones left out)."""
    wanted = set(codes)
    if not wanted:
        return {}
    found = session.scalars(select(Organisation).where(Organisation.code.in_(wanted)))
    return {org.code: org for org in found}


def list_organisations(session: Session) -> Sequence[Organisation]:
    """Every organisation, by name."""
    return session.scalars(select(Organisation).order_by(Organisation.name)).all()


def add_member(
    session: Session, *, code: str, login: str, display_name: str, now: dt.datetime
) -> Account:
    """A member account (role verifier) of the organisation."""
    org = get_organisation(session, code=code)
    account = create_account(
        session,
        role=Role.VERIFIER,
        display_name=display_name,
        login=login,
        affiliation=org.code,
        now=now,
    )
    record_operator(
        session, EventTag.ORGANISATION_MEMBER_ADDED,
        object_type="organisation",
        object_id=org.code,
        now=now,
        details={"account": account.id},
    )
    return account


def clean_scopes(scopes: Iterable[str], allowed: Sequence[str] = SCOPES) -> list[str]:
    """The chosen scopes, sorted; at least one, each of ``allowed``."""
    chosen = sorted({s.strip() for s in scopes if s and s.strip()})
    unknown = [s for s in chosen if s not in allowed]
    if unknown or not chosen:
        raise InvalidInput("Bad scopes.", code="api_key_scopes", scopes=", ".join(allowed))
    return chosen


def clean_label(label: str) -> str:
    """An API key's label: 1 to 80 characters."""
    label = (label or "").strip()
    if not 1 <= len(label) <= 80:
        raise InvalidInput("Bad label.", code="api_key_label", low=1, high=80)
    return label


@dataclass(frozen=True)
class KeyMaterial:
    """A fresh API key: its id, the hash that is stored, and the text shown once."""

    key_id: str
    secret_hash: bytes
    token: str


def mint_key() -> KeyMaterial:
    """A new ``amanat_<key id>_<secret>`` key (organisations' and departments' alike)."""
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    digest = hashlib.sha256(secret.encode()).digest()
    return KeyMaterial(key_id, digest, f"amanat_{key_id}_{secret}")


_DUMMY = hashlib.sha256(b"no such key").digest()


def split_key(token: str) -> tuple[str, str] | None:
    """The key id and secret of a well-formed key text, else None."""
    match = _KEY.match((token or "").strip())
    return (match.group(1), match.group(2)) if match else None


def secret_matches(secret: str, expected: bytes | None) -> bool:
    """Whether ``secret`` is the one ``expected`` hashes; compared even when there is no row,
    so timing does not tell which keys exist."""
    digest = hashlib.sha256(secret.encode()).digest()
    return hmac.compare_digest(digest, expected if expected is not None else _DUMMY) and (
        expected is not None
    )


@dataclass(frozen=True)
class NewApiKey:
    """A created key: the row and the full key text, which is never shown again."""

    key: ApiKey
    token: str


def create_api_key(
    session: Session,
    *,
    code: str,
    label: str,
    scopes: Iterable[str],
    now: dt.datetime,
) -> NewApiKey:
    """Create an API key for the organisation; return it with the one-time key text."""
    org = get_organisation(session, code=code)
    label = clean_label(label)
    minted = mint_key()
    row = ApiKey(
        key_id=minted.key_id,
        organisation_code=org.code,
        label=label,
        secret_hash=minted.secret_hash,
        scopes=clean_scopes(scopes),
        created_at=now,
    )
    session.add(row)
    session.flush()
    record_operator(
        session, EventTag.ORGANISATION_KEY_CREATED,
        object_type="api-key",
        object_id=minted.key_id,
        now=now,
        details={"organisation": org.code, "scopes": row.scopes},
    )
    return NewApiKey(row, minted.token)


class _KeyRow(Protocol):
    key_id: Any
    secret_hash: Any
    revoked_at: Any
    last_used_at: Any


K = TypeVar("K", bound=_KeyRow)


def end_key(session: Session, model: type[K], *, key_id: str, now: dt.datetime) -> tuple[K, bool]:
    """Revoke the key of ``model`` (organisations' or departments' keys) now: the row, and
    whether this call ended it (False when it had already ended); NotFound for no such key."""
    column = model.key_id  # the mapped column, on the class
    row = session.scalar(select(model).where(column == (key_id or "").strip()))
    if row is None:
        raise NotFound("no such API key")
    if row.revoked_at is not None:
        return row, False
    row.revoked_at = now
    session.flush()
    return row, True


def revoke_api_key(session: Session, *, key_id: str, now: dt.datetime) -> ApiKey:
    """End a key at once (idempotent)."""
    row, ended = end_key(session, ApiKey, key_id=key_id, now=now)
    if ended:
        record_operator(
            session, EventTag.ORGANISATION_KEY_REVOKED,
            object_type="api-key",
            object_id=row.key_id,
            now=now,
            details={"organisation": row.organisation_code},
        )
    return row


def list_api_keys(session: Session, *, code: str) -> Sequence[ApiKey]:
    """An organisation's keys, newest first (secrets are not stored, so never listed)."""
    return session.scalars(
        select(ApiKey).where(ApiKey.organisation_code == code).order_by(ApiKey.id.desc())
    ).all()


def live_key(session: Session, model: type[K], *, token: str, now: dt.datetime) -> K:
    """The live row of ``model`` (an organisation's or a department's key table) for ``token``,
    marked used; ApiKeyRejected for an unknown, malformed or revoked key (no reason given)."""
    key_id, secret = split_key(token) or ("", "")
    column = model.key_id  # the mapped column, on the class
    row = session.scalar(select(model).where(column == key_id)) if key_id else None
    ok = secret_matches(secret, row.secret_hash if row is not None else None)
    if row is None or not ok or row.revoked_at is not None:
        raise ApiKeyRejected()
    row.last_used_at = now
    session.flush()
    return row


def authenticate_api_key(session: Session, *, token: str, scope: str, now: dt.datetime) -> ApiKey:
    """The live key for ``token`` with ``scope``; ApiKeyRejected otherwise (no reason given)."""
    row = live_key(session, ApiKey, token=token, now=now)
    if scope not in row.scopes:
        raise ApiKeyRejected()
    return row


def key_id_of(token: str) -> str | None:
    """The key id a presented key claims (for logging refused attempts), if well-formed."""
    parts = split_key(token)
    return parts[0] if parts else None

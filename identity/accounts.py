"""Accounts: citizens (by CNIC) and staff roles."""

from __future__ import annotations

import datetime as dt
import os
import re
import unicodedata
from collections.abc import Mapping

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from audit import Actor, EventTag, record_event
from identity.errors import Conflict, InvalidInput, NotFound
from identity.models import (
    Account,
    AssistedRecovery,
    AuthSession,
    Ceremony,
    Passkey,
    RecoveryCode,
    Role,
)

_CNIC = re.compile(r"^([0-9]{5})-?([0-9]{7})-?([0-9])$")
_LOGIN = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
MAX_NAME = 120


def actor_of(account: Account | int) -> str:
    """How an account is named in the ledger (audit.Actor's text)."""
    return str(Actor.account(account if isinstance(account, int) else account.id))


def normalize_cnic(value: str) -> str:
    """A CNIC in the canonical ``NNNNN-NNNNNNN-N`` form; InvalidInput when malformed.

    Dashes may be left out, spaces around the number are ignored, and Arabic-Indic digits are
    read as the digits they are.
    """
    # Urdu keyboards type Arabic-Indic digits (۳۵۲۰۲...); they mean the same number.
    ascii_digits = "".join(
        str(unicodedata.digit(ch)) if ch.isdigit() and not ch.isascii() else ch
        for ch in value or ""
    )
    match = _CNIC.match(ascii_digits.strip())
    if not match:
        raise InvalidInput("Malformed CNIC.", code="cnic_format")
    return "-".join(match.groups())


def clean_display_name(value: str) -> str:
    """A display name in NFC, trimmed, 1 to 120 characters, no control characters."""
    name = " ".join(unicodedata.normalize("NFC", value or "").split())
    if not name:
        raise InvalidInput("No name.", code="name_missing")
    if len(name) > MAX_NAME:
        raise InvalidInput("Name too long.", code="name_too_long", n=MAX_NAME)
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise InvalidInput("Name characters.", code="name_characters")
    return name


def clean_login(value: str) -> str:
    """A staff login name: 3-64 lower-case letters, digits, dot, dash, underscore."""
    login = (value or "").strip().lower()
    if not _LOGIN.match(login):
        raise InvalidInput("Malformed login.", code="login_format", low=3, high=64)
    return login


def new_user_handle() -> bytes:
    """A random WebAuthn user handle (never personal data)."""
    return os.urandom(32)


def ensure_cnic_available(session: Session, *, cnic: str) -> None:
    """Conflict when a citizen with this CNIC is already registered."""
    if session.scalar(select(Account.id).where(Account.login == cnic)) is not None:
        raise Conflict("CNIC registered.", code="cnic_registered")


def create_account(
    session: Session,
    *,
    role: Role,
    display_name: str,
    login: str,
    now: dt.datetime,
    user_handle: bytes | None = None,
    affiliation: str | None = None,
) -> Account:
    """Create an account (login already validated) and record ``account:created``."""
    if role is Role.CITIZEN:
        login = normalize_cnic(login)
        ensure_cnic_available(session, cnic=login)
    else:
        login = clean_login(login)
        if session.scalar(select(Account.id).where(Account.login == login)) is not None:
            raise Conflict("Login taken.", code="login_taken")
    account = Account(
        role=role.value,
        display_name=clean_display_name(display_name),
        login=login,
        user_handle=user_handle or new_user_handle(),
        affiliation=affiliation,
        created_at=now,
    )
    session.add(account)
    session.flush()
    record_own(session, account, EventTag.ACCOUNT_CREATED, now=now, details={"role": role.value})
    return account


def record_own(
    session: Session,
    account: Account,
    tag: EventTag,
    *,
    now: dt.datetime,
    object_type: str = "account",
    object_id: str | None = None,
    details: Mapping[str, object] | None = None,
) -> None:
    """An event the account did to itself, in its own activity (by default about the account)."""
    record_event(
        session,
        tag=tag,
        actor=actor_of(account),
        now=now,
        subject_id=account.id,
        object_type=object_type,
        object_id=object_id if object_id is not None else str(account.id),
        details=details,
    )


def get_account(session: Session, *, account_id: int) -> Account:
    """The account with this id, or NotFound."""
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound("no such account")
    return account


def find_by_login(session: Session, *, login: str) -> Account | None:
    """The account with this CNIC or login name, if any (CNICs are normalised first)."""
    try:
        key = normalize_cnic(login)
    except InvalidInput:
        key = (login or "").strip().lower()
    return session.scalar(select(Account).where(Account.login == key))


def remove_account(session: Session, *, account_id: int) -> dict[str, int]:
    """Delete a citizen's account with its passkeys, sessions, ceremonies and recovery codes
    (the erasure's last step: nothing else may point at the row by then). How many of each."""
    removed = {}
    for name, model in (("passkeys", Passkey), ("sessions", AuthSession),
                        ("ceremonies", Ceremony), ("recovery_codes", RecoveryCode),
                        ("assisted_recoveries", AssistedRecovery)):  # fmt: skip
        result = session.execute(delete(model).where(model.account_id == account_id))
        removed[name] = int(result.rowcount or 0)  # type: ignore[attr-defined]
    session.execute(delete(Account).where(Account.id == account_id))
    session.flush()
    return removed

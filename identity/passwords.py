"""Argon2id passwords: an optional second way in.

Parameters are a named profile of argon2.profiles (``AMANAT_PASSWORD_PROFILE``, by default RFC
9106's low-memory one: m=64 MiB, t=3, p=4), chosen once per process with :func:`use_profile`.
Hashes are upgraded on sign-in when the parameters change. Unknown accounts are answered after
hashing against a dummy hash, so timing does not tell whether an account exists. Concurrent
hashes are bounded to the number of cores: more would only make every one of them slower and let
a flood of sign-ins exhaust memory.
"""

from __future__ import annotations

import datetime as dt
import os
import threading

import argon2.profiles
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.orm import Session

from audit import EventTag
from identity.accounts import find_by_login, record_own
from identity.errors import AuthenticationFailed, InvalidInput
from identity.models import Account

MIN_LENGTH = 12
MAX_LENGTH = 256

_hasher = PasswordHasher.from_parameters(argon2.profiles.RFC_9106_LOW_MEMORY)
_slots = threading.BoundedSemaphore(os.cpu_count() or 1)
_dummy_lock = threading.Lock()
_dummy_hash: str | None = None


def use_profile(name: str) -> None:
    """Hash new passwords (and upgrade old hashes on sign-in) with the profile ``name`` of
    argon2.profiles (the settings checked the name)."""
    global _hasher, _dummy_hash
    with _dummy_lock:
        _hasher = PasswordHasher.from_parameters(getattr(argon2.profiles, name))
        _dummy_hash = None  # an unknown account costs what a known one does


def _dummy() -> str:
    global _dummy_hash
    with _dummy_lock:
        if _dummy_hash is None:
            _dummy_hash = _hasher.hash(os.urandom(16).hex())
        return _dummy_hash


def hash_password(password: str) -> str:
    """An Argon2id hash (bounded concurrency)."""
    with _slots:
        return _hasher.hash(password)


def _verify(hash_: str, password: str) -> bool:
    with _slots:
        try:
            return _hasher.verify(hash_, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def check_new_password(password: str) -> str:
    """Length rules (NIST SP 800-63B: at least 12 here, no composition rules)."""
    if not MIN_LENGTH <= len(password or "") <= MAX_LENGTH:
        raise InvalidInput(
            "Password length.", code="password_length", low=MIN_LENGTH, high=MAX_LENGTH
        )
    return password


def set_password(session: Session, *, account: Account, password: str, now: dt.datetime) -> None:
    """Set or replace the account's password."""
    account.password_hash = hash_password(check_new_password(password))
    session.flush()
    record_own(session, account, EventTag.ACCOUNT_PASSWORD_SET, now=now)


def remove_password(session: Session, *, account: Account, now: dt.datetime) -> None:
    """Remove the password: passkeys (and recovery codes) remain."""
    account.password_hash = None
    session.flush()
    record_own(session, account, EventTag.ACCOUNT_PASSWORD_REMOVED, now=now)


def authenticate_password(session: Session, *, login: str, password: str) -> Account:
    """The account for a correct login and password; AuthenticationFailed otherwise."""
    account = find_by_login(session, login=login)
    if account is None or account.password_hash is None:
        _verify(_dummy(), password or "")
        raise AuthenticationFailed()
    if not _verify(account.password_hash, password or ""):
        raise AuthenticationFailed()
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
        session.flush()
    return account

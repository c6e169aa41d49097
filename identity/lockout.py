"""Slowing down password and recovery-code guessing without letting a stranger lock the owner out.

OWASP's device-cookie scheme (Authentication Cheat Sheet, "Device cookies"): a browser that signed
in to an account before holds a signed device token for that account. Attempts from it are counted
in that device's own bucket, so nobody else's failures — from any address, however many — can lock
it. Attempts from browsers without such a token ("untrusted clients") are limited per account and
client address, and per account in total across every address (a botnet spreading guesses).

So a stranger can make the owner wait only on a browser that never signed in to the account, and
only by sustaining failures from many addresses; the owner's usual browser, and passkeys (which no
guess can match), always get in. Counter keys are hashes: no CNIC or login is stored.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from identity.accounts import normalize_cnic
from identity.errors import InvalidInput

# Attempts a trusted device makes for its account in WINDOW.
DEVICE_ATTEMPTS = 10
# Attempts from one untrusted address for one account in WINDOW.
CLIENT_ATTEMPTS = 10
# Attempts from every untrusted address together for one account in WINDOW.
ACCOUNT_ATTEMPTS = 100
WINDOW = dt.timedelta(minutes=15)
# How long a device cookie is honoured after the sign-in that issued it.
DEVICE_LIFETIME = dt.timedelta(days=180)
_CONTEXT = b"amanat-device/1\n"


@dataclass(frozen=True)
class Limit:
    """One counter an attempt must fit in: its key, how many, over how long."""

    key: str
    limit: int
    window: dt.timedelta


def login_key(login: str) -> str:
    """The login as the limiter keys it (CNIC normalised when it is one), hashed."""
    try:
        plain = normalize_cnic(login)
    except InvalidInput:
        plain = (login or "").strip().lower()
    return hashlib.sha256(plain.encode()).hexdigest()[:32]


def _mac(secret: bytes, *parts: str) -> str:
    digest = hmac.new(secret, _CONTEXT + "\n".join(parts).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def issue_device_token(secret: bytes, *, login: str, now: dt.datetime) -> str:
    """A device token for this browser and account (set as a cookie after a good sign-in)."""
    nonce = secrets.token_urlsafe(12)
    issued = str(int(now.timestamp()))
    account = login_key(login)
    return f"{nonce}.{issued}.{_mac(secret, nonce, issued, account)}"


def device_of(secret: bytes, *, token: str | None, login: str, now: dt.datetime) -> str | None:
    """The device's nonce when ``token`` is a valid, unexpired token for ``login``; else None."""
    try:
        nonce, issued, tag = (token or "").split(".")
        when = dt.datetime.fromtimestamp(int(issued), dt.UTC)
    except (ValueError, OverflowError, OSError):
        return None
    if not hmac.compare_digest(tag, _mac(secret, nonce, issued, login_key(login))):
        return None
    if not dt.timedelta(0) <= now - when <= DEVICE_LIFETIME:
        return None
    return nonce


def limits_for(bucket: str, *, login: str, client: str, device: str | None) -> list[Limit]:
    """The counters a password or recovery-code attempt must fit in."""
    account = login_key(login)
    if device is not None:
        return [Limit(f"{bucket}-device:{account}:{device}", DEVICE_ATTEMPTS, WINDOW)]
    client_key = hashlib.sha256(client.encode()).hexdigest()[:16]
    return [
        Limit(f"{bucket}-client:{account}:{client_key}", CLIENT_ATTEMPTS, WINDOW),
        Limit(f"{bucket}-account:{account}", ACCOUNT_ATTEMPTS, WINDOW),
    ]

"""Signed webhooks: telling an organisation's system that a request was answered.

Each event becomes a delivery row in the same transaction as the answer, so no event is lost and
none is sent for an answer that rolled back. A worker (``web/webhooks.py``) posts the exact body
with ``Amanat-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 over "<t>.<body>">`` under the
organisation's secret, retries with back-off until it is answered 2xx, and records every attempt.
A receiver recomputes the HMAC and refuses a timestamp older than five minutes (replay).

Callback URLs are checked when a request is made and again before every attempt: https when the
service itself is published over https, and never an address inside a private, loopback,
link-local or reserved network unless the operator allowed that network.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from identity.organisations import get_organisation
from keys.stores import KeyStore
from signing.errors import SigningError
from signing.models import DocumentRequest, WebhookAttempt, WebhookDelivery, WebhookSecret


class DeliveryStatus(StrEnum):
    """Where a webhook delivery stands."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


PENDING, DELIVERED, FAILED = DeliveryStatus.PENDING, DeliveryStatus.DELIVERED, DeliveryStatus.FAILED
# Waits after each failed attempt: about a day and a half in all, then the delivery is given up.
BACKOFF_SECONDS = (10, 30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 12 * 3600)
MAX_ATTEMPTS = len(BACKOFF_SECONDS) + 1
REPLAY_WINDOW_SECONDS = 300
MAX_URL = 500

Networks = Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]
Resolver = Callable[[str, int], list[str]]


class WebhookRefused(SigningError):
    """A callback URL that may not be called (its code says why)."""


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (empty when it does not)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return sorted({str(info[4][0]) for info in infos})


def _blocked(address: str, allowed: Networks) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if any(ip in net for net in allowed):
        return False
    return not ip.is_global or ip.is_multicast


def check_callback_url(
    url: str,
    *,
    require_https: bool,
    allowed: Networks = (),
    resolver: Resolver | None = None,
) -> str:
    """The URL, if Amanat may call it; WebhookRefused (code says why) otherwise."""
    return callback_target(url, require_https=require_https, allowed=allowed, resolver=resolver)[0]


def callback_target(
    url: str,
    *,
    require_https: bool,
    allowed: Networks = (),
    resolver: Resolver | None = None,
) -> tuple[str, str]:
    """The URL and the checked address to connect to (the connection goes to that address, so
    a name that resolves elsewhere a moment later cannot lead inside); WebhookRefused else."""
    text = (url or "").strip()
    parts = urlsplit(text)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = 0
    if len(text) > MAX_URL or parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookRefused("Bad callback URL.", code="callback_url_format", n=MAX_URL)
    if not port or parts.username or parts.password:
        raise WebhookRefused("Bad callback URL.", code="callback_url_format", n=MAX_URL)
    if require_https and parts.scheme != "https":
        raise WebhookRefused("Callback not https.", code="callback_url_not_https")
    addresses = (resolver or resolve)(parts.hostname, port)
    if not addresses:
        raise WebhookRefused("Callback host unknown.", code="callback_url_unresolved")
    if any(_blocked(a, allowed) for a in addresses):
        raise WebhookRefused("Callback private.", code="callback_url_private")
    return text, addresses[0]


# -- the organisation's secret --------------------------------------------------------------------


def _aad(code: str) -> bytes:
    return b"amanat-webhook-secret/1\n" + code.encode()


def rotate_webhook_secret(
    session: Session, *, keystore: KeyStore, code: str, now: dt.datetime
) -> str:
    """A new secret for the organisation (the old one stops at once); shown once."""
    org = get_organisation(session, code=code)
    raw = secrets.token_bytes(32)
    version, wrapped = keystore.wrap(raw, aad=_aad(org.code))
    row = session.get(WebhookSecret, org.code)
    if row is None:
        row = WebhookSecret(organisation_code=org.code, key_version=version, wrapped=wrapped)
        session.add(row)
    row.key_version, row.wrapped, row.created_at = version, wrapped, now
    session.flush()
    return _text(raw)


def _text(raw: bytes) -> str:
    """The secret as the organisation holds it (and as the HMAC key)."""
    return "whsec_" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def webhook_secret(session: Session, *, keystore: KeyStore, code: str) -> str | None:
    """The organisation's secret, or None when it has none yet."""
    row = session.get(WebhookSecret, code)
    if row is None:
        return None
    return _text(keystore.unwrap(row.wrapped, version=row.key_version, aad=_aad(code)))


def rewrap_webhook_secrets(session: Session, *, keystore: KeyStore) -> int:
    """Rewrap every webhook secret under the key store's current master key (after rotation);
    the secrets themselves do not change."""
    current, count = keystore.current_version(), 0
    for row in session.scalars(select(WebhookSecret)):
        if row.key_version == current:
            continue
        raw = keystore.unwrap(row.wrapped, version=row.key_version, aad=_aad(row.organisation_code))
        row.key_version, row.wrapped = keystore.wrap(raw, aad=_aad(row.organisation_code))
        count += 1
    session.flush()
    return count


def signature_header(secret: str, *, timestamp: int, body: bytes) -> str:
    """``t=<timestamp>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def signature_valid(secret: str, *, header: str, body: bytes, now: dt.datetime) -> bool:
    """What a receiver checks: the HMAC matches and the timestamp is recent (no replay)."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields.get("t", ""))
    except ValueError:
        return False
    if abs(now.timestamp() - timestamp) > REPLAY_WINDOW_SECONDS:
        return False
    expected = signature_header(secret, timestamp=timestamp, body=body)
    return hmac.compare_digest(expected, f"t={timestamp},v1={fields.get('v1', '')}")


# -- deliveries -----------------------------------------------------------------------------------


def queue_event(
    session: Session,
    *,
    request: DocumentRequest,
    event: str,
    data: dict[str, Any],
    now: dt.datetime,
) -> WebhookDelivery | None:
    """Record an event for the request's callback URL (None when it has none)."""
    if not request.callback_url:
        return None
    body = json.dumps(
        {"event": event, "request": str(request.id), "at": now.isoformat(), **data},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    delivery = WebhookDelivery(
        request_id=request.id,
        organisation_code=request.organisation_code,
        event=event,
        url=request.callback_url,
        body=body,
        status=PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(delivery)
    session.flush()
    return delivery


def due_deliveries(session: Session, *, now: dt.datetime, limit: int = 20) -> list[int]:
    """Ids of deliveries whose next attempt is due, oldest first."""
    query = (
        select(WebhookDelivery.id)
        .where(WebhookDelivery.status == PENDING, WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
    )
    return list(session.scalars(query))


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: an HTTP status, or the reason there was none."""

    status_code: int | None
    error: str | None
    ms: int

    @property
    def delivered(self) -> bool:
        """A 2xx answer."""
        return self.status_code is not None and 200 <= self.status_code < 300


def record_attempt(
    session: Session, *, delivery_id: int, outcome: Outcome, now: dt.datetime
) -> WebhookDelivery:
    """Write an attempt and move the delivery on: delivered, due again later, or given up."""
    delivery = session.get(WebhookDelivery, delivery_id)
    assert delivery is not None
    session.add(
        WebhookAttempt(
            delivery_id=delivery.id,
            at=now,
            status_code=outcome.status_code,
            error=(outcome.error or None) and str(outcome.error)[:200],
            ms=outcome.ms,
        )
    )
    delivery.attempts += 1
    if outcome.delivered:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = DELIVERED, now, None
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.status, delivery.next_attempt_at = FAILED, None
    else:
        wait = BACKOFF_SECONDS[delivery.attempts - 1]
        delivery.next_attempt_at = now + dt.timedelta(seconds=wait)
    session.flush()
    return delivery


def deliveries_for(session: Session, *, request_id: Any) -> Sequence[WebhookDelivery]:
    """A request's deliveries with their attempts, oldest first."""
    return session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.request_id == request_id)
        .options(selectinload(WebhookDelivery.tries))
        .order_by(WebhookDelivery.id)
    ).all()


def refused_outcome(error: WebhookRefused) -> Outcome:
    """An attempt that was not made because the URL may no longer be called."""
    return Outcome(status_code=None, error=error.code, ms=0)


def check_or_refuse(
    url: str, *, require_https: bool, allowed: Networks
) -> tuple[str, WebhookRefused | None]:
    """The address to connect to now, or why ``url`` may not be called (checked again before
    each attempt: a name that resolved to a public address may since point inside)."""
    try:
        return callback_target(url, require_https=require_https, allowed=allowed)[1], None
    except WebhookRefused as refused:
        return "", refused

"""Delivering webhooks: each due delivery is posted to its callback URL with the organisation's
signature, and the attempt is recorded (``signing/webhooks.py`` keeps the rows and the back-off).

Run in the task engine's outbox round, with the notices, every few seconds. No transaction stays
open while a receiver answers; redirects are not followed (a 3xx is a failed attempt), so a
callback cannot send Amanat somewhere its check did not look.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import requests

from amanat.db import transaction
from signing.models import WebhookDelivery
from signing.webhooks import (
    PENDING,
    Outcome,
    check_or_refuse,
    due_deliveries,
    record_attempt,
    refused_outcome,
    signature_header,
    webhook_secret,
)

_log = logging.getLogger("amanat.webhooks")
TIMEOUT = (5.0, 10.0)  # connect, read (seconds)


def post_signed(
    url: str, *, body: str, secret: str, event: str, delivery_id: int, now: float
) -> Outcome:
    """Post ``body`` with its signature; what the receiver answered, or why it did not."""
    data = body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Amanat-Webhook/1",
        "Amanat-Event": event,
        "Amanat-Delivery": str(delivery_id),
        "Amanat-Signature": signature_header(secret, timestamp=int(now), body=data),
    }
    started = time.monotonic()
    try:
        answer = requests.post(url, data=data, headers=headers, timeout=TIMEOUT,
                               allow_redirects=False)  # fmt: skip
    except requests.RequestException as exc:
        ms = int((time.monotonic() - started) * 1000)
        return Outcome(status_code=None, error=type(exc).__name__, ms=ms)
    ms = int((time.monotonic() - started) * 1000)
    return Outcome(status_code=answer.status_code, error=None, ms=ms)


def _attempt(rt: Any, delivery_id: int) -> Outcome | None:
    with transaction(rt.sessions) as s:
        delivery = s.get(WebhookDelivery, delivery_id)
        if delivery is None or delivery.status != PENDING:
            return None  # another worker's round took it
        url, body, event = delivery.url, delivery.body, delivery.event
        secret = webhook_secret(s, keystore=rt.keystore, code=delivery.organisation_code)
    settings = rt.settings
    refused = check_or_refuse(url, require_https=settings.https, allowed=settings.webhook_networks)
    if refused is not None:
        return refused_outcome(refused)
    if secret is None:
        return Outcome(status_code=None, error="no_webhook_secret", ms=0)
    now = rt.clock().timestamp()
    return post_signed(url, body=body, secret=secret, event=event, delivery_id=delivery_id, now=now)


def deliver_due_webhooks(rt: Any, *, limit: int = 20) -> int:
    """Try every delivery that is due (at most ``limit``); how many were delivered."""
    with transaction(rt.sessions) as s:
        due = due_deliveries(s, now=rt.clock(), limit=limit)
    delivered = 0
    for delivery_id in due:
        outcome = _attempt(rt, delivery_id)
        if outcome is None:
            continue
        with transaction(rt.sessions) as s:
            record_attempt(s, delivery_id=delivery_id, outcome=outcome, now=rt.clock())
        if outcome.delivered:
            delivered += 1
        else:
            _log.warning("webhook %s: %s", delivery_id, outcome.error or outcome.status_code)
    return delivered

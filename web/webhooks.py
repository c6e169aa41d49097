"""Delivering webhooks: each due delivery is posted to its callback URL with the organisation's
signature, and the attempt is recorded (``signing/webhooks.py`` keeps the rows and the back-off).

Run in the task engine's outbox round, with the notices, every few seconds. No transaction stays
open while a receiver answers. The connection goes to the address the check resolved and
approved (the host name is still sent, and for https checked against the certificate), so a name
that answers differently a moment later cannot lead inside; redirects are not followed (a 3xx is
a failed attempt).
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import urlsplit

import urllib3

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
TIMEOUT = urllib3.Timeout(connect=5.0, read=10.0)


def _pool(url: str, address: str) -> tuple[urllib3.HTTPConnectionPool, str, str]:
    """A connection pool to ``address`` for ``url``'s host, the path to post to, the Host."""
    parts = urlsplit(url)
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = parts.hostname or ""
    if https:
        pool: urllib3.HTTPConnectionPool = urllib3.HTTPSConnectionPool(
            address, port, timeout=TIMEOUT, retries=False, cert_reqs="CERT_REQUIRED",
            server_hostname=host, assert_hostname=host,
        )  # fmt: skip
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=TIMEOUT, retries=False)
    return pool, path, parts.netloc


def post_signed(
    url: str, *, address: str, body: str, secret: str, event: str, delivery_id: int, now: float
) -> Outcome:
    """Post ``body`` with its signature to ``address``; what the receiver answered, or why it
    did not."""
    data = body.encode()
    pool, path, netloc = _pool(url, address)
    headers = {
        "Host": netloc,
        "Content-Type": "application/json",
        "User-Agent": "Amanat-Webhook/1",
        "Amanat-Event": event,
        "Amanat-Delivery": str(delivery_id),
        "Amanat-Signature": signature_header(secret, timestamp=int(now), body=data),
    }
    started = time.monotonic()
    try:
        with pool:
            answer = pool.urlopen("POST", path, body=data, headers=headers, redirect=False,
                                  retries=False, preload_content=True)  # fmt: skip
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        ms = int((time.monotonic() - started) * 1000)
        return Outcome(status_code=None, error=type(exc).__name__, ms=ms)
    ms = int((time.monotonic() - started) * 1000)
    return Outcome(status_code=answer.status, error=None, ms=ms)


def _attempt(rt: Any, delivery_id: int) -> Outcome | None:
    with transaction(rt.sessions) as s:
        delivery = s.get(WebhookDelivery, delivery_id)
        if delivery is None or delivery.status != PENDING:
            return None  # another worker's round took it
        url, body, event = delivery.url, delivery.body, delivery.event
        secret = webhook_secret(s, keystore=rt.keystore, code=delivery.organisation_code)
    settings = rt.settings
    address, refused = check_or_refuse(
        url, require_https=settings.https, allowed=settings.webhook_networks
    )
    if refused is not None:
        return refused_outcome(refused)
    if secret is None:
        return Outcome(status_code=None, error="no_webhook_secret", ms=0)
    return post_signed(
        url, address=address, body=body, secret=secret, event=event, delivery_id=delivery_id,
        now=rt.clock().timestamp(),
    )  # fmt: skip


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

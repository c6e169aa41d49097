"""Webhooks: which callback URLs may be called, the signature a receiver checks (and a replay it
refuses), and deliveries retried with back-off until answered or given up."""

from __future__ import annotations

import datetime as dt
import ipaddress
import uuid

import pytest

from identity.organisations import create_organisation
from signing.models import DocumentRequest, WebhookSecret
from signing.webhooks import (
    BACKOFF_SECONDS,
    DELIVERED,
    FAILED,
    MAX_ATTEMPTS,
    PENDING,
    Outcome,
    WebhookRefused,
    check_callback_url,
    due_deliveries,
    queue_event,
    record_attempt,
    rewrap_webhook_secrets,
    rotate_webhook_secret,
    signature_header,
    signature_valid,
    webhook_secret,
)

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def _resolving_to(*addresses: str):
    return lambda host, port: list(addresses)


@pytest.mark.parametrize(
    ("url", "addresses", "https", "code"),
    [
        ("http://bank.example/hook", ["93.184.216.34"], True, "callback_url_not_https"),
        ("https://bank.example/hook", ["10.0.0.7"], True, "callback_url_private"),
        ("https://bank.example/hook", ["93.184.216.34", "127.0.0.1"], True, "callback_url_private"),
        ("https://bank.example/hook", ["fd00::1"], True, "callback_url_private"),
        ("https://bank.example/hook", ["100.64.0.1"], True, "callback_url_private"),
        ("https://bank.example/hook", ["224.0.0.1"], True, "callback_url_private"),
        ("https://bank.example/hook", [], True, "callback_url_unresolved"),
        ("https://bank.example:99999/hook", ["93.184.216.34"], True, "callback_url_format"),
        ("javascript:alert(1)", ["93.184.216.34"], False, "callback_url_format"),
        ("https://a:b@bank.example/hook", ["93.184.216.34"], True, "callback_url_format"),
        ("https://bank.example/" + "x" * 500, ["93.184.216.34"], True, "callback_url_format"),
    ],
)
def test_a_callback_that_may_not_be_called_is_refused(url, addresses, https, code) -> None:
    with pytest.raises(WebhookRefused) as refused:
        check_callback_url(url, require_https=https, resolver=_resolving_to(*addresses))
    assert refused.value.code == code


def test_a_public_https_callback_is_accepted() -> None:
    url = "https://loans.bank.example/amanat"
    assert check_callback_url(url, require_https=True, resolver=_resolving_to("93.184.216.34"))


def test_an_allowed_private_network_may_be_called() -> None:
    allowed = [ipaddress.ip_network("10.1.0.0/16")]
    url = "http://bank.internal/hook"
    assert check_callback_url(
        url, require_https=False, allowed=allowed, resolver=_resolving_to("10.1.2.3")
    )


def test_a_receiver_accepts_a_fresh_signature() -> None:
    header = signature_header("whsec_k", timestamp=int(NOW.timestamp()), body=b'{"a":1}')
    assert signature_valid("whsec_k", header=header, body=b'{"a":1}', now=NOW)


@pytest.mark.parametrize(
    ("secret", "body", "later"),
    [("whsec_other", b'{"a":1}', 0), ("whsec_k", b'{"a":2}', 0), ("whsec_k", b'{"a":1}', 301)],
    ids=["wrong-secret", "tampered-body", "replayed-late"],
)
def test_a_receiver_refuses_a_forged_or_replayed_call(secret, body, later) -> None:
    header = signature_header("whsec_k", timestamp=int(NOW.timestamp()), body=b'{"a":1}')
    when = NOW + dt.timedelta(seconds=later)
    assert not signature_valid(secret, header=header, body=body, now=when)


@pytest.mark.parametrize("header", ["", "t=abc,v1=00", "v1=00", "t=1"])
def test_a_malformed_signature_header_is_not_valid(header: str) -> None:
    assert not signature_valid("whsec_k", header=header, body=b"{}", now=NOW)


def test_the_secret_is_wrapped_and_rotates(session, file_keystore) -> None:
    create_organisation(session, code="BANK", name="Bank", now=NOW)
    first = rotate_webhook_secret(session, keystore=file_keystore, code="BANK", now=NOW)
    assert webhook_secret(session, keystore=file_keystore, code="BANK") == first
    second = rotate_webhook_secret(session, keystore=file_keystore, code="BANK", now=NOW)
    assert second != first
    assert first.startswith("whsec_")
    assert webhook_secret(session, keystore=file_keystore, code="BANK") == second


def test_a_master_key_rotation_rewraps_the_secret_and_keeps_it(session, file_keystore) -> None:

    create_organisation(session, code="BANK", name="Bank", now=NOW)
    secret = rotate_webhook_secret(session, keystore=file_keystore, code="BANK", now=NOW)
    file_keystore.rotate()
    assert rewrap_webhook_secrets(session, keystore=file_keystore) == 1
    row = session.get(WebhookSecret, "BANK")
    assert row is not None
    assert row.key_version == file_keystore.current_version()
    assert webhook_secret(session, keystore=file_keystore, code="BANK") == secret


def _delivery(session) -> int:
    create_organisation(session, code="BANK", name="Bank", now=NOW)
    req = DocumentRequest(
        id=uuid.uuid4(), organisation_code="BANK", actor="t", types=[], kinds=["pay-slip"],
        purpose="loan", days=30, status=PENDING, created_at=NOW,
        expires_at=NOW + dt.timedelta(days=7), callback_url="https://bank.example/hook",
    )  # fmt: skip
    session.add(req)
    delivery = queue_event(session, request=req, event="request.declined", data={}, now=NOW)
    assert delivery is not None
    return delivery.id


def test_a_failed_attempt_waits_before_the_next(session) -> None:
    delivery_id = _delivery(session)
    failed = Outcome(status_code=500, error=None, ms=3)
    record_attempt(session, delivery_id=delivery_id, outcome=failed, now=NOW)
    assert due_deliveries(session, now=NOW) == []
    later = NOW + dt.timedelta(seconds=BACKOFF_SECONDS[0])
    assert due_deliveries(session, now=later) == [delivery_id]
    done = record_attempt(
        session, delivery_id=delivery_id, outcome=Outcome(204, None, 2), now=later
    )
    assert done.status == DELIVERED
    assert due_deliveries(session, now=later) == []


def test_a_delivery_is_given_up_after_its_last_attempt(session) -> None:
    delivery_id = _delivery(session)
    when = NOW
    for _ in range(MAX_ATTEMPTS):
        delivery = record_attempt(
            session, delivery_id=delivery_id, outcome=Outcome(None, "ConnectTimeout", 5000),
            now=when,
        )  # fmt: skip
        when = delivery.next_attempt_at or when
    assert delivery.status == FAILED
    assert len(delivery.tries) == MAX_ATTEMPTS
    assert due_deliveries(session, now=when + dt.timedelta(days=30)) == []


def test_a_request_without_callback_queues_nothing(session) -> None:
    create_organisation(session, code="BANK", name="Bank", now=NOW)
    req = DocumentRequest(
        id=uuid.uuid4(), organisation_code="BANK", actor="t", types=[], kinds=["pay-slip"],
        purpose="loan", days=30, status=PENDING, created_at=NOW,
        expires_at=NOW + dt.timedelta(days=7),
    )  # fmt: skip
    session.add(req)
    assert queue_event(session, request=req, event="request.expired", data={}, now=NOW) is None

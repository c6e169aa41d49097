"""Device tokens and the counters of identity.lockout (OWASP device cookies)."""

from __future__ import annotations

import datetime as dt

import pytest

from identity import lockout

SECRET = b"s" * 32
NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def test_a_device_token_is_recognised_for_its_login() -> None:
    token = lockout.issue_device_token(SECRET, login="35202-1234567-1", now=NOW)
    assert lockout.device_of(SECRET, token=token, login="3520212345671", now=NOW) is not None


@pytest.mark.parametrize(
    ("secret", "login", "later"),
    [
        (b"x" * 32, "35202-1234567-1", dt.timedelta(0)),
        (SECRET, "35202-7654321-1", dt.timedelta(0)),
        (SECRET, "35202-1234567-1", lockout.DEVICE_LIFETIME + dt.timedelta(seconds=1)),
        (SECRET, "35202-1234567-1", -dt.timedelta(days=1)),
    ],
)
def test_a_device_token_is_refused_elsewhere(secret, login, later) -> None:
    token = lockout.issue_device_token(SECRET, login="35202-1234567-1", now=NOW)
    assert lockout.device_of(secret, token=token, login=login, now=NOW + later) is None


@pytest.mark.parametrize("token", [None, "", "a.b", "a.b.c", "a.99999999999999999999.c", "..."])
def test_malformed_device_tokens_are_untrusted(token) -> None:
    assert lockout.device_of(SECRET, token=token, login="x", now=NOW) is None


def test_a_trusted_device_has_only_its_own_counter() -> None:
    (only,) = lockout.limits_for("password", login="x", client="10.0.0.1", device="n1")
    assert only.limit == lockout.DEVICE_ATTEMPTS
    assert "n1" in only.key


def test_an_untrusted_client_meets_the_address_and_account_counters() -> None:
    per_client, per_account = lockout.limits_for(
        "password", login="x", client="10.0.0.1", device=None
    )
    assert (per_client.limit, per_account.limit) == (
        lockout.CLIENT_ATTEMPTS,
        lockout.ACCOUNT_ATTEMPTS,
    )
    assert "10.0.0.1" not in per_client.key

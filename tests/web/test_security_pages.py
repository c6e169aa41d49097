"""The security page and the other ways in: passkeys, sessions, recovery codes, password, limits."""

from __future__ import annotations

import re

from fido2.utils import websafe_encode
from flask.testing import FlaskClient
from sqlalchemy import select

from audit import verify_chain
from audit.models import AuditEvent
from identity import passwords
from identity.accounts import create_account
from identity.lockout import ACCOUNT_ATTEMPTS
from identity.models import Passkey, RateCounter, Role
from tests.softauthn import SoftAuthenticator
from tests.web.conftest import csrf_of
from tests.web.helpers import post_json, register, sign_in


def _add_passkey(client: FlaskClient, name: str = "Tablet") -> SoftAuthenticator:
    csrf = csrf_of(client, "/security")
    begin = post_json(client, "/security/passkeys/begin", {}, csrf).get_json()
    second = SoftAuthenticator()
    res = post_json(
        client,
        "/security/passkeys/complete",
        {
            "token": begin["token"],
            "credential": second.register(begin["options"]),
            "passkey_name": name,
        },
        csrf,
    )
    assert res.status_code == 200, res.get_data(as_text=True)
    return second


def _passkey_ids(sessions) -> list[int]:
    with sessions() as s:
        return list(s.scalars(select(Passkey.id).order_by(Passkey.id)))


def test_add_second_passkey_and_sign_in_with_it(client: FlaskClient, sessions) -> None:
    first = register(client)
    second = _add_passkey(client)
    assert len(_passkey_ids(sessions)) == 2
    begin_options_excluded = first.credential_id
    assert begin_options_excluded != second.credential_id
    client.post("/logout", data={"csrf_token": csrf_of(client, "/vault")})
    assert sign_in(client, second).status_code == 200


def test_add_passkey_excludes_existing_ones(client: FlaskClient) -> None:
    first = register(client)
    csrf = csrf_of(client, "/security")
    begin = post_json(client, "/security/passkeys/begin", {}, csrf).get_json()
    excluded = [c["id"] for c in begin["options"]["publicKey"]["excludeCredentials"]]

    assert excluded == [websafe_encode(first.credential_id)]


def test_the_last_passkey_cannot_be_removed(client: FlaskClient, sessions) -> None:
    register(client)
    (only,) = _passkey_ids(sessions)
    csrf = csrf_of(client, "/security")
    res = client.post(
        f"/security/passkeys/{only}/remove",
        data={"csrf_token": csrf},
        headers={"Accept": "application/json"},
    )
    assert res.status_code == 409
    assert "only passkey" in res.get_json()["message"]
    assert _passkey_ids(sessions) == [only]


def test_rename_and_remove_a_passkey(client: FlaskClient, sessions) -> None:
    register(client)
    _add_passkey(client)
    first, second = _passkey_ids(sessions)
    csrf = csrf_of(client, "/security")
    assert (
        client.post(
            f"/security/passkeys/{second}/rename", data={"csrf_token": csrf, "name": "Old phone"}
        ).status_code
        == 302
    )
    assert "Old phone" in client.get("/security").get_data(as_text=True)
    assert (
        client.post(f"/security/passkeys/{second}/remove", data={"csrf_token": csrf}).status_code
        == 302
    )
    assert _passkey_ids(sessions) == [first]


def test_cannot_touch_another_accounts_passkey(client: FlaskClient, app, sessions) -> None:
    register(client)
    (victim,) = _passkey_ids(sessions)
    other = app.test_client()
    register(other, cnic="35202-7777777-7")
    _add_passkey(other)
    csrf = csrf_of(other, "/security")
    res = other.post(f"/security/passkeys/{victim}/remove", data={"csrf_token": csrf})
    assert res.status_code == 404
    assert victim in _passkey_ids(sessions)


def test_sessions_are_listed_and_can_be_ended(client: FlaskClient, app) -> None:
    auth = register(client)
    laptop = app.test_client()
    assert sign_in(laptop, auth).status_code == 200
    page = client.get("/security").get_data(as_text=True)
    ended = re.findall(r"/security/sessions/(\d+)/end", page)
    assert len(ended) == 1  # the other device; this one is marked "(this device)"
    csrf = csrf_of(client, "/security")
    assert (
        client.post(f"/security/sessions/{ended[0]}/end", data={"csrf_token": csrf}).status_code
        == 302
    )
    assert laptop.get("/vault").status_code == 302  # signed out remotely
    assert client.get("/vault").status_code == 200


def test_session_idle_expiry_through_the_clock(client: FlaskClient, clock) -> None:
    register(client)
    clock.advance(minutes=31)
    assert client.get("/vault").status_code == 302


def test_recovery_code_signs_in_once_and_ends_other_sessions(client: FlaskClient, app) -> None:
    register(client)
    csrf = csrf_of(client, "/security")
    page = client.post("/security/recovery-codes", data={"csrf_token": csrf}).get_data(as_text=True)
    codes = re.findall(r"<li>([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})</li>", page)
    assert len(codes) == 10
    lost = app.test_client()
    csrf2 = csrf_of(lost, "/login")
    res = lost.post(
        "/login/recovery", data={"csrf_token": csrf2, "login": "35202-1234567-1", "code": codes[0]}
    )
    assert res.status_code == 302
    assert res.headers["Location"].endswith("/security")
    assert client.get("/vault").status_code == 302  # the possibly stolen session ended
    again = app.test_client()
    csrf3 = csrf_of(again, "/login")
    res = again.post(
        "/login/recovery", data={"csrf_token": csrf3, "login": "35202-1234567-1", "code": codes[0]}
    )
    assert res.status_code == 401


def test_password_sign_in_after_setting_one(client: FlaskClient, app, sessions) -> None:
    register(client)
    csrf = csrf_of(client, "/security")
    res = client.post(
        "/security/password",
        data={"csrf_token": csrf, "password": "a long passphrase", "confirm": "a long passphrase"},
    )
    assert res.status_code == 302
    browser = app.test_client()
    csrf2 = csrf_of(browser, "/login")
    bad = browser.post(
        "/login/password",
        data={"csrf_token": csrf2, "login": "35202-1234567-1", "password": "wrong passphrase"},
    )
    assert bad.status_code == 401
    assert "Sign-in failed" in bad.get_data(as_text=True)
    good = browser.post(
        "/login/password",
        data={"csrf_token": csrf2, "login": "35202-1234567-1", "password": "a long passphrase"},
    )
    assert good.status_code == 302
    assert browser.get("/vault").status_code == 200
    with sessions() as s:
        tags = list(s.scalars(select(AuditEvent.tag)))
        assert "account:sign-in-failed" in tags
        assert "account:password-set" in tags
        assert verify_chain(s).intact


def test_mismatched_password_confirmation_is_refused(client: FlaskClient) -> None:
    register(client)
    csrf = csrf_of(client, "/security")
    res = client.post(
        "/security/password",
        data={"csrf_token": csrf, "password": "a long passphrase", "confirm": "another one!!"},
    )
    assert res.status_code == 400


def _password_attempt(client: FlaskClient, csrf: str, login: str, ip: str = "10.0.0.1") -> int:
    return client.post(
        "/login/password",
        data={"csrf_token": csrf, "login": login, "password": "x" * 12},
        environ_base={"REMOTE_ADDR": ip},
    ).status_code


def test_sign_in_is_rate_limited_per_client_address(client: FlaskClient, app) -> None:
    """After the per-minute limit, one address gets 429 whatever the credentials."""
    limit = app.extensions["amanat"].settings.login_attempts_per_minute
    csrf = csrf_of(client, "/login")
    statuses = [_password_attempt(client, csrf, f"35202-00000{i:02d}-1") for i in range(limit + 2)]
    assert statuses[:limit] == [401] * limit
    assert statuses[limit:] == [429, 429]
    assert _password_attempt(client, csrf, "35202-9999999-1", ip="10.0.0.2") == 401


def test_password_guesses_are_limited_per_account_and_address(client: FlaskClient) -> None:
    """One address gets 10 guesses at one account in 15 minutes; another address still tries."""
    csrf = csrf_of(client, "/login")
    statuses = [_password_attempt(client, csrf, "35202-1234567-1") for _ in range(12)]
    assert statuses == [401] * 10 + [429, 429]
    assert _password_attempt(client, csrf, "35202-1234567-1", ip="10.0.0.9") == 401


def test_password_guesses_are_capped_per_account_across_addresses(client: FlaskClient) -> None:
    """A botnet spreading guesses over many addresses meets the account's total (100 / 15 min)."""

    csrf = csrf_of(client, "/login")
    statuses = [
        _password_attempt(client, csrf, "35202-1234567-1", ip=f"10.1.{i // 5}.{i % 5}")
        for i in range(ACCOUNT_ATTEMPTS + 2)
    ]
    assert statuses[:ACCOUNT_ATTEMPTS] == [401] * ACCOUNT_ATTEMPTS
    assert statuses[ACCOUNT_ATTEMPTS:] == [429, 429]
    assert _password_attempt(client, csrf, "35202-7654321-1", ip="10.2.0.1") == 401


def _owner_with_password(app) -> FlaskClient:
    """A citizen who registered (passkey) and set a password in this browser, then signed out."""
    owner = app.test_client()
    register(owner)
    csrf = csrf_of(owner, "/security")
    password = {"csrf_token": csrf, "password": "a long passphrase", "confirm": "a long passphrase"}
    assert owner.post("/security/password", data=password).status_code == 302
    owner.post("/logout", data={"csrf_token": csrf_of(owner, "/vault")})
    return owner


def _flood(app, login: str) -> None:
    """A stranger fails from enough addresses to close the account to untrusted browsers."""

    stranger = app.test_client()
    csrf = csrf_of(stranger, "/login")
    for i in range(ACCOUNT_ATTEMPTS):
        _password_attempt(stranger, csrf, login, ip=f"10.3.{i // 5}.{i % 5}")
    assert _password_attempt(stranger, csrf, login, ip="10.4.0.1") == 429


def test_a_stranger_cannot_lock_the_owner_out_of_a_browser_they_used(app) -> None:
    """OWASP device cookies: the owner's browser has its own counter (issue 11)."""
    owner = _owner_with_password(app)
    _flood(app, "35202-1234567-1")
    csrf = csrf_of(owner, "/login")
    res = owner.post(
        "/login/password",
        data={"csrf_token": csrf, "login": "35202-1234567-1", "password": "a long passphrase"},
        environ_base={"REMOTE_ADDR": "10.9.9.9"},
    )
    assert res.status_code == 302


def test_a_device_cookie_is_for_its_account_only(app) -> None:
    owner = _owner_with_password(app)
    _flood(app, "35202-7654321-1")
    csrf = csrf_of(owner, "/login")
    assert _password_attempt(owner, csrf, "35202-7654321-1", ip="10.9.9.8") == 429


def test_a_forged_device_cookie_counts_as_untrusted(app) -> None:
    _flood(app, "35202-1234567-1")
    forger = app.test_client()
    forger.set_cookie("amanat_device", "abc.1795000000.AAAAAAAAAAAAAAAAAAAAAAAA")
    csrf = csrf_of(forger, "/login")
    assert _password_attempt(forger, csrf, "35202-1234567-1", ip="10.9.9.7") == 429


def test_rate_limit_keys_hold_no_cnic(client: FlaskClient, sessions) -> None:

    _password_attempt(client, csrf_of(client, "/login"), "35202-1234567-1")
    with sessions() as s:
        keys = list(s.scalars(select(RateCounter.key)))
    assert keys
    assert not any("35202" in k or "1234567" in k for k in keys)


def test_rate_limit_resets_after_its_window(client: FlaskClient, app, clock) -> None:
    limit = app.extensions["amanat"].settings.login_attempts_per_minute
    csrf = csrf_of(client, "/login")
    for i in range(limit + 1):
        _password_attempt(client, csrf, f"35202-00000{i:02d}-2")
    assert _password_attempt(client, csrf, "35202-0000099-2") == 429
    clock.advance(minutes=1, seconds=1)
    assert _password_attempt(client, csrf, "35202-0000099-2") == 401


def test_open_redirect_is_refused(client: FlaskClient) -> None:
    auth = register(client)
    client.post("/logout", data={"csrf_token": csrf_of(client, "/vault")})
    csrf = csrf_of(client, "/login")
    begin = post_json(client, "/login/begin", {}, csrf).get_json()
    res = client.post(
        "/login/complete?next=//evil.example/x",
        json={"token": begin["token"], "credential": auth.assert_(begin["options"])},
        headers={"X-CSRF-Token": csrf},
    )
    assert res.get_json()["redirect"] == "/vault"


def test_officer_lands_on_security_not_a_403(client: FlaskClient, sessions, now) -> None:
    """Staff have no vault: after signing in they land on a page they may see."""

    with sessions() as s:
        officer = create_account(
            s, role=Role.OFFICER, display_name="O", login="registry.officer", now=now
        )
        passwords.set_password(s, account=officer, password="officer passphrase", now=now)
        s.commit()
    csrf = csrf_of(client, "/login")
    res = client.post(
        "/login/password",
        data={"csrf_token": csrf, "login": "registry.officer", "password": "officer passphrase"},
    )
    assert res.status_code == 302
    assert res.headers["Location"] == "/security"
    assert client.get("/security").status_code == 200
    assert client.get("/vault").status_code == 403


def test_the_first_page_after_registration_offers_recovery_codes(client: FlaskClient) -> None:
    """Issue 10: a new account has no recovery codes, and one lost phone would lock the citizen
    out; the vault offers them, from its own form, until some exist."""
    register(client)
    vault = client.get("/vault").get_data(as_text=True)
    assert 'id="recovery-offer"' in vault
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', vault)
    assert csrf
    page = client.post("/security/recovery-codes", data={"csrf_token": csrf.group(1)})
    assert (
        len(
            re.findall(r"<li>[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}</li>", page.get_data(as_text=True))
        )
        == 10
    )
    assert 'id="recovery-offer"' not in client.get("/vault").get_data(as_text=True)


def test_a_failed_sign_in_stays_on_the_form_with_the_cnic_kept(client: FlaskClient) -> None:
    """Issue 10: the refusal is beside the password form (opened), not on an error page."""
    res = client.post(
        "/login/password",
        data={"csrf_token": csrf_of(client), "login": "35202-1234567-1", "password": "x" * 12},
    )
    page = res.get_data(as_text=True)
    assert res.status_code == 401
    assert 'id="password-error"' in page
    assert "Sign-in failed" in page
    assert re.search(r"<details open>\s*<summary>Sign in with a password", page)
    assert re.search(r'id="pw-login"[^>]*value="35202-1234567-1"', page)


def test_a_lock_out_says_its_real_wait(app, clock) -> None:
    """A lock-out of 15 minutes says so (not 'a minute'), on the form and in Retry-After."""
    _flood(app, "35202-1234567-1")
    clock.advance(minutes=3)
    stranger = app.test_client()
    res = stranger.post(
        "/login/password",
        data={"csrf_token": csrf_of(stranger), "login": "35202-1234567-1", "password": "x" * 12},
        environ_base={"REMOTE_ADDR": "10.5.0.1"},
    )
    page = res.get_data(as_text=True)
    assert res.status_code == 429
    assert res.headers["Retry-After"] == str(12 * 60)
    assert "Please try again in 12 minutes." in page
    assert 'id="password-error"' in page

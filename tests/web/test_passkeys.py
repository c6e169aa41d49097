"""Passkey registration and sign-in through the HTTP interface."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from audit import verify_chain
from audit.models import AuditEvent
from identity.models import Account, Ceremony, Passkey
from tests.softauthn import SoftAuthenticator
from tests.web.conftest import csrf_of
from tests.web.helpers import post_json, register, sign_in


def _count(sessions: sessionmaker[Session], model: type) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_register_creates_account_with_passkey_and_signs_in(client: FlaskClient, sessions) -> None:
    """Registration creates the account and its passkey, and the browser is signed in."""
    register(client)
    assert client.get("/vault").status_code == 200
    with sessions() as s:
        account = s.scalar(select(Account))
        assert account is not None
        assert account.login == "35202-1234567-1"
        assert [p.name for p in account.passkeys] == ["Phone"]


def test_usernameless_sign_in_after_sign_out(client: FlaskClient) -> None:
    """A registered passkey signs in without typing anything."""
    auth = register(client)
    client.post("/logout", data={"csrf_token": csrf_of(client, "/vault")})
    assert client.get("/vault").status_code == 302
    done = sign_in(client, auth)
    assert done.status_code == 200
    assert client.get("/vault").status_code == 200


def test_malformed_cnic_is_refused_and_changes_nothing(client: FlaskClient, sessions) -> None:
    """A CNIC that is not 13 digits gets a clear error and no ceremony or account."""
    csrf = csrf_of(client, "/register")
    res = post_json(client, "/register/begin", {"name": "Ali", "cnic": "1234-5"}, csrf)
    assert res.status_code == 400
    assert "13 digits" in res.get_json()["message"]
    assert _count(sessions, Account) == 0
    assert _count(sessions, Ceremony) == 0


def _begin(client: FlaskClient, cnic: str):
    csrf = csrf_of(client, "/register")
    return post_json(client, "/register/begin", {"name": "X", "cnic": cnic}, csrf), csrf


def test_registration_does_not_say_whether_a_cnic_has_an_account(app, client) -> None:
    """Starting a registration answers the same for a registered CNIC as for a new one: a
    stranger typing CNICs learns nothing from one cheap request."""
    register(client)
    taken, _ = _begin(app.test_client(), "35202-1234567-1")
    free, _ = _begin(app.test_client(), "35202-7654321-3")
    assert taken.status_code == free.status_code == 200
    assert taken.get_json().keys() == free.get_json().keys()


def test_a_second_account_for_a_cnic_is_refused_and_its_owner_told(
    app, client, sessions
) -> None:
    """Only after a passkey was made, in words that do not say why; the owner sees the try."""
    register(client)
    other = app.test_client()
    begin, csrf = _begin(other, "3520212345671")
    data = begin.get_json()
    done = post_json(
        other,
        "/register/complete",
        {"token": data["token"], "credential": SoftAuthenticator().register(data["options"])},
        csrf,
    )
    assert done.status_code == 409
    assert done.get_json()["error"] == "registration_refused"
    assert "already exists" not in done.get_json()["message"]
    assert _count(sessions, Account) == 1
    assert _count(sessions, Passkey) == 1
    with sessions() as s:
        owner = s.scalar(select(Account))
        tags = s.scalars(select(AuditEvent.tag).where(AuditEvent.subject_id == owner.id)).all()
    assert "account:registration-refused" in tags
    assert "tried to register a new account with your CNIC" in client.get("/activity").get_data(
        as_text=True
    )


def test_wrong_origin_is_refused_and_changes_nothing(client: FlaskClient, sessions) -> None:
    """A response made for another origin creates no account."""
    csrf = csrf_of(client, "/register")
    begin = post_json(
        client, "/register/begin", {"name": "Ali", "cnic": "35202-1234567-1"}, csrf
    ).get_json()
    cred = SoftAuthenticator().register(
        begin["options"], origin="http://localhost.evil.example:8000"
    )
    res = post_json(
        client, "/register/complete", {"token": begin["token"], "credential": cred}, csrf
    )
    assert res.status_code == 400
    assert res.get_json()["error"] == "passkey_rejected"
    assert _count(sessions, Account) == 0
    assert _count(sessions, Passkey) == 0


def test_https_subdomain_origin_is_refused(client: FlaskClient, sessions) -> None:
    """fido2's default would accept a subdomain; the exact origin is pinned."""
    csrf = csrf_of(client, "/register")
    begin = post_json(
        client, "/register/begin", {"name": "Ali", "cnic": "35202-1234567-1"}, csrf
    ).get_json()
    cred = SoftAuthenticator().register(begin["options"], origin="https://evil.localhost")
    res = post_json(
        client, "/register/complete", {"token": begin["token"], "credential": cred}, csrf
    )
    assert res.status_code == 400
    assert _count(sessions, Account) == 0


def test_registration_without_user_verification_is_refused(client: FlaskClient, sessions) -> None:
    """User verification is required."""
    csrf = csrf_of(client, "/register")
    begin = post_json(
        client, "/register/begin", {"name": "Ali", "cnic": "35202-1234567-1"}, csrf
    ).get_json()
    cred = SoftAuthenticator().register(begin["options"], uv=False)
    res = post_json(
        client, "/register/complete", {"token": begin["token"], "credential": cred}, csrf
    )
    assert res.status_code == 400
    assert _count(sessions, Account) == 0


def test_tampered_registration_response_is_refused(client: FlaskClient, sessions) -> None:
    """A registration whose client data was altered (challenge mismatch) is refused."""
    csrf = csrf_of(client, "/register")
    begin = post_json(
        client, "/register/begin", {"name": "Ali", "cnic": "35202-1234567-1"}, csrf
    ).get_json()
    options = begin["options"]
    forged = {
        "publicKey": {
            **options["publicKey"],
            "challenge": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        }
    }
    cred = SoftAuthenticator().register(forged)
    res = post_json(
        client, "/register/complete", {"token": begin["token"], "credential": cred}, csrf
    )
    assert res.status_code == 400
    assert _count(sessions, Account) == 0


def test_garbage_credential_is_refused(client: FlaskClient, sessions) -> None:
    """A credential object that is not a WebAuthn response gets a clear error."""
    csrf = csrf_of(client, "/register")
    begin = post_json(
        client, "/register/begin", {"name": "Ali", "cnic": "35202-1234567-1"}, csrf
    ).get_json()
    res = post_json(
        client, "/register/complete", {"token": begin["token"], "credential": {"id": "x"}}, csrf
    )
    assert res.status_code == 400
    assert res.get_json()["error"] == "passkey_rejected"
    assert _count(sessions, Account) == 0


def test_replayed_registration_ceremony_is_refused(client: FlaskClient, app, sessions) -> None:
    """A ceremony token works once: replaying the same completion fails."""
    csrf = csrf_of(client, "/register")
    begin = post_json(
        client, "/register/begin", {"name": "Ali", "cnic": "35202-1234567-1"}, csrf
    ).get_json()
    body = {"token": begin["token"], "credential": SoftAuthenticator().register(begin["options"])}
    assert post_json(client, "/register/complete", body, csrf).status_code == 200
    other = app.test_client()
    res = post_json(other, "/register/complete", body, csrf_of(other, "/register"))
    assert res.status_code == 400
    assert _count(sessions, Account) == 1


def test_failed_completion_still_uses_up_the_ceremony(client: FlaskClient, sessions) -> None:
    """A failed attempt burns the ceremony, so a corrected replay of its challenge fails too."""
    csrf = csrf_of(client, "/register")
    begin = post_json(
        client, "/register/begin", {"name": "Ali", "cnic": "35202-1234567-1"}, csrf
    ).get_json()
    auth = SoftAuthenticator()
    bad = auth.register(begin["options"], uv=False)
    assert (
        post_json(
            client, "/register/complete", {"token": begin["token"], "credential": bad}, csrf
        ).status_code
        == 400
    )
    good = auth.register(begin["options"])
    res = post_json(
        client, "/register/complete", {"token": begin["token"], "credential": good}, csrf
    )
    assert res.status_code == 400
    assert _count(sessions, Account) == 0


def test_sign_in_with_wrong_origin_is_refused(client: FlaskClient) -> None:
    """An assertion for another origin does not sign in."""
    auth = register(client)
    client.post("/logout", data={"csrf_token": csrf_of(client, "/vault")})
    res = sign_in(client, auth, origin="http://localhost:9999")
    assert res.status_code == 400
    assert client.get("/vault").status_code == 302


def test_sign_counter_going_backwards_is_refused(client: FlaskClient) -> None:
    """A counter that does not increase (a cloned authenticator) is refused."""
    auth = register(client)
    client.post("/logout", data={"csrf_token": csrf_of(client, "/vault")})
    assert sign_in(client, auth).status_code == 200  # counter 1
    client.post("/logout", data={"csrf_token": csrf_of(client, "/vault")})
    res = sign_in(client, auth, counter=1)
    assert res.status_code == 400


def test_backup_eligibility_change_is_refused(client: FlaskClient) -> None:
    """A credential whose backup-eligible flag changes is not the one registered."""
    auth = register(client)
    client.post("/logout", data={"csrf_token": csrf_of(client, "/vault")})
    auth.backup_eligible = True
    assert sign_in(client, auth).status_code == 400


def test_wrong_user_handle_is_refused(client: FlaskClient) -> None:
    """An assertion naming another user handle is refused."""
    auth = register(client)
    client.post("/logout", data={"csrf_token": csrf_of(client, "/vault")})
    assert sign_in(client, auth, user_handle=b"\x01" * 32).status_code == 400


def test_unknown_passkey_sign_in_is_refused_and_logged(client: FlaskClient, sessions) -> None:
    """A passkey Amanat does not know gets a clear error and a failed-sign-in event."""
    auth = SoftAuthenticator(user_handle=b"\x02" * 32)
    res = sign_in(client, auth)
    assert res.status_code == 400
    with sessions() as s:
        tags = list(s.scalars(select(AuditEvent.tag)))
        assert "account:sign-in-failed" in tags
        assert verify_chain(s).intact


def test_replayed_sign_in_assertion_is_refused(client: FlaskClient, app) -> None:
    """The same assertion cannot sign in twice."""
    auth = register(client)
    client.post("/logout", data={"csrf_token": csrf_of(client, "/vault")})
    csrf = csrf_of(client, "/login")
    begin = post_json(client, "/login/begin", {}, csrf).get_json()
    body = {"token": begin["token"], "credential": auth.assert_(begin["options"])}
    assert post_json(client, "/login/complete", body, csrf).status_code == 200
    other = app.test_client()
    assert post_json(other, "/login/complete", body, csrf_of(other, "/login")).status_code == 400


def test_post_without_csrf_token_is_refused(client: FlaskClient) -> None:
    """State-changing requests need the anti-forgery token."""
    csrf_of(client, "/register")
    res = client.post("/register/begin", json={"name": "Ali", "cnic": "35202-1234567-1"})
    assert res.status_code == 400
    assert res.get_json()["error"] == "csrf_failed"

"""Assisted recovery through the pages (both databases): the desk, the citizen told on their
Security page and refusing, the link saying when it works, and a new passkey that signs in."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from amanat.db import transaction
from identity import passwords
from identity.accounts import create_account
from identity.models import Role
from tests.softauthn import SoftAuthenticator
from tests.web.conftest import Clock, csrf_of
from tests.web.helpers import post_json, register, sign_in

CNIC = "35202-1234567-1"


@pytest.fixture
def desk(app: Flask, clock: Clock) -> FlaskClient:
    """A recovery officer signed in at the desk."""
    with transaction(app.extensions["amanat"].sessions) as s:
        officer = create_account(s, role=Role.RECOVERY, display_name="Officer Bilal",
                                 login="bilal", now=clock())  # fmt: skip
        passwords.set_password(s, account=officer, password="desk passphrase", now=clock())
    client = app.test_client()
    csrf = csrf_of(client, "/login")
    res = client.post("/login/password", data={"csrf_token": csrf, "login": "bilal",
                                                "password": "desk passphrase"})  # fmt: skip
    assert res.headers["Location"] == "/recovery-desk"
    return client


def _start(desk: FlaskClient, **form: str):
    csrf = csrf_of(desk, "/recovery-desk")
    return desk.post("/recovery-desk", data={"csrf_token": csrf, "cnic": CNIC,
                                              "card_checked": "yes", **form})  # fmt: skip


@pytest.fixture
def link(client: FlaskClient, desk: FlaskClient) -> str:
    register(client)
    page = _start(desk).get_data(as_text=True)
    found = re.search(r'id="recovery-link">http://localhost:8000([^<]+)<', page)
    assert found, page
    return found.group(1)


def test_the_desk_refuses_without_the_card_check(client: FlaskClient, desk: FlaskClient) -> None:
    register(client)
    answer = _start(desk, card_checked="")
    assert answer.status_code == 409
    assert "Check the person&#39;s CNIC card in person first" in answer.get_data(as_text=True)


def test_the_desk_is_for_recovery_officers_only(client: FlaskClient) -> None:
    register(client)
    assert client.get("/recovery-desk").status_code == 403


def test_the_citizen_sees_it_on_the_security_page(client: FlaskClient, link: str) -> None:
    page = client.get("/security").get_data(as_text=True)
    assert "started at a service centre by Officer Bilal" in page


def test_before_the_wait_the_link_says_when(app: Flask, link: str) -> None:
    page = app.test_client().get(link).get_data(as_text=True)
    assert "This link works from 30 November 2026, 14:00" in page
    assert 'data-webauthn="recover"' not in page


def test_refused_the_link_never_works(app: Flask, client: FlaskClient, link: str,
                                      clock: Clock) -> None:  # fmt: skip
    page = client.get("/security").get_data(as_text=True)
    action = re.search(r'action="(/security/recoveries/[^"]+/refuse)"', page).group(1)  # type: ignore[union-attr]
    assert client.post(action, data={"csrf_token": csrf_of(client, "/security")}).status_code == 302
    clock.advance(hours=73)
    assert "refused this recovery" in app.test_client().get(link).get_data(as_text=True)


def test_after_the_wait_a_new_passkey_signs_in(app: Flask, link: str, clock: Clock) -> None:
    clock.advance(hours=73)
    person, auth = app.test_client(), SoftAuthenticator()
    assert 'data-webauthn="recover"' in person.get(link).get_data(as_text=True)
    csrf = csrf_of(person, link)
    start = post_json(person, link + "/begin", {}, csrf).get_json()
    done = post_json(person, link + "/complete", {"token": start["token"],
                     "credential": auth.register(start["options"]), "passkey_name": "New phone"},
                     csrf)  # fmt: skip
    assert done.status_code == 200
    assert done.get_json()["redirect"] == "/login"
    assert sign_in(person, auth).status_code == 200
    assert person.get("/vault").status_code == 200
    assert "recovery link was used" in app.test_client().get(link).get_data(as_text=True)


def test_the_link_secret_stays_out_of_the_access_log(
    app: Flask, link: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="amanat.web.access"):
        app.test_client().get(link)
    paths = [getattr(r, "path", "") for r in caplog.records if r.name == "amanat.web.access"]
    assert paths == ["/recover/…"]
    assert link.split("/")[2] not in caplog.text

"""Emergency access through the pages (both databases): named with the passkey, asked for,
refused in time, asked again and read after the wait; the owner sees each step."""

from __future__ import annotations

import html
import json
import os
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.softauthn import SoftAuthenticator
from tests.web.conftest import Clock, csrf_of
from tests.web.helpers import post_json, register, sign_in, upload

WILL = b"%PDF-1.7\n" + os.urandom(3000)
CONTACT = "35202-7654321-1"


@pytest.fixture
def contact_auth() -> SoftAuthenticator:
    return SoftAuthenticator()


@pytest.fixture
def contact(app: Flask, contact_auth: SoftAuthenticator) -> FlaskClient:
    other = app.test_client()
    register(other, name="Bilal Ahmed", cnic=CONTACT, authenticator=contact_auth)
    return other


def _later(clock: Clock, contact: FlaskClient, auth: SoftAuthenticator, days: int) -> None:
    """Days on (the contact's session ended meanwhile: they sign in again)."""
    clock.advance(days=days)
    assert sign_in(contact, auth).status_code == 200


def _name(client: FlaskClient, auth: SoftAuthenticator, doc: str, **form: str):
    csrf = csrf_of(client, "/emergency")
    page = client.post("/emergency/new", data={"csrf_token": csrf, "cnic": CONTACT, "days": "7",
                                               "document": doc, **form})  # fmt: skip
    text = page.get_data(as_text=True)
    if page.status_code != 200:
        return page
    token = re.search(r'data-token="([^"]+)"', text).group(1)  # type: ignore[union-attr]
    options = json.loads(html.unescape(re.search(r'data-options="([^"]+)"', text).group(1)))  # type: ignore[union-attr]
    return post_json(client, "/emergency/confirm",
                     {"token": token, "credential": auth.assert_(options)}, csrf)  # fmt: skip


@pytest.fixture
def owner_auth() -> SoftAuthenticator:
    return SoftAuthenticator()


@pytest.fixture
def named(client: FlaskClient, contact: FlaskClient, owner_auth: SoftAuthenticator) -> str:
    """The owner named Bilal for their will: the naming's id."""
    auth = register(client, authenticator=owner_auth)
    doc = upload(client, WILL, title="My will").get_json()["id"]
    assert _name(client, auth, doc).status_code == 200
    page = client.get("/emergency").get_data(as_text=True)
    return re.search(r"/emergency/([0-9a-f-]{36})/end", page).group(1)  # type: ignore[union-attr]


def _post(who: FlaskClient, path: str):
    return who.post(path, data={"csrf_token": csrf_of(who, "/emergency")})


def test_the_contact_sees_who_trusts_them(contact: FlaskClient, named: str) -> None:
    page = contact.get("/emergency").get_data(as_text=True)
    assert "Ayesha Khan" in page
    assert "Ask for emergency access" in page


def test_a_bad_waiting_time_is_said(client: FlaskClient, contact: FlaskClient) -> None:
    auth = register(client)
    doc = upload(client, WILL, title="My will").get_json()["id"]
    answer = _name(client, auth, doc, days="90")
    assert answer.status_code == 409
    assert "1 to 30" in answer.get_data(as_text=True)


def test_refused_in_time_then_asked_again_and_read(
    client: FlaskClient,
    contact: FlaskClient,
    contact_auth: SoftAuthenticator,
    named: str,
    clock: Clock,
) -> None:
    assert _post(contact, f"/emergency/{named}/ask").status_code == 302
    owner_page = client.get("/emergency").get_data(as_text=True)
    assert "Bilal Ahmed asked for access" in owner_page
    assert _post(client, f"/emergency/{named}/refuse").status_code == 302
    assert "They refused your last request" in contact.get("/emergency").get_data(as_text=True)
    _post(contact, f"/emergency/{named}/ask")
    _later(clock, contact, contact_auth, 8)
    page = contact.get("/emergency").get_data(as_text=True)
    link = re.search(rf'href="(/emergency/{named}/documents/[^"]+)"', page).group(1)  # type: ignore[union-attr]
    assert contact.get(link).data == WILL


def test_before_the_wait_the_document_is_refused(
    contact: FlaskClient, client: FlaskClient, named: str
) -> None:
    _post(contact, f"/emergency/{named}/ask")
    doc = re.search(r'value="([0-9a-f-]{36})"', client.get("/emergency").get_data(as_text=True))
    assert doc is not None
    assert contact.get(f"/emergency/{named}/documents/{doc.group(1)}").status_code == 409


def test_the_owner_reads_every_step_in_their_activity(
    app: Flask,
    contact: FlaskClient,
    contact_auth: SoftAuthenticator,
    named: str,
    clock: Clock,
    owner_auth: SoftAuthenticator,
) -> None:
    _post(contact, f"/emergency/{named}/ask")
    _later(clock, contact, contact_auth, 8)
    page = contact.get("/emergency").get_data(as_text=True)
    contact.get(re.search(r'href="(/emergency/[^"]+/documents/[^"]+)"', page).group(1))  # type: ignore[union-attr]
    owner = app.test_client()
    assert sign_in(owner, owner_auth).status_code == 200
    activity = html.unescape(owner.get("/activity").get_data(as_text=True))
    assert "Bilal Ahmed read “My will” under emergency access." in activity
    assert "Bilal Ahmed asked for emergency access to your documents." in activity

"""Requests for documents through HTTP: a bank asks (API or member page), the citizen approves with
a passkey or declines, the bank polls and gets a signed webhook; expiry, a second answer, other
citizens and bad input are refused with a clear answer that changes nothing."""

from __future__ import annotations

import html
import json
import os
import re
import ssl
import subprocess
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

import signing.webhooks
from amanat.db import transaction
from amanat.settings import Settings
from audit import EventTag
from audit.models import AuditEvent
from identity import passwords
from identity.organisations import add_member, create_api_key, create_organisation
from signing.models import DocumentRequest, WebhookAttempt
from signing.webhooks import rotate_webhook_secret, signature_valid
from tests.softauthn import SoftAuthenticator
from tests.web.conftest import Clock, csrf_of
from tests.web.helpers import post_json, register, sign_in, upload
from tests.web.receiver import Receiver, receiver
from web.webhooks import deliver_due_webhooks

CNIC = "35202-1234567-1"
PAY_SLIP = b"%PDF-1.7\n" + os.urandom(2000)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The test receiver listens on this machine: let callbacks reach 127.0.0.1 (only).
    return settings.with_overrides(webhook_allowed_networks="127.0.0.1/32")


def _rt(app: Flask):
    return app.extensions["amanat"]


@pytest.fixture
def bank(app: Flask, clock: Clock) -> dict[str, str]:
    with transaction(_rt(app).sessions) as s:
        create_organisation(s, code="BANK", name="Demo Bank", name_ur="ڈیمو بینک", now=clock())
        secret = rotate_webhook_secret(s, keystore=_rt(app).keystore, code="BANK", now=clock())
        made = {
            "key": create_api_key(
                s, code="BANK", label="loans", scopes=["requests", "shares:read"], now=clock()
            ).token,
            "verify_only": create_api_key(
                s, code="BANK", label="v", scopes=["verify"], now=clock()
            ).token,
            "secret": secret,
        }
        member = add_member(s, code="BANK", login="bank.clerk", display_name="Clerk", now=clock())
        passwords.set_password(s, account=member, password="clerk passphrase", now=clock())
    return made


@pytest.fixture
def citizen(client: FlaskClient, bank) -> tuple[SoftAuthenticator, str]:
    auth = register(client, cnic=CNIC)
    r = upload(client, PAY_SLIP, title="Pay slip November", kind="pay-slip")
    assert r.status_code in (200, 201), r.get_data(as_text=True)
    return auth, r.get_json()["id"]


@pytest.fixture
def hook() -> Iterator[Receiver]:
    with receiver() as r:
        yield r


def _ask(client: FlaskClient, key: str, **body):
    payload = {"kinds": ["pay-slip"], "purpose": "home loan", "days": 30, **body}
    return client.post("/api/v1/requests", json=payload, headers={"Authorization": f"Bearer {key}"})


def _poll(client: FlaskClient, key: str, request_id: str):
    return client.get(f"/api/v1/requests/{request_id}", headers={"Authorization": f"Bearer {key}"})


def _approve(client: FlaskClient, auth: SoftAuthenticator, request_id: str, documents: list[str]):
    """Choose documents on the request's page and confirm with the passkey."""
    csrf = csrf_of(client, f"/r/{request_id}")
    page = client.post(f"/r/{request_id}/approve", data={"csrf_token": csrf, "document": documents})
    assert page.status_code == 200, page.get_data(as_text=True)
    text = page.get_data(as_text=True)
    token = re.search(r'data-token="([^"]+)"', text).group(1)
    options = json.loads(html.unescape(re.search(r'data-options="([^"]+)"', text).group(1)))
    return post_json(
        client, "/shares/confirm", {"token": token, "credential": auth.assert_(options)}, csrf
    )


def _decline(client: FlaskClient, request_id: str):
    csrf = csrf_of(client, f"/r/{request_id}")
    return client.post(f"/r/{request_id}/decline", data={"csrf_token": csrf})


def _requests(app: Flask) -> int:
    with _rt(app).sessions() as s:
        return s.scalar(select(func.count()).select_from(DocumentRequest)) or 0


def _citizen_tags(app: Flask) -> list[str]:
    with _rt(app).sessions() as s:
        return list(
            s.scalars(
                select(AuditEvent.tag)
                .where(AuditEvent.object_type == "request", AuditEvent.subject_id.is_not(None))
                .order_by(AuditEvent.seq)
            )
        )


def test_a_request_answers_with_its_link_and_qr_code(client, bank) -> None:
    res = _ask(client, bank["key"], cnic=CNIC)
    assert res.status_code == 201, res.get_json()
    body = res.get_json()
    assert body["status"] == "pending"
    assert body["link"].endswith(f"/r/{body['request']}")
    qr = client.get(body["qr"])
    assert qr.status_code == 200
    assert qr.mimetype == "image/png"
    assert qr.data.startswith(b"\x89PNG")


def test_the_citizen_sees_a_request_naming_their_cnic(client, bank, citizen) -> None:
    request_id = _ask(client, bank["key"], cnic=CNIC).get_json()["request"]
    page = client.get("/requests").get_data(as_text=True)
    assert f"/r/{request_id}" in page
    assert "Demo Bank" in page
    assert "home loan" in page
    assert _citizen_tags(client.application) == [EventTag.REQUEST_RECEIVED]
    activity = client.get("/activity").get_data(as_text=True)
    assert "Demo Bank asked for your Pay slip for \u201chome loan\u201d." in activity


def test_matching_documents_are_preselected(client, bank, citizen) -> None:
    _, slip = citizen
    other = upload(client, b"%PDF-1.7\n" + os.urandom(900), title="Land", kind="land-record")
    request_id = _ask(client, bank["key"]).get_json()["request"]
    page = client.get(f"/r/{request_id}").get_data(as_text=True)
    assert re.search(rf'value="{slip}" checked', page)
    assert re.search(rf'value="{other.get_json()["id"]}" >', page)


def test_approval_with_the_passkey_shares_and_is_told_by_a_signed_webhook(
    client, bank, citizen, hook, clock
) -> None:
    auth, slip = citizen
    request_id = _ask(client, bank["key"], cnic=CNIC, callback_url=hook.url).get_json()["request"]
    done = _approve(client, auth, request_id, [slip])
    assert done.status_code == 200, done.get_data(as_text=True)
    polled = _poll(client, bank["key"], request_id).get_json()
    assert polled["status"] == "approved"
    assert polled["grant"]
    fetched = client.get(
        f"/api/v1/shared/{polled['grant']}/documents/{slip}",
        headers={"Authorization": f"Bearer {bank['key']}"},
    )
    assert fetched.status_code == 200
    assert fetched.data == PAY_SLIP
    assert deliver_due_webhooks(_rt(client.application)) == 1
    ((headers, body),) = hook.received
    assert signature_valid(
        bank["secret"], header=headers["Amanat-Signature"], body=body, now=clock()
    )
    event = json.loads(body)
    assert event["event"] == "request.approved"
    assert event["grant"] == polled["grant"]
    assert headers["Amanat-Event"] == "request.approved"
    assert _citizen_tags(client.application) == [
        EventTag.REQUEST_RECEIVED,
        EventTag.REQUEST_APPROVED,
    ]


def test_every_delivery_attempt_is_recorded_and_retried_with_back_off(
    client, bank, citizen, hook, clock
) -> None:
    hook.answers = [500]
    request_id = _ask(client, bank["key"], cnic=CNIC, callback_url=hook.url).get_json()["request"]
    _decline(client, request_id)
    rt = _rt(client.application)
    assert deliver_due_webhooks(rt) == 0
    assert deliver_due_webhooks(rt) == 0  # not due again yet: nothing sent
    clock.advance(seconds=11)
    assert deliver_due_webhooks(rt) == 1
    assert len(hook.received) == 2
    deliveries = _poll(client, bank["key"], request_id).get_json()["deliveries"]
    assert [d["status"] for d in deliveries] == ["delivered"]
    assert [a["status_code"] for a in deliveries[0]["attempts"]] == [500, 200]


def test_decline_shares_nothing_and_is_told(client, bank, citizen, hook) -> None:
    request_id = _ask(client, bank["key"], cnic=CNIC, callback_url=hook.url).get_json()["request"]
    assert _decline(client, request_id).status_code == 302
    polled = _poll(client, bank["key"], request_id).get_json()
    assert polled["status"] == "declined"
    assert polled["grant"] is None
    deliver_due_webhooks(_rt(client.application))
    assert json.loads(hook.received[0][1])["event"] == "request.declined"
    activity = html.unescape(client.get("/activity").get_data(as_text=True))
    assert "You declined Demo Bank's request for \u201chome loan\u201d." in activity


def test_a_second_answer_is_refused(client, bank, citizen) -> None:
    _, slip = citizen
    request_id = _ask(client, bank["key"], cnic=CNIC).get_json()["request"]
    _decline(client, request_id)
    csrf = csrf_of(client, f"/r/{request_id}")
    again = client.post(f"/r/{request_id}/approve", data={"csrf_token": csrf, "document": [slip]})
    assert again.status_code == 409
    assert "already been answered" in again.get_data(as_text=True)
    assert _decline(client, request_id).status_code == 409
    assert _poll(client, bank["key"], request_id).get_json()["status"] == "declined"


def test_a_confirmation_that_arrives_after_another_answer_shares_nothing(
    client, bank, citizen
) -> None:
    auth, slip = citizen
    request_id = _ask(client, bank["key"], cnic=CNIC).get_json()["request"]
    csrf = csrf_of(client, f"/r/{request_id}")
    page = client.post(f"/r/{request_id}/approve", data={"csrf_token": csrf, "document": [slip]})
    text = page.get_data(as_text=True)
    token = re.search(r'data-token="([^"]+)"', text).group(1)
    options = json.loads(html.unescape(re.search(r'data-options="([^"]+)"', text).group(1)))
    _decline(client, request_id)  # in another tab, before the passkey answered
    late = post_json(
        client, "/shares/confirm", {"token": token, "credential": auth.assert_(options)}, csrf
    )
    assert late.status_code == 409
    assert client.get("/shares").get_data(as_text=True).count("/shares/") <= 1  # no grant row


def test_an_expired_request_cannot_be_answered(client, bank, citizen, clock, hook) -> None:
    auth, slip = citizen
    body = _ask(client, bank["key"], cnic=CNIC, open_days=1, callback_url=hook.url).get_json()
    clock.advance(days=1, seconds=1)
    assert sign_in(client, auth).status_code == 200  # the session ran out meanwhile
    csrf = csrf_of(client, f"/r/{body['request']}")
    late = client.post(
        f"/r/{body['request']}/approve", data={"csrf_token": csrf, "document": [slip]}
    )
    assert late.status_code == 409
    assert "expired" in late.get_data(as_text=True)
    assert _poll(client, bank["key"], body["request"]).get_json()["status"] == "expired"
    assert _citizen_tags(client.application).count(EventTag.REQUEST_EXPIRED) == 1
    deliver_due_webhooks(_rt(client.application))
    assert [json.loads(b)["event"] for _, b in hook.received] == ["request.expired"]


def test_a_request_without_cnic_belongs_to_the_first_citizen_who_opens_it(
    app, client, bank, citizen
) -> None:
    request_id = _ask(client, bank["key"]).get_json()["request"]
    assert client.get(f"/r/{request_id}").status_code == 200
    other = app.test_client()
    register(other, cnic="42101-7654321-3", name="Bilal Ahmed")
    assert other.get(f"/r/{request_id}").status_code == 404
    assert _decline(client, request_id).status_code == 302


def test_a_request_for_another_cnic_is_not_found(app, client, bank, citizen) -> None:
    request_id = _ask(client, bank["key"], cnic="42101-7654321-3").get_json()["request"]
    assert client.get(f"/r/{request_id}").status_code == 404
    assert f"/r/{request_id}" not in client.get("/requests").get_data(as_text=True)


def test_someone_signed_out_sees_who_asks_and_a_sign_in_link(app, bank) -> None:
    anonymous = app.test_client()
    request_id = _ask(anonymous, bank["key"]).get_json()["request"]
    page = anonymous.get(f"/r/{request_id}").get_data(as_text=True)
    assert "Demo Bank asks for your documents" in page
    assert "home loan" in page
    assert f"/login?next=/r/{request_id}" in page
    assert anonymous.get(f"/r/{uuid.uuid4()}").status_code == 404


def test_an_urdu_reader_sees_the_organisation_in_urdu(client, bank, citizen) -> None:
    request_id = _ask(client, bank["key"], cnic=CNIC).get_json()["request"]
    client.get("/lang/ur")
    page = client.get(f"/r/{request_id}").get_data(as_text=True)
    assert "ڈیمو بینک" in page
    assert 'dir="rtl"' in page


def test_a_key_without_the_requests_scope_is_refused(client, bank) -> None:
    assert _ask(client, bank["verify_only"]).status_code == 401
    assert _requests(client.application) == 0


def test_the_bank_sees_only_its_own_requests(client, bank, clock) -> None:
    with transaction(_rt(client.application).sessions) as s:
        create_organisation(s, code="JOBS", name="Employer", now=clock())
        jobs = create_api_key(s, code="JOBS", label="j", scopes=["requests"], now=clock()).token
    request_id = _ask(client, bank["key"]).get_json()["request"]
    assert _poll(client, jobs, request_id).status_code == 404


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"types": ["spaceship"]}, "type_unknown"),
        ({"kinds": ["spaceship"]}, "request_kind_unknown"),
        ({"kinds": []}, "request_nothing_asked"),
        ({"cnic": "123"}, "cnic_format"),
        ({"purpose": "x"}, "request_purpose_length"),
        ({"days": 0}, "request_days_range"),
        ({"days": "many"}, "request_number"),
        ({"max_fetches": 5000}, "request_fetches_range"),
        ({"open_days": 90}, "request_open_days_range"),
        ({"kinds": "pay-slip"}, "request_lists"),
        ({"purpose": 7}, "api_field_not_string"),
        ({"callback_url": "ftp://example.pk/x"}, "callback_url_format"),
        ({"callback_url": "http://10.0.0.5/hook"}, "callback_url_private"),
        ({"callback_url": "http://169.254.169.254/latest"}, "callback_url_private"),
        ({"callback_url": "http://[::1]:8080/hook"}, "callback_url_private"),
        ({"callback_url": "http://user:pw@127.0.0.1/hook"}, "callback_url_format"),
        ({"callback_url": "http://no-such-host.invalid/hook"}, "callback_url_unresolved"),
    ],
)
def test_bad_requests_are_a_clear_400_and_store_nothing(client, bank, body, code: str) -> None:
    res = _ask(client, bank["key"], **body)
    assert res.status_code == 400, res.get_json()
    assert res.get_json()["error"] == code, res.get_json()
    assert res.get_json()["message"]
    assert _requests(client.application) == 0


def test_an_oversize_body_is_refused(client, bank) -> None:
    res = _ask(client, bank["key"], purpose="x" * 300_000)
    assert res.status_code in (400, 413)
    assert _requests(client.application) == 0


def test_a_callback_without_a_webhook_secret_is_refused(client, bank, clock, hook) -> None:
    with transaction(_rt(client.application).sessions) as s:
        create_organisation(s, code="JOBS", name="Employer", now=clock())
        jobs = create_api_key(s, code="JOBS", label="j", scopes=["requests"], now=clock()).token
    res = _ask(client, jobs, callback_url=hook.url)
    assert res.status_code == 400
    assert res.get_json()["error"] == "callback_needs_secret"


def _sign_in_member(app: Flask) -> FlaskClient:
    member = app.test_client()
    csrf = csrf_of(member, "/login")
    res = member.post(
        "/login/password",
        data={"csrf_token": csrf, "login": "bank.clerk", "password": "clerk passphrase"},
    )
    assert res.status_code == 302
    return member


def test_a_member_asks_on_the_page_and_sees_the_qr_code(app, bank) -> None:
    member = _sign_in_member(app)
    csrf = csrf_of(member, "/org/requests/new")
    made = member.post(
        "/org/requests/new",
        data={"csrf_token": csrf, "type": ["domicile"], "purpose": "account opening",
              "days": "14", "open_days": "3"},
    )  # fmt: skip
    assert made.status_code == 303, made.get_data(as_text=True)
    page = member.get(made.headers["Location"]).get_data(as_text=True)
    assert "Domicile Certificate" in page
    assert "/qr.png" in page
    assert "account opening" in page
    assert "account opening" in member.get("/org/requests").get_data(as_text=True)


def test_a_member_form_with_nothing_chosen_says_so(app, bank) -> None:
    member = _sign_in_member(app)
    csrf = csrf_of(member, "/org/requests/new")
    res = member.post("/org/requests/new", data={"csrf_token": csrf, "purpose": "loan"})
    assert res.status_code == 400
    assert "Choose at least one document to ask for." in res.get_data(as_text=True)
    assert _requests(app) == 0


def test_the_member_page_lists_each_webhook_try(app, client, bank, citizen, hook) -> None:
    hook.answers = [503]
    request_id = _ask(client, bank["key"], cnic=CNIC, callback_url=hook.url).get_json()["request"]
    _decline(client, request_id)
    deliver_due_webhooks(_rt(app))
    page = _sign_in_member(app).get(f"/org/requests/{request_id}").get_data(as_text=True)
    assert "request.declined" in page
    assert "503" in page


def test_a_callback_that_became_private_is_not_called(app, client, bank, citizen, hook) -> None:
    request_id = _ask(client, bank["key"], cnic=CNIC, callback_url=hook.url).get_json()["request"]
    _decline(client, request_id)
    # The operator narrows what callbacks may reach: the next attempt is refused, not sent.
    _rt(app).settings = _rt(app).settings.with_overrides(webhook_allowed_networks="")
    assert deliver_due_webhooks(_rt(app)) == 0
    assert hook.received == []
    with _rt(app).sessions() as s:
        assert s.scalars(select(WebhookAttempt.error)).all() == ["callback_url_private"]
    page = _sign_in_member(app).get(f"/org/requests/{request_id}").get_data(as_text=True)
    assert "points at a private or local address" in html.unescape(page)


def test_in_production_a_callback_must_be_https(app, client, bank, hook) -> None:
    _rt(app).settings = _rt(app).settings.with_overrides(public_base_url="https://amanat.example")
    res = _ask(client, bank["key"], callback_url=hook.url)
    assert res.status_code == 400
    assert res.get_json()["error"] == "callback_url_not_https"
    assert _requests(app) == 0


def _sms(member: FlaskClient, request_id: str, phone: str):
    csrf = csrf_of(member, f"/org/requests/{request_id}")
    return member.post(f"/org/requests/{request_id}/sms", data={"csrf_token": csrf, "phone": phone})


def test_a_member_sends_the_link_by_sms(app, client, bank, hook) -> None:
    _rt(app).settings = _rt(app).settings.with_overrides(sms_url=hook.url)
    request_id = _ask(client, bank["key"]).get_json()["request"]
    sent = _sms(_sign_in_member(app), request_id, "+92 300 1234567")
    assert sent.status_code == 303
    ((_, body),) = hook.received
    message = json.loads(body)
    assert message["to"] == "+923001234567"
    assert f"/r/{request_id}" in message["text"]
    assert "Demo Bank asks for your documents" in message["text"]


@pytest.mark.parametrize(
    ("gateway", "phone", "status"),
    [(True, "0300-1234567", 400), (False, "+923001234567", 503)],
    ids=["not-international", "no-gateway"],
)
def test_an_sms_that_cannot_go_says_why(app, client, bank, hook, gateway, phone, status) -> None:
    if gateway:
        _rt(app).settings = _rt(app).settings.with_overrides(sms_url=hook.url)
    request_id = _ask(client, bank["key"]).get_json()["request"]
    res = _sms(_sign_in_member(app), request_id, phone)
    assert res.status_code == status
    assert hook.received == []
    assert "SMS" in res.get_data(as_text=True) or "country code" in res.get_data(as_text=True)


def test_no_sms_for_an_answered_request(app, client, bank, citizen, hook) -> None:
    _rt(app).settings = _rt(app).settings.with_overrides(sms_url=hook.url)
    request_id = _ask(client, bank["key"], cnic=CNIC).get_json()["request"]
    _decline(client, request_id)
    assert _sms(_sign_in_member(app), request_id, "+923001234567").status_code == 409
    assert hook.received == []


def test_the_call_goes_to_the_address_that_was_checked(
    app, client, bank, citizen, hook, monkeypatch
) -> None:
    # The name resolves (for Amanat's check) to the receiver; the system cannot resolve it at
    # all, so only a connection to the checked address, with the name as Host, can arrive.

    port = int(hook.url.split(":")[2].split("/")[0])
    monkeypatch.setattr(signing.webhooks, "resolve", lambda host, p: ["127.0.0.1"])
    url = f"http://hooks.bank.invalid:{port}/amanat-hook"
    request_id = _ask(client, bank["key"], cnic=CNIC, callback_url=url).get_json()["request"]
    _decline(client, request_id)
    assert deliver_due_webhooks(_rt(app)) == 1
    ((headers, _),) = hook.received
    assert headers["Host"] == f"hooks.bank.invalid:{port}"


def test_an_https_callback_with_an_untrusted_certificate_is_not_delivered(
    app, client, bank, citizen, tmp_path, monkeypatch
) -> None:


    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=hooks.bank.invalid"],
        check=True, capture_output=True,
    )  # fmt: skip
    got: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            got.append(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            self.send_response(200)
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setattr(signing.webhooks, "resolve", lambda host, p: ["127.0.0.1"])
        url = f"https://hooks.bank.invalid:{server.server_address[1]}/hook"
        request_id = _ask(client, bank["key"], cnic=CNIC, callback_url=url).get_json()["request"]
        _decline(client, request_id)
        assert deliver_due_webhooks(_rt(app)) == 0
        assert got == []
        with _rt(app).sessions() as s:
            (error,) = s.scalars(select(WebhookAttempt.error)).all()
        assert error
        assert "SSL" in error
        page = _sign_in_member(app).get(f"/org/requests/{request_id}").get_data(as_text=True)
        assert f"no answer ({error})" in page
    finally:
        server.shutdown()
        server.server_close()

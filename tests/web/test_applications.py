"""Applications through HTTP: a citizen applies (with a document under a passkey-signed consent for
the department), the officer takes it up, asks for more, the citizen answers, the officer issues
from the edited data into the vault; one rejected; the department API works the same queue."""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from amanat.db import transaction
from audit import EventTag
from audit.models import AuditEvent
from identity import passwords
from identity.accounts import create_account
from identity.models import Role
from signing.apikeys import create_department_api_key
from signing.applications import set_offers
from signing.issuance import IssueRequest, issue_certificate
from signing.models import Application, IssuedCertificate
from signing.pki import create_department, ensure_pki, load_pki
from tests.signing.conftest import FIELDS
from tests.softauthn import SoftAuthenticator
from tests.web.conftest import Clock, csrf_of
from tests.web.helpers import post_json, register, upload

CNIC = "35202-1234567-1"
MARKSHEET = b"%PDF-1.7\n" + os.urandom(2500)
DEGREE = {"f_name": "Ayesha Khan", "f_degree": "BSc Physics", "f_year": "2024"}


def _rt(app: Flask):
    return app.extensions["amanat"]


@pytest.fixture
def setup(app: Flask, file_keystore, clock: Clock) -> dict[str, str]:
    now = clock.value = dt.datetime.now(dt.UTC)  # signing times come from the wall clock
    with transaction(_rt(app).sessions) as s:
        ensure_pki(s, keystore=file_keystore, now=now)
        material = load_pki(s, keystore=file_keystore, base_url="http://localhost:8000")
        for code in ("UNI", "CRD"):
            create_department(
                s, keystore=file_keystore, material=material, code=code, name=f"Dept {code}",
                now=now,
            )  # fmt: skip
            account = create_account(
                s, role=Role.OFFICER, display_name=code, login=f"{code.lower()}.officer",
                affiliation=code, now=now,
            )  # fmt: skip
            passwords.set_password(s, account=account, password="officer passphrase", now=now)
        set_offers(s, code="UNI", types=["degree"])
        return {
            "key": create_department_api_key(
                s, code="UNI", label="registrar", scopes=["applications"], now=now
            ).token,
            "issue_only": create_department_api_key(
                s, code="UNI", label="intake", scopes=["issue"], now=now
            ).token,
        }


@pytest.fixture
def citizen(client: FlaskClient, setup) -> tuple[SoftAuthenticator, str]:
    auth = register(client, cnic=CNIC)
    r = upload(client, MARKSHEET, title="Final marksheet", kind="degree")
    return auth, r.get_json()["id"]


def _officer(app: Flask, code: str = "UNI") -> FlaskClient:
    officer = app.test_client()
    csrf = csrf_of(officer, "/login")
    res = officer.post(
        "/login/password",
        data={"csrf_token": csrf, "login": f"{code.lower()}.officer",
              "password": "officer passphrase"},
    )  # fmt: skip
    assert res.status_code == 302
    return officer


def _confirm(client: FlaskClient, auth: SoftAuthenticator, page) -> None:
    text = page.get_data(as_text=True)
    assert page.status_code == 200, text
    token = re.search(r'data-token="([^"]+)"', text).group(1)
    options = json.loads(html.unescape(re.search(r'data-options="([^"]+)"', text).group(1)))
    csrf = csrf_of(client, "/applications")
    done = post_json(
        client, "/shares/confirm", {"token": token, "credential": auth.assert_(options)}, csrf
    )
    assert done.status_code == 200, done.get_data(as_text=True)


def _apply(client: FlaskClient, *, documents: list[str] = (), **fields):
    csrf = csrf_of(client, "/apply/UNI/degree")
    data = {"csrf_token": csrf, **DEGREE, **fields, "document": list(documents)}
    return client.post("/apply/UNI/degree", data=data)


def _application_id(app: Flask) -> str:
    with _rt(app).sessions() as s:
        return str(s.scalars(select(Application.id).where(Application.status != "draft")).one())


def _post(officer: FlaskClient, path: str, **data: str):
    csrf = csrf_of(officer, "/department/applications")
    return officer.post(path, data={"csrf_token": csrf, **data})


def _citizen_tags(app: Flask) -> list[str]:
    with _rt(app).sessions() as s:
        query = select(AuditEvent.tag).where(AuditEvent.object_type == "application")
        return list(s.scalars(query.order_by(AuditEvent.seq)))


def test_the_citizen_sees_what_departments_offer(client, citizen) -> None:
    page = client.get("/apply").get_data(as_text=True)
    assert "Degree Certificate" in page
    assert "Dept UNI" in page
    assert "/apply/UNI/degree" in page
    assert "/apply/CRD/" not in page


def test_an_application_without_documents_is_sent_at_once(client, citizen) -> None:
    sent = _apply(client)
    assert sent.status_code == 303
    timeline = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert "You sent the application." in timeline
    assert _citizen_tags(client.application) == [EventTag.APPLICATION_SUBMITTED]


def test_from_submission_through_more_information_to_issuance(app, client, citizen) -> None:
    auth, marksheet = citizen
    _confirm(client, auth, _apply(client, documents=[marksheet]))
    app_id = _application_id(app)
    officer = _officer(app)
    queue = officer.get("/department/applications").get_data(as_text=True)
    assert f"/department/applications/{app_id}" in queue
    assert "1 open" in queue
    detail = officer.get(f"/department/applications/{app_id}").get_data(as_text=True)
    (doc_href,) = re.findall(r'href="(/department/applications/[^"]+/documents/[^"]+)"', detail)
    assert officer.get(doc_href).data == MARKSHEET

    base = f"/department/applications/{app_id}"
    assert _post(officer, base + "/take").status_code == 303
    assert "data-mine" in officer.get("/department/applications").get_data(as_text=True)
    assert (
        _post(officer, base + "/ask", note="Please attach your final transcript.").status_code
        == 303
    )
    page = client.get(f"/applications/{app_id}").get_data(as_text=True)
    assert "Please attach your final transcript." in page
    assert 'id="answer"' in page
    csrf = csrf_of(client, f"/applications/{app_id}")
    answered = client.post(
        f"/applications/{app_id}/answer", data={"csrf_token": csrf, "note": "Attached below."}
    )
    assert answered.status_code == 303
    issued = _post(officer, base + "/approve", **{**DEGREE, "f_degree": "BSc (Hons) Physics"})
    assert issued.status_code == 303
    with _rt(app).sessions() as s:
        row = s.scalars(select(IssuedCertificate)).one()
        assert row.fields["degree"] == "BSc (Hons) Physics"
    assert officer.get(doc_href).status_code == 403  # the consent ended with the decision
    assert row.serial in client.get(f"/applications/{app_id}").get_data(as_text=True)
    activity = html.unescape(re.sub(r"<[^>]+>", "", client.get("/activity").get_data(as_text=True)))
    assert f"Dept UNI approved your application: your Degree Certificate (serial {row.serial})" in (
        activity
    )
    assert _citizen_tags(app) == [
        EventTag.APPLICATION_SUBMITTED, EventTag.APPLICATION_IN_REVIEW,
        EventTag.APPLICATION_INFO_REQUESTED, EventTag.APPLICATION_ANSWERED,
        EventTag.APPLICATION_ISSUED,
    ]  # fmt: skip


def test_a_rejected_application_says_why_and_ends_its_consent(app, client, citizen) -> None:
    auth, marksheet = citizen
    _confirm(client, auth, _apply(client, documents=[marksheet]))
    app_id = _application_id(app)
    officer = _officer(app)
    res = _post(officer, f"/department/applications/{app_id}/reject", reason="Not our graduate.")
    assert res.status_code == 303
    page = client.get(f"/applications/{app_id}").get_data(as_text=True)
    assert "Rejected" in page
    assert "Not our graduate." in page
    again = _post(officer, f"/department/applications/{app_id}/approve", **DEGREE)
    assert again.status_code == 409
    with _rt(app).sessions() as s:
        assert s.scalar(select(func.count()).select_from(IssuedCertificate)) == 0
    activity = html.unescape(client.get("/activity").get_data(as_text=True))
    assert "the application it was given for was decided" in activity


def test_an_answer_when_nothing_was_asked_is_refused(app, client, citizen) -> None:
    _apply(client)
    app_id = _application_id(app)
    csrf = csrf_of(client, f"/applications/{app_id}")
    res = client.post(f"/applications/{app_id}/answer", data={"csrf_token": csrf, "note": "hi"})
    assert res.status_code == 409


@pytest.mark.parametrize(
    ("path", "status"),
    [("/apply/CRD/degree", 404), ("/apply/UNI/birth", 404), ("/apply/UNI/spaceship", 404)],
)
def test_what_is_not_offered_cannot_be_applied_for(client, citizen, path, status) -> None:
    assert client.get(path).status_code == status
    csrf = csrf_of(client, "/apply")
    assert client.post(path, data={"csrf_token": csrf, **DEGREE}).status_code in (400, 404)
    assert _citizen_tags(client.application) == []


def test_missing_fields_are_a_clear_error_and_nothing_is_sent(client, citizen) -> None:
    res = _apply(client, f_degree="")
    assert res.status_code == 400
    assert "Missing required field(s): Degree." in res.get_data(
        as_text=True
    )
    assert _citizen_tags(client.application) == []


def test_another_departments_officer_does_not_find_it(app, client, citizen) -> None:
    _apply(client)
    app_id = _application_id(app)
    other = _officer(app, "CRD")
    assert other.get(f"/department/applications/{app_id}").status_code == 404
    assert _post(other, f"/department/applications/{app_id}/reject", reason="x").status_code == 404


def test_the_queue_filters_by_state_and_age(app, client, citizen, clock) -> None:
    _apply(client)
    app_id = _application_id(app)
    officer = _officer(app)
    assert app_id in officer.get("/department/applications?status=submitted").get_data(as_text=True)
    assert app_id not in officer.get("/department/applications?status=issued").get_data(
        as_text=True
    )
    assert app_id not in officer.get("/department/applications?older_than=2").get_data(as_text=True)
    assert officer.get("/department/applications?status=nope").status_code == 400
    assert officer.get("/department/applications?older_than=x").status_code == 400
    assert "1 open" in officer.get("/department").get_data(as_text=True)


def _api(client: FlaskClient, method: str, path: str, key: str, body: object | None = None):
    return client.open(path, method=method, json=body, headers={"Authorization": f"Bearer {key}"})


def test_the_department_api_works_the_queue(app, client, citizen, setup) -> None:
    _apply(client)
    listed = _api(client, "GET", "/api/v1/applications", setup["key"]).get_json()
    (item,) = listed["applications"]
    base = f"/api/v1/applications/{item['application']}"
    assert _api(client, "POST", base + "/review", setup["key"], {}).get_json()["status"] == (
        "in_review"
    )
    asked = _api(client, "POST", base + "/ask", setup["key"], {"note": "Which campus?"})
    assert asked.get_json()["status"] == "info_requested"
    approved = _api(client, "POST", base + "/approve", setup["key"], {"level": "B-LT"})
    body = approved.get_json()
    assert approved.status_code == 200
    assert body["status"] == "issued"
    assert body["serial"]
    assert [s["kind"] for s in body["steps"]] == ["submitted", "in_review", "info_requested",
                                                  "issued"]  # fmt: skip


def test_the_department_api_needs_the_applications_scope(client, citizen, setup) -> None:
    res = _api(client, "GET", "/api/v1/applications", setup["issue_only"])
    assert res.status_code == 403
    assert res.get_json()["error"] == "api_key_scope"


@pytest.mark.parametrize(
    ("step", "body", "status"),
    [("fly", {}, 404), ("ask", {"note": ""}, 400), ("reject", {"reason": 5}, 400),
     ("approve", {"fields": {"degree": ""}}, 400)],
)  # fmt: skip
def test_bad_steps_by_api_are_refused_and_change_nothing(
    client, citizen, setup, step, body, status
) -> None:
    _apply(client)
    (item,) = _api(client, "GET", "/api/v1/applications", setup["key"]).get_json()["applications"]
    res = _api(client, "POST", f"/api/v1/applications/{item['application']}/{step}",
               setup["key"], body)  # fmt: skip
    assert res.status_code == status
    assert res.get_json()["message"]
    again = _api(client, "GET", f"/api/v1/applications/{item['application']}", setup["key"])
    assert again.get_json()["status"] == "submitted"


def _birth_certificate(app: Flask, sessions, clock) -> str:

    with sessions() as s:
        set_offers(s, code="UNI", types=["degree", "domicile"])
        s.commit()
    ctx = _rt(app).issuance()
    with sessions() as s:
        request = IssueRequest.build(
            department="CRD", citizen=CNIC, type_code="birth", fields=FIELDS["birth"], level="B-B"
        )
        serial = issue_certificate(s, ctx=ctx, request=request, now=clock.value)
        s.commit()
        return serial.serial


def test_what_a_certificate_proves_is_not_asked_again(app, client, citizen, sessions, clock):
    serial = _birth_certificate(app, sessions, clock)
    page = client.get("/apply/UNI/domicile").get_data(as_text=True)
    assert re.search(r'id="f_father_name"[^>]*value="Imran Khan"[^>]*readonly', page)
    assert f"From your Birth Certificate (serial {serial})" in page
    assert 'value="عائشہ خان"' in page  # the Urdu name too
    csrf = csrf_of(client, "/apply")
    sent = client.post(
        "/apply/UNI/domicile",
        data={"csrf_token": csrf, "f_name": "Someone Else", "f_father_name": "Not Imran",
              "f_district": "Lahore", "f_address": "House 12, Model Town"},
    )  # fmt: skip
    assert sent.status_code == 303
    with _rt(app).sessions() as s:
        fields = s.scalars(select(Application.fields)).one()
    assert fields["father_name"] == "Imran Khan"
    assert fields["name"] == "Ayesha Khan"


def test_without_certificates_the_name_comes_from_the_registration(client, citizen) -> None:
    page = client.get("/apply/UNI/degree").get_data(as_text=True)
    assert re.search(r'id="f_name"[^>]*value="Ayesha Khan"', page)
    assert "From your registration." in page
    assert not re.search(r'id="f_name"[^>]*readonly', page)


@pytest.mark.parametrize("age", ["²", "-1", "9" * 30], ids=["superscript", "negative", "huge"])
def test_an_age_that_is_no_number_is_a_clear_400(app, client, citizen, setup, age: str) -> None:
    officer = _officer(app)
    assert (
        officer.get("/department/applications", query_string={"older_than": age}).status_code == 400
    )
    api = _api(client, "GET", f"/api/v1/applications?older_than={age}", setup["key"])
    assert api.status_code == 400
    assert api.get_json()["error"] == "application_age"

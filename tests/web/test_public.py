"""The public record: who is registered (searchable in either language), what each may do, and
counts by month, as a page, CSV and JSON; never a citizen."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from flask import Flask
from flask.testing import FlaskClient

from identity.accounts import create_account
from identity.models import Account, Role
from identity.organisations import SCOPES, create_api_key, create_organisation
from signing.issuance import IssueRequest, issue_certificate, revoke_certificate
from signing.models import Application
from signing.pki import create_department, ensure_pki, load_pki
from signing.requests import CallbackPolicy, check_asked, create_request
from web.messages import scope_text

CNIC = "35202-1234567-1"


@pytest.fixture
def registered(app: Flask, sessions, file_keystore, clock) -> FlaskClient:
    """A university and a bank with a verify key, nothing issued."""
    now = clock.value = dt.datetime.now(dt.UTC)
    with sessions() as s:
        ensure_pki(s, keystore=file_keystore, now=now)
        material = load_pki(s, keystore=file_keystore, base_url="http://localhost:8000")
        create_department(
            s, keystore=file_keystore, material=material, code="UNI",
            name="University of the Punjab", name_ur="جامعہ پنجاب", now=now,
        )  # fmt: skip
        create_account(s, role=Role.CITIZEN, display_name="Ayesha Khan", login=CNIC, now=now)
        create_organisation(s, code="DEMOBANK", name="Demo Bank", name_ur="ڈیمو بینک", now=now)
        create_api_key(s, code="DEMOBANK", label="checks", scopes=["verify"], now=now)
        s.commit()
    return app.test_client()


@pytest.fixture
def issued(registered: FlaskClient, app: Flask, sessions, clock) -> FlaskClient:
    """The university has issued two degrees (B-B: the level does not matter here), one revoked."""
    now, rt = clock.value, app.extensions["amanat"]
    serials = []
    for degree in ("BSc", "MSc"):
        request = IssueRequest.build(department="UNI", citizen=CNIC, type_code="degree",
                                     fields={"name": "Ayesha Khan", "degree": degree,
                                             "year": "2024"}, level="B-B")  # fmt: skip
        with sessions() as s:
            serials.append(issue_certificate(s, ctx=rt.issuance(), request=request, now=now).serial)
            s.commit()
    with sessions() as s:
        revoke_certificate(s, serial=serials[0], reason="issued in error", now=now)
        s.commit()
    return registered


def test_everyone_registered_is_listed(registered: FlaskClient) -> None:
    page = registered.get("/public").get_data(as_text=True)
    assert "University of the Punjab" in page
    assert "Demo Bank" in page


@pytest.mark.parametrize(
    ("query", "found"),
    [("bank", "Demo Bank"), ("جامعہ", "University"), ("UNI", "University")],
    ids=["name", "urdu", "code"],
)
def test_a_citizen_can_check_who_asks(registered: FlaskClient, query: str, found: str) -> None:
    page = registered.get("/public", query_string={"q": query}).get_data(as_text=True)
    assert found in page


def test_someone_not_registered_is_said_plainly(registered: FlaskClient) -> None:
    page = registered.get("/public", query_string={"q": "Fake Lenders"}).get_data(as_text=True)
    assert "Nobody by that name or code is registered." in page


def test_a_departments_record_counts_this_month(issued: FlaskClient) -> None:
    month = dt.datetime.now(dt.UTC).strftime("%Y-%m")
    record = issued.get("/api/v1/public/department/UNI").get_json()
    assert record["name_ur"] == "جامعہ پنجاب"
    assert record["active"] is True
    assert record["may"] == ["degree"]
    assert len(record["months"]) == 12
    assert record["months"][0] == {"month": month, "first": 2, "second": 1, "third": 0}
    csv_text = issued.get("/public/department/UNI.csv").get_data(as_text=True)
    assert csv_text.splitlines()[:2] == ["month,issued,revoked,applications", f"{month},2,1,0"]


@pytest.mark.parametrize("scope", SCOPES)
def test_every_organisation_scope_has_words(app: Flask, scope: str) -> None:

    with app.test_request_context("/"):
        assert scope_text(scope) != scope


def test_an_organisations_record_says_what_it_may_do(registered: FlaskClient) -> None:
    page = registered.get("/public/organisation/DEMOBANK").get_data(as_text=True)
    assert "Check certificates in its own name" in page
    assert "Fetch the documents" not in page


def test_the_record_names_no_citizen(issued: FlaskClient) -> None:
    for path in ("/public/department/UNI", "/api/v1/public/department/UNI", "/public"):
        text = issued.get(path).get_data(as_text=True)
        assert "Ayesha" not in text
        assert CNIC not in text


@pytest.mark.parametrize("path", ["/public/department/NOPE", "/public/bakery/UNI",
                                  "/api/v1/public/organisation/NOPE"])  # fmt: skip
def test_an_unknown_record_is_404(registered: FlaskClient, path: str) -> None:
    assert registered.get(path).status_code == 404


def _decided(sessions, clock, waits_days: list[float]) -> None:
    """Applications to UNI sent and decided ``waits_days`` apart, and one still open."""


    now = clock.value
    with sessions() as s:
        citizen = s.query(Account).filter_by(login=CNIC).one()
        for days in [*waits_days, None]:
            sent = now - dt.timedelta(days=days or 1)
            s.add(Application(
                id=uuid.uuid4(), department_code="UNI", type_code="degree",
                citizen_id=citizen.id, fields={}, status="issued" if days else "submitted",
                grant_ids=[], created_at=sent, submitted_at=sent, updated_at=now,
                closed_at=now if days else None,
            ))  # fmt: skip
        s.commit()


def test_a_departments_record_says_how_long_applications_wait(
    registered: FlaskClient, sessions, clock
) -> None:
    _decided(sessions, clock, [1, 2, 3, 4, 10])
    record = registered.get("/api/v1/public/department/UNI").get_json()
    assert (record["wait_median_days"], record["wait_p90_days"]) == (3.0, 10.0)
    assert sum(m["third"] for m in record["months"]) == 6
    page = registered.get("/public/department/UNI").get_data(as_text=True)
    assert "half within 3.0 days, nine in ten within 10.0 days" in page


def test_an_organisations_record_counts_its_requests(registered: FlaskClient, sessions, clock):

    with sessions() as s:
        asked = check_asked(
            types=["degree"], kinds=[], purpose="hiring", days=30, max_fetches=None, cnic=None,
            callback_url=None, open_days=7, policy=CallbackPolicy(require_https=False),
        )  # fmt: skip
        for _ in range(3):
            create_request(s, organisation_code="DEMOBANK", actor="t", asked=asked, now=clock.value)
        s.commit()
    record = registered.get("/api/v1/public/organisation/DEMOBANK").get_json()
    assert record["months"][0]["third"] == 3
    assert "Requests made" in registered.get("/public/organisation/DEMOBANK").get_data(as_text=True)

"""Disputes through HTTP: "I did not expect this" on an activity line goes to the organisation it
names and to the data-protection office; each side answers on the timeline; the office closes it
with an outcome; every step is in the citizen's activity and the public record counts them."""

from __future__ import annotations

import html
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from amanat.db import transaction
from audit import EventTag, record_event
from audit.models import AuditEvent
from identity import passwords
from identity.accounts import create_account
from identity.models import Account, Role
from identity.organisations import add_member, create_organisation
from tests.web.conftest import Clock, csrf_of
from tests.web.helpers import register

CNIC = "35202-1234567-1"


def _rt(app: Flask):
    return app.extensions["amanat"]


@pytest.fixture
def world(app: Flask, client: FlaskClient, clock: Clock) -> dict[str, int]:
    """A citizen (signed in on ``client``), a bank that fetched one of their documents, the
    bank's clerk, another organisation's clerk and a data-protection officer."""
    register(client, cnic=CNIC)
    with transaction(_rt(app).sessions) as s:
        citizen = s.scalars(select(Account).where(Account.login == CNIC)).one()
        for code, name in (("BANK", "Demo Bank"), ("JOBS", "Employer")):
            create_organisation(s, code=code, name=name, now=clock())
            member = add_member(s, code=code, login=f"{code.lower()}.clerk", display_name=code,
                                now=clock())  # fmt: skip
            passwords.set_password(s, account=member, password="clerk passphrase", now=clock())
        dpo = create_account(s, role=Role.DPO, display_name="DPO", login="dpo.one", now=clock())
        passwords.set_password(s, account=dpo, password="clerk passphrase", now=clock())
        record_event(
            s, tag=EventTag.CONSENT_USED, actor="organisation:BANK api-key:k1",
            subject_id=citizen.id, object_type="grant", object_id="g1", now=clock(),
            details={"recipient": "Demo Bank", "purpose": "loan", "title": "Pay slip"},
        )  # fmt: skip
        seq = s.scalars(select(AuditEvent.seq).where(AuditEvent.tag == EventTag.CONSENT_USED)).one()
    return {"seq": seq, "citizen": citizen.id}


def _sign_in(app: Flask, login: str) -> FlaskClient:
    other = app.test_client()
    csrf = csrf_of(other, "/login")
    res = other.post("/login/password", data={"csrf_token": csrf, "login": login,
                                               "password": "clerk passphrase"})  # fmt: skip
    assert res.status_code == 302
    return other


def _post(client: FlaskClient, path: str, **data: str):
    csrf = csrf_of(client, "/activity")
    return client.post(path, data={"csrf_token": csrf, **data})


def _open(client: FlaskClient, seq: int, note: str = "I never shared anything with this bank."):
    return _post(client, "/disputes/new", event=str(seq), note=note)


def _tags(app: Flask) -> list[str]:
    with _rt(app).sessions() as s:
        query = select(AuditEvent.tag).where(AuditEvent.object_type == "dispute")
        return list(s.scalars(query.order_by(AuditEvent.seq)))


def test_a_line_of_someone_elses_doing_can_be_disputed(client, world) -> None:
    page = client.get("/activity").get_data(as_text=True)
    assert f"/disputes/new?event={world['seq']}" in page
    own = re.findall(r'data-tag="account:created".*?</li>', page, re.S)
    assert own
    assert "I did not expect this" not in own[0]


def test_from_the_line_to_its_closing(app, client, world) -> None:
    opened = _open(client, world["seq"])
    assert opened.status_code == 303
    where = opened.headers["Location"]
    dispute_id = where.rsplit("/", 1)[1]
    page = client.get(where).get_data(as_text=True)
    assert "Demo Bank downloaded your Pay slip" in page
    assert "never shared anything" in page

    bank = _sign_in(app, "bank.clerk")
    assert dispute_id in bank.get("/disputes/inbox").get_data(as_text=True)
    assert dispute_id not in _sign_in(app, "jobs.clerk").get("/disputes/inbox").get_data(
        as_text=True
    )
    answered = _post(bank, f"/disputes/inbox/{dispute_id}/answer",
                     note="The citizen consented on 1 December; receipt attached.")  # fmt: skip
    assert answered.status_code == 303
    page = client.get(where).get_data(as_text=True)
    assert "Demo Bank" in page
    assert "receipt attached" in page
    assert 'data-state="answered"' in page

    office = _sign_in(app, "dpo.one")
    assert dispute_id in office.get("/disputes/inbox").get_data(as_text=True)
    closed = _post(office, f"/disputes/inbox/{dispute_id}/close", outcome="not_upheld",
                   note="The consent receipt shows the citizen's passkey signature.")  # fmt: skip
    assert closed.status_code == 303
    page = client.get(where).get_data(as_text=True)
    assert 'data-state="closed"' in page
    assert "Not upheld: the access was allowed" in page
    assert 'id="add-note"' not in page
    activity = html.unescape(client.get("/activity").get_data(as_text=True))
    assert "You disputed something Demo Bank did." in activity
    assert "Demo Bank answered your dispute." in activity
    assert "closed your dispute about Demo Bank: Not upheld" in activity
    assert _tags(app) == [EventTag.DISPUTE_OPENED, EventTag.DISPUTE_ANSWERED,
                          EventTag.DISPUTE_CLOSED]  # fmt: skip


def test_a_closed_dispute_takes_nothing_more(app, client, world) -> None:
    dispute_id = _open(client, world["seq"]).headers["Location"].rsplit("/", 1)[1]
    office = _sign_in(app, "dpo.one")
    _post(office, f"/disputes/inbox/{dispute_id}/close", outcome="resolved", note="Sorted out.")
    assert _post(client, f"/disputes/{dispute_id}/note", note="One more thing").status_code == 409
    again = _post(office, f"/disputes/inbox/{dispute_id}/close", outcome="upheld", note="x y z")
    assert again.status_code == 409


def test_a_line_is_disputed_once(client, world) -> None:
    _open(client, world["seq"])
    assert _open(client, world["seq"]).status_code == 409


def test_someone_elses_line_cannot_be_disputed(app, client, world) -> None:
    other = app.test_client()
    register(other, cnic="42101-7654321-3", name="Bilal Ahmed")
    assert _open(other, world["seq"]).status_code == 404
    assert _tags(app) == []


@pytest.mark.parametrize("note", ["", "no", "x" * 2001], ids=["empty", "short", "long"])
def test_a_dispute_needs_words(client, world, note: str) -> None:
    assert _open(client, world["seq"], note=note).status_code == 400
    assert _tags(client.application) == []


def test_only_the_office_closes_and_with_a_known_outcome(app, client, world) -> None:
    dispute_id = _open(client, world["seq"]).headers["Location"].rsplit("/", 1)[1]
    bank = _sign_in(app, "bank.clerk")
    path = f"/disputes/inbox/{dispute_id}/close"
    assert _post(bank, path, outcome="upheld", note="We close it.").status_code == 403
    office = _sign_in(app, "dpo.one")
    assert _post(office, path, outcome="forgotten", note="Closed.").status_code == 400


def test_another_organisation_cannot_open_or_answer_it(app, client, world) -> None:
    dispute_id = _open(client, world["seq"]).headers["Location"].rsplit("/", 1)[1]
    jobs = _sign_in(app, "jobs.clerk")
    assert jobs.get(f"/disputes/inbox/{dispute_id}").status_code == 404
    res = _post(jobs, f"/disputes/inbox/{dispute_id}/answer", note="Not ours at all.")
    assert res.status_code == 404


def test_the_public_record_counts_disputes(app, client, world) -> None:
    dispute_id = _open(client, world["seq"]).headers["Location"].rsplit("/", 1)[1]
    _post(_sign_in(app, "dpo.one"), f"/disputes/inbox/{dispute_id}/close", outcome="upheld",
          note="The bank fetched without consent.")  # fmt: skip
    record = client.get("/api/v1/public/organisation/BANK").get_json()
    assert (record["disputes_opened"], record["disputes_closed"]) == (1, 1)


def test_the_office_lands_on_its_inbox(app, world) -> None:
    office = app.test_client()
    csrf = csrf_of(office, "/login")
    res = office.post("/login/password", data={"csrf_token": csrf, "login": "dpo.one",
                                                "password": "clerk passphrase"})  # fmt: skip
    assert res.headers["Location"] == "/disputes/inbox"


@pytest.mark.parametrize(
    "event", ["²", "12a", "9" * 30, ""], ids=["superscript", "word", "huge", "none"]
)
def test_a_line_that_is_no_number_is_a_clear_answer(client, world, event: str) -> None:
    assert client.get("/disputes/new", query_string={"event": event}).status_code == 404
    assert _post(client, "/disputes/new", event=event, note="Not me at all.").status_code == 400
    assert _tags(client.application) == []

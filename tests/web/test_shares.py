"""Sharing through HTTP: consent with a passkey, organisation API, link shares, refusals, receipts,
activity filters, export and proofs — on both databases."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import html
import io
import json
import os
import re
import subprocess

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from amanat.db import transaction
from audit import EventTag, NewEvent, merkle, record_events
from audit.ledger import verify_statement
from audit.models import AuditEvent
from identity import passwords
from identity.models import Account, Organisation
from identity.organisations import add_member, create_api_key, create_organisation, revoke_api_key
from signing.render import BIDI_CONTROLS
from tests.softauthn import SoftAuthenticator
from tests.web.certificates import issue_degree_to
from tests.web.conftest import Clock, csrf_of
from tests.web.helpers import post_json, register, upload
from vault.models import Document
from web.views.activity import EXPORT_BATCH

DEGREE = b"%PDF-1.7\n" + os.urandom(3000)
DOMICILE = b"%PDF-1.7\n" + os.urandom(4000)


def _sessions(app: Flask):
    return app.extensions["amanat"].sessions


@pytest.fixture
def keys(app: Flask, clock: Clock) -> dict[str, str]:
    with transaction(_sessions(app)) as s:
        create_organisation(s, code="BANK", name="Example Bank", now=clock())
        create_organisation(s, code="JOBS", name="Example Employer", now=clock())
        return {
            "bank": create_api_key(
                s, code="BANK", label="t", scopes=["shares:read", "verify"], now=clock()
            ).token,
            "jobs": create_api_key(
                s, code="JOBS", label="t", scopes=["shares:read"], now=clock()
            ).token,
        }


@pytest.fixture
def citizen(client: FlaskClient, keys) -> tuple[SoftAuthenticator, list[str]]:
    auth = register(client)
    ids = []
    for title, data in (("Degree certificate", DEGREE), ("Domicile certificate", DOMICILE)):
        r = upload(client, data, title=title, kind="degree")
        assert r.status_code in (200, 201), r.get_data(as_text=True)
        ids.append(r.get_json()["id"])
    return auth, ids


def _share(
    client: FlaskClient,
    auth: SoftAuthenticator,
    ids: list[str],
    *,
    recipient="BANK",
    days="30",
    max_fetches="",
    purpose="loan application",
) -> str:
    """Fill the form, confirm with the passkey; return the redirect (with #link=... for links)."""
    csrf = csrf_of(client, "/shares/new")
    page = client.post(
        "/shares/new",
        data={
            "csrf_token": csrf,
            "document": ids,
            "recipient": recipient,
            "purpose": purpose,
            "days": days,
            "max_fetches": max_fetches,
        },
    )
    assert page.status_code == 200, page.get_data(as_text=True)
    text = page.get_data(as_text=True)
    token = re.search(r'data-token="([^"]+)"', text).group(1)
    options = json.loads(html.unescape(re.search(r'data-options="([^"]+)"', text).group(1)))
    done = post_json(
        client, "/shares/confirm", {"token": token, "credential": auth.assert_(options)}, csrf
    )
    assert done.status_code == 200, done.get_data(as_text=True)
    return done.get_json()["redirect"]


def _grant_id(target: str) -> str:
    return target.split("/shares/")[1].split("#")[0]


def _api(client: FlaskClient, path: str, key: str):
    return client.get(path, headers={"Authorization": f"Bearer {key}"})


def _tags(app: Flask) -> list[str]:
    with _sessions(app)() as s:
        return list(
            s.scalars(
                select(AuditEvent.tag)
                .where(AuditEvent.subject_id.is_not(None))
                .order_by(AuditEvent.seq)
            )
        )


def test_terms_are_shown_in_plain_words_before_confirming(client, citizen) -> None:
    _, ids = citizen
    csrf = csrf_of(client, "/shares/new")
    page = client.post(
        "/shares/new",
        data={
            "csrf_token": csrf,
            "document": ids,
            "recipient": "BANK",
            "purpose": "loan application",
            "days": "30",
        },
    ).get_data(as_text=True)
    assert "Example Bank" in page
    assert "loan application" in page
    assert "Degree certificate" in page
    assert "27 December 2026" in page


def test_bank_fetches_both_documents_byte_identical(app, client, citizen, keys) -> None:
    auth, ids = citizen
    grant = _grant_id(_share(client, auth, ids))
    listing = _api(client, f"/api/v1/shared/{grant}", keys["bank"])
    assert listing.status_code == 200
    docs = listing.get_json()["documents"]
    assert [d["title"] for d in docs] == ["Degree certificate", "Domicile certificate"]
    got = {d["id"]: _api(client, d["href"], keys["bank"]).data for d in docs}
    assert got == {ids[0]: DEGREE, ids[1]: DOMICILE}
    page = client.get("/shares").get_data(as_text=True)
    assert page.count("Example Bank downloaded your") == 2
    activity = client.get("/activity").get_data(as_text=True)
    assert (
        "Example Bank downloaded your Degree certificate for \u201cloan application\u201d"
        in activity
    )


def test_withdrawal_refuses_the_next_fetch_and_logs_it(app, client, citizen, keys) -> None:
    auth, ids = citizen
    grant = _grant_id(_share(client, auth, ids))
    csrf = csrf_of(client, f"/shares/{grant}")
    assert client.post(f"/shares/{grant}/withdraw", data={"csrf_token": csrf}).status_code == 302
    refused = _api(client, f"/api/v1/shared/{grant}/documents/{ids[0]}", keys["bank"])
    assert refused.status_code == 403
    assert refused.get_json()["error"] == "share_refused"
    assert _tags(app)[-1] == "consent:access-refused"
    assert "was refused" in client.get(f"/shares/{grant}").get_data(as_text=True)


def test_expiry_by_clock(app, client, clock, citizen, keys) -> None:
    auth, ids = citizen
    grant = _grant_id(_share(client, auth, ids, days="2"))
    clock.advance(days=2)
    assert _api(client, f"/api/v1/shared/{grant}", keys["bank"]).status_code == 403
    assert "consent:expired" in _tags(app)


def test_another_organisations_key_gets_404_and_is_logged(app, client, citizen, keys) -> None:
    auth, ids = citizen
    grant = _grant_id(_share(client, auth, ids))
    r = _api(client, f"/api/v1/shared/{grant}/documents/{ids[0]}", keys["jobs"])
    assert r.status_code == 404
    assert DEGREE not in r.data
    assert _tags(app)[-1] == "consent:access-refused"


@pytest.mark.parametrize("bad", ["", "amanat_nothing", "forged"])
def test_forged_keys_get_401_and_are_logged(app, client, citizen, keys, bad) -> None:
    auth, ids = citizen
    grant = _grant_id(_share(client, auth, ids))
    token = keys["bank"][:-2] + "xx" if bad == "forged" else bad
    r = _api(client, f"/api/v1/shared/{grant}", token)
    assert r.status_code == 401
    assert r.get_json()["error"] == "api_key_rejected"
    assert _tags(app)[-1] == "consent:access-refused"


def test_revoked_key_is_refused(app, client, clock, citizen, keys) -> None:

    auth, ids = citizen
    grant = _grant_id(_share(client, auth, ids))
    with transaction(_sessions(app)) as s:
        revoke_api_key(s, key_id=keys["bank"].split("_")[1], now=clock())
    assert _api(client, f"/api/v1/shared/{grant}", keys["bank"]).status_code == 401


def test_link_share_works_with_the_fragment_secret_only(app, client, citizen) -> None:
    auth, ids = citizen
    target = _share(client, auth, ids[:1], recipient="link")
    grant, secret = _grant_id(target), target.split("#link=")[1]
    other = app.test_client()  # someone without an account
    page = other.post(f"/s/{grant}", data={"secret": secret})
    assert page.status_code == 200
    assert "Degree certificate" in page.get_data(as_text=True)
    got = other.post(f"/s/{grant}/documents/{ids[0]}", data={"secret": secret})
    assert got.status_code == 200
    assert got.data == DEGREE
    wrong = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    refused = other.post(f"/s/{grant}/documents/{ids[0]}", data={"secret": wrong})
    assert refused.status_code == 404
    assert DEGREE not in refused.data
    assert _tags(app)[-1] == "consent:access-refused"


def test_grant_for_someone_elses_document_is_refused(app, client, citizen) -> None:
    _, ids = citizen
    stranger = app.test_client()
    register(stranger, name="Bilal", cnic="35202-7654321-1")
    theirs = upload(stranger, b"%PDF-1.7\nsecret", title="Land record").get_json()["id"]
    csrf = csrf_of(client, "/shares/new")
    r = client.post(
        "/shares/new",
        data={
            "csrf_token": csrf,
            "document": [ids[0], theirs],
            "recipient": "BANK",
            "purpose": "loan",
            "days": "3",
        },
    )
    assert r.status_code == 404


def test_tampered_assertion_creates_no_grant(client, citizen) -> None:
    auth, ids = citizen
    csrf = csrf_of(client, "/shares/new")
    text = client.post(
        "/shares/new",
        data={
            "csrf_token": csrf,
            "document": ids,
            "recipient": "BANK",
            "purpose": "loan",
            "days": "3",
        },
    ).get_data(as_text=True)
    token = re.search(r'data-token="([^"]+)"', text).group(1)
    options = json.loads(html.unescape(re.search(r'data-options="([^"]+)"', text).group(1)))
    cred = auth.assert_(options)
    client_data = json.loads(base64.urlsafe_b64decode(cred["response"]["clientDataJSON"] + "=="))
    client_data["challenge"] = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    cred["response"]["clientDataJSON"] = (
        base64.urlsafe_b64encode(json.dumps(client_data).encode()).rstrip(b"=").decode()
    )
    r = post_json(client, "/shares/confirm", {"token": token, "credential": cred}, csrf)
    assert r.status_code == 400
    assert "You have not shared anything yet" in client.get("/shares").get_data(as_text=True)


def test_receipts_are_signed_json_and_a_pdf(app, client, citizen, keys) -> None:
    auth, ids = citizen
    grant = _grant_id(_share(client, auth, ids, max_fetches="5"))
    body = client.get(f"/shares/{grant}/receipt.json").get_json()
    with _sessions(app)() as s:
        assert (
            verify_statement(s, keystore=app.extensions["amanat"].keystore, token=body["jws"])
            == body["receipt"]
        )
    assert body["receipt"]["services"][0]["purposes"][0]["thirdPartyName"] == "Example Bank"
    pdf = client.get(f"/shares/{grant}/receipt.pdf")
    assert pdf.data.startswith(b"%PDF")
    assert b"consent-receipt.json" in pdf.data
    org_copy = _api(client, f"/api/v1/shared/{grant}/receipt", keys["bank"]).get_json()
    assert org_copy["receipt"]["consentReceiptID"] == grant


def test_activity_filters_and_exports(client, citizen, keys) -> None:
    auth, ids = citizen
    grant = _grant_id(_share(client, auth, ids))
    _api(client, f"/api/v1/shared/{grant}/documents/{ids[0]}", keys["bank"])
    only_orgs = client.get("/activity?who=organisation").get_data(as_text=True)
    assert "downloaded your" in only_orgs
    assert "You uploaded" not in only_orgs
    only_vault = client.get("/activity?what=vault").get_data(as_text=True)
    assert "You uploaded" in only_vault
    assert "downloaded your" not in only_vault
    assert "Nothing yet" in client.get("/activity?to=2020-01-01").get_data(as_text=True)
    assert client.get("/activity?from=yesterday").status_code == 400
    exported = client.get("/activity/export.json?what=consent").get_json()["events"]
    assert {e["what"] for e in exported} == {"consent:granted", "consent:used"}
    rows = list(
        csv.DictReader(
            io.StringIO(client.get("/activity/export.csv").get_data(as_text=True).lstrip("\ufeff"))
        )
    )
    assert any(r["what"] == "consent:used" for r in rows)


def test_activity_proofs_verify_against_the_signed_head(client, citizen) -> None:
    text = client.get("/activity").get_data(as_text=True)
    seqs = re.findall(r'data-event="(\d+)"', text)
    data = client.get("/activity/proofs?" + "&".join(f"event={n}" for n in seqs)).get_json()
    head = data["tree_head"]
    root = base64.b64decode(head["root_hash"])
    for p in data["proofs"]:
        leaf = merkle.leaf_hash(base64.b64decode(p["entry"]))
        assert merkle.verify_inclusion(
            leaf=leaf,
            index=p["leaf_index"],
            size=head["tree_size"],
            path=[base64.b64decode(x) for x in p["path"]],
            root=root,
        )


def test_proofs_of_other_peoples_events_are_refused(client, citizen) -> None:
    assert client.get("/activity/proofs?event=1").status_code == 400


def test_a_tree_head_is_signed_after_requests_that_add_events(client, citizen) -> None:
    head = client.get("/api/v1/ledger/tree-head").get_json()
    assert head["tree_size"] >= 4
    assert len(base64.b64decode(head["signature"])) == 64


@pytest.mark.parametrize(
    "path",
    [
        "/activity?before=99999999999999999999999",
        "/activity/proofs?event=99999999999999999999999",
        "/activity/proofs?event=%C2%B2",
        "/api/v1/ledger/consistency?from=1&to=99999999999999999999999",
        "/api/v1/ledger/consistency?from=-3&to=2",
    ],
)
def test_out_of_range_numbers_get_a_clear_error(client, citizen, path) -> None:
    r = client.get(path, headers={"Accept": "application/json"})
    assert r.status_code in (400, 404), r.get_data(as_text=True)
    assert r.get_json()["error"], r.get_data(as_text=True)


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_a_long_activity_is_exported_whole_in_batches(app, client, clock, fmt) -> None:
    """More events than one export batch: every one is in the streamed file, newest first."""

    register(client)
    with _sessions(app)() as s:
        me = s.scalar(select(Account.id))
    extra = EXPORT_BATCH * 2 + 7
    with transaction(_sessions(app)) as s:
        record_events(
            s,
            events=[
                NewEvent(EventTag.VAULT_DOCUMENT_VIEWED, f"account:{me}", me, "document", str(i))
                for i in range(extra)
            ],
            now=clock(),
        )
    res = client.get(f"/activity/export.{fmt}")
    assert res.status_code == 200
    assert res.is_streamed
    text = res.get_data(as_text=True)
    if fmt == "json":
        events = [e["event"] for e in json.loads(text)["events"]]
    else:
        events = [int(r["event"]) for r in csv.DictReader(io.StringIO(text.lstrip("\ufeff")))]
    assert len(events) >= extra
    assert events == sorted(events, reverse=True)


def _pdf_text(pdf: bytes, tmp_path) -> str:
    """The PDF's text layer as pdftotext reads it (bidi controls dropped)."""


    (tmp_path / "r.pdf").write_bytes(pdf)
    out = subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / "r.pdf"), "-"], check=True, capture_output=True
    )
    return out.stdout.decode().translate(BIDI_CONTROLS)


@pytest.mark.parametrize(
    "written", ["عائشہ خان", "قرض کی درخواست", "ڈومیسائل سرٹیفکیٹ", "ایگزامپل بینک"]
)
def test_a_receipt_keeps_every_urdu_character(app, client, keys, tmp_path, written: str) -> None:
    """Issue 10: an Urdu name, purpose, document title and organisation name are read back
    from the printed receipt exactly (they printed as ????? before)."""

    with transaction(_sessions(app)) as s:
        s.get(Organisation, "BANK").name = "ایگزامپل بینک"
    auth = register(client, name="عائشہ خان")
    r = upload(client, DOMICILE, title="ڈومیسائل سرٹیفکیٹ", kind="degree")
    grant = _grant_id(_share(client, auth, [r.get_json()["id"]], purpose="قرض کی درخواست"))
    pdf = client.get(f"/shares/{grant}/receipt.pdf").data
    assert written in _pdf_text(pdf, tmp_path)


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", ["Consent receipt", "Shared with: Example Bank", "Active, when printed on"]),
        ("ur", ["رضامندی کی رسید", "جس کے ساتھ شیئر کیا گیا", "دسمبر", "پاس کی سے ان کی تصدیق کی"]),
    ],
)
def test_a_receipt_is_printed_in_the_readers_language(
    client, keys, tmp_path, lang: str, words: list[str]
) -> None:
    """Issue 10: the receipt's labels, its dates (as words) and its state in the reader's
    language; the attached signed JSON stays as it was signed."""

    auth = register(client, name="Ayesha Khan")
    r = upload(client, DOMICILE, title="Domicile", kind="degree")
    grant = _grant_id(_share(client, auth, [r.get_json()["id"]], purpose="home loan"))
    client.set_cookie("lang", lang)
    text = _pdf_text(client.get(f"/shares/{grant}/receipt.pdf").data, tmp_path)
    assert all(w in text for w in words), text
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", text)


@pytest.mark.parametrize(("lang", "shown"), [("en", "Example Bank"), ("ur", "مثالی بینک")])
def test_a_receipt_names_the_bank_as_the_citizen_saw_it(
    app, client, keys, tmp_path, lang: str, shown: str
) -> None:
    """The Urdu receipt names the bank by the Urdu name she confirmed (kept in the terms)."""

    with transaction(_sessions(app)) as s:
        s.get(Organisation, "BANK").name_ur = "مثالی بینک"
    auth = register(client, name="Ayesha Khan")
    r = upload(client, DOMICILE, title="Domicile", kind="degree")
    grant = _grant_id(_share(client, auth, [r.get_json()["id"]], purpose="home loan"))
    client.set_cookie("lang", lang)
    assert shown in _pdf_text(client.get(f"/shares/{grant}/receipt.pdf").data, tmp_path)


@pytest.mark.parametrize(
    ("lang", "days", "words"),
    [
        ("en", "400", "A consent lasts 1 to 365 days."),
        ("ur", "400", "رضامندی 1 سے 365 دن تک رہتی ہے۔"),
        ("ur", "0", "رضامندی 1 سے 365 دن تک رہتی ہے۔"),
    ],
)
def test_a_refused_consent_says_why_in_the_readers_language(
    client, citizen, lang: str, days: str, words: str
) -> None:
    """Issue 10: the domain refuses with a code; the page words it in English or Urdu."""
    _auth, ids = citizen
    client.get(f"/lang/{lang}")
    csrf = csrf_of(client, "/shares/new")
    page = client.post(
        "/shares/new",
        data={"csrf_token": csrf, "document": ids, "recipient": "BANK", "purpose": "loan",
              "days": days, "max_fetches": ""},
    )  # fmt: skip
    assert page.status_code == 400
    assert words in page.get_data(as_text=True)


def test_a_refused_consent_names_its_code_in_json(client, citizen) -> None:
    _auth, ids = citizen
    csrf = csrf_of(client, "/shares/new")
    res = client.post(
        "/shares/new",
        data={"csrf_token": csrf, "document": ids, "recipient": "BANK", "purpose": "x",
              "days": "30", "max_fetches": ""},
        headers={"Accept": "application/json"},
    )  # fmt: skip
    assert res.status_code == 400
    assert res.get_json()["error"] == "share_purpose_length"
    assert "3 to 200 characters" in res.get_json()["message"]


def test_a_bank_clerk_sees_the_certificate_status_and_downloads_left(
    app, client, sessions, file_keystore, clock, keys
) -> None:
    """33-org-grant.png: the clerk's page said nothing of whether a shared certificate is still
    valid, nor how many downloads were left."""

    clock.value = dt.datetime.now(dt.UTC)  # issuance signs with the machine's clock
    auth = register(client)
    row, _pdf = issue_degree_to(app, sessions, file_keystore, clock, cnic="35202-1234567-1")
    with sessions() as s:
        assert s.get(Document, row.document_id) is not None
    grant = _grant_id(_share(client, auth, [str(row.document_id)], max_fetches="5"))
    with transaction(_sessions(app)) as s:
        clerk = add_member(s, code="BANK", login="clerk", display_name="Clerk", now=clock())
        passwords.set_password(s, account=clerk, password="a clerk's password", now=clock())
    bank = app.test_client()
    csrf = csrf_of(bank, "/login")
    signed_in = bank.post(
        "/login/password",
        data={"csrf_token": csrf, "login": "clerk", "password": "a clerk's password"},
    )
    assert signed_in.status_code == 302
    page = bank.get(f"/org/grants/{grant}").get_data(as_text=True)
    assert "Downloads left: 5 of 5" in page
    assert "certificate valid in the register" in page
    assert row.serial in page

"""Public verification over HTTP: /verify, /v/<serial>, and the JSON API."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import io
import re
import subprocess
import tempfile
from pathlib import Path

import pytest
import zxingcpp
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select
from werkzeug.test import EnvironBuilder

from audit.models import AuditEvent
from identity import passwords
from identity.organisations import add_member, create_api_key, create_organisation
from signing.issuance import revoke_certificate
from signing.pki import revoke_department_key
from signing.render import BIDI_CONTROLS
from tests.web.certificates import issue_degree
from tests.web.conftest import csrf_of, recorded
from web.runtime import Runtime


@pytest.fixture
def issued(app, client, sessions, file_keystore, clock):
    return issue_degree(app, client, sessions, file_keystore, clock)


def _upload(client: FlaskClient, data: bytes, name: str = "degree.pdf"):
    verifier = client.application.test_client()
    csrf = csrf_of(verifier, "/verify")
    return verifier.post(
        "/verify",
        data={"csrf_token": csrf, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_genuine_certificate_page_and_holder_event(client, issued, sessions) -> None:
    row, pdf = issued
    page = _upload(client, pdf).get_data(as_text=True)
    assert (
        "Genuine: Degree Certificate issued by University of the Punjab to Ayesha Khan, valid."
        in page
    )
    assert row.serial in page
    assert "TOTAL_PASSED" in page
    recorded(client)
    with sessions() as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.tag == "certificate:verified"))
        assert event.subject_id == row.holder_id
        assert event.actor == "anonymous"
    assert "Someone checked your Degree Certificate" in client.get("/activity").get_data(
        as_text=True
    )


def test_changed_file_says_not_valid(client, issued) -> None:
    _row, pdf = issued
    data = bytearray(pdf)
    start = data.find(b"stream", data.find(b"/Contents")) + 20
    data[start] ^= 1
    page = _upload(client, bytes(data)).get_data(as_text=True)
    assert "Not valid:" in page
    assert "TOTAL_FAILED" in page


def test_revoked_certificate_says_not_valid(client, issued, sessions, clock) -> None:
    row, pdf = issued
    with sessions() as s:
        revoke_certificate(s, serial=row.serial, reason="Withdrawn by the senate", now=clock.value)
        s.commit()
    page = _upload(client, pdf).get_data(as_text=True)
    assert "Not valid: The department revoked this certificate" in page
    landing = client.application.test_client().get(f"/v/{row.serial}").get_data(as_text=True)
    assert (
        "Not valid: revoked by the department" in landing
    )
    assert (
        "Withdrawn by the senate" in landing
    )


def test_qr_landing_page_works_without_javascript(client, issued) -> None:
    row, _pdf = issued
    page = client.application.test_client().get(f"/v/{row.serial}").get_data(as_text=True)
    assert (
        "In the register and valid" in page
    )
    assert (
        "Ayesha Khan" in page
    )
    assert (
        "BSc Computer Science" in page
    )
    assert "<script>" not in page
    unknown = client.application.test_client().get("/v/0000-0000-0000").get_data(as_text=True)
    assert "No certificate with serial 0000-0000-0000 is in the register" in unknown
    pasted = client.application.test_client().get(
        f"/verify/lookup?serial=http://x/v/{row.serial}%23AM1.abc"
    )
    assert pasted.headers["Location"].endswith(f"/v/{row.serial}#AM1.abc")


def test_api_verify_certificate_and_trust_list(client, issued) -> None:
    row, pdf = issued
    api = client.application.test_client()
    res = api.post("/api/v1/verify", data=pdf, content_type="application/pdf")
    body = res.get_json()
    assert res.status_code == 200
    assert body["indication"] == "TOTAL_PASSED"
    assert (
        body["certificate"]["serial"] == row.serial
    )
    assert (
        body["signatures"][0]["pades_level"] == "B-LTA"
    )
    status = api.get(f"/api/v1/certificates/{row.serial.lower()}").get_json()
    assert status["status"] == "valid"
    assert status["holder"] == "Ayesha Khan"
    assert api.get("/api/v1/certificates/0000-0000-0000").status_code == 404
    trust = api.get("/api/v1/trust-list").get_json()
    (dept,) = trust["certificates"]
    assert dept["department"] == "UNI"
    assert len(bytes.fromhex(dept["kid"])) == 8
    assert base64.b64decode(dept["spki"])
    assert base64.b64decode(trust["root"])


@pytest.mark.parametrize(
    "data,name,expect",
    [
        (b"", "empty.pdf", 400),
        (b"\x89PNG\r\n\x1a\n" + bytes(200), "photo.pdf", 200),
    ],
)
def test_bad_uploads_get_clear_answers(client, data, name, expect) -> None:
    res = _upload(client, data, name)
    assert res.status_code == expect
    if expect == 200:
        assert "Not valid: This is not a PDF file." in res.get_data(as_text=True)


def test_huge_upload_is_refused_at_the_limit(client) -> None:
    """A body declared as 100 MiB is refused from its length alone, before it is read."""

    stream = io.BytesIO(b"%PDF-1.7 only the first bytes ever arrive")
    environ = EnvironBuilder(
        path="/api/v1/verify", method="POST", content_type="application/pdf"
    ).get_environ()
    environ["CONTENT_LENGTH"] = str(100 * 1024 * 1024)  # what a client declares, not what it sent
    environ["wsgi.input"] = stream
    statuses: list[str] = []
    body = b"".join(client.application(environ, lambda status, headers: statuses.append(status)))
    assert statuses[0].startswith("413")
    assert b"too_large" in body
    assert stream.tell() == 0, "nothing of the body was read"


def test_api_verify_qr(client, issued) -> None:
    _row, pdf = issued


    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "c.pdf").write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-r", "150", "-png", "-singlefile", "c.pdf", "p"], cwd=tmp, check=True
        )
        url = zxingcpp.read_barcodes(
            Image.open(Path(tmp) / "p.png"),
            formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode),
        )[0].text
    api = client.application.test_client()
    res = api.post("/api/v1/verify-qr", json={"payload": url})
    assert res.get_json()["indication"] == "TOTAL_PASSED"
    assert (
        api.post("/api/v1/verify-qr", json={"payload": "garbage"}).get_json()["indication"]
        == "TOTAL_FAILED"
    )
    assert api.post("/api/v1/verify-qr", json={}).status_code == 400


def test_openapi_document_describes_every_endpoint(client) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    names = {"grant_id": "grant", "document_id": "document", "serial": "serial", "kind": "kind",
             "code": "code", "batch_id": "batch", "request_id": "request",
             "application_id": "application", "step": "step"}  # fmt: skip
    routes = {
        re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "{" + names[m.group(1)] + "}", r.rule)
        for r in client.application.url_map.iter_rules()
        if r.rule.startswith("/api/v1/") and r.rule != "/api/v1/openapi.json"
    }
    assert {"/api/v1" + p for p in doc["paths"]} == routes
    assert doc["components"]["schemas"]["Verdict"]["properties"]["indication"]["enum"] == [
        "TOTAL_PASSED",
        "TOTAL_FAILED",
        "INDETERMINATE",
    ]


def test_pdf_bombs_get_a_clear_verdict_quickly(client) -> None:
    """Deep nesting and a huge declared stream: a verdict, not a crash."""
    deep = (
        b"%PDF-1.7\n1 0 obj\n"
        + b"[" * 100_000
        + b"]" * 100_000
        + b"\nendobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"
    )
    huge = (
        b"%PDF-1.7\n1 0 obj <</Length 99999999999 /Filter /FlateDecode>> stream\n"
        + bytes(1000)
        + b"\nendstream endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"
    )
    api = client.application.test_client()
    for bomb in (deep, huge):
        res = api.post("/api/v1/verify", data=bomb, content_type="application/pdf")
        assert res.status_code == 200
        assert res.get_json()["indication"] == "TOTAL_FAILED"
        assert res.get_json()["sub_indication"] == "FORMAT_FAILURE"


def test_result_page_offers_a_pdf_report(client, issued, tmp_path) -> None:

    _row, pdf = issued
    page = _upload(client, pdf).get_data(as_text=True)
    match = re.search(r'href="data:application/pdf;base64,([A-Za-z0-9+/=]+)"', page)
    assert match, "no report link"
    report = base64.b64decode(match.group(1))
    (tmp_path / "r.pdf").write_bytes(report)
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "r.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "ETSI result: TOTAL_PASSED" in text
    assert hashlib.sha256(pdf).hexdigest() in text
    assert "Genuine: Degree Certificate issued by University of the Punjab" in text


def test_the_report_is_in_the_readers_language(client, issued, tmp_path) -> None:
    """Issue 10: the report PDF is shaped in Urdu for an Urdu reader, every character kept:
    its labels, the verdict, the certificate's Urdu title and dates in words."""


    _row, pdf = issued
    client.set_cookie("lang", "ur")
    page = _upload_with(client, pdf).get_data(as_text=True)
    match = re.search(r'href="data:application/pdf;base64,([A-Za-z0-9+/=]+)"', page)
    assert match, "no report link"
    (tmp_path / "r.pdf").write_bytes(base64.b64decode(match.group(1)))
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "r.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout.translate(BIDI_CONTROLS)
    for words in ("سرٹیفکیٹ کی تصدیقی رپورٹ", "رجسٹر کیا کہتا ہے", "ڈگری کا سرٹیفکیٹ", "دسمبر"):
        assert words in text, words
    assert "Certificate verification report" not in text
    assert "ENTIRE_REVISION" not in text


def test_api_verification_with_a_key_names_the_organisation(
    client, issued, sessions, clock
) -> None:
    """With an API key of scope 'verify', the holder sees which organisation checked."""

    _, pdf = issued
    with sessions() as s:
        create_organisation(s, code="BANK", name="Example Bank", now=clock.value)
        key = create_api_key(s, code="BANK", label="t", scopes=["verify"], now=clock.value).token
        s.commit()
    api = client.application.test_client()
    r = api.post(
        "/api/v1/verify",
        data=pdf,
        content_type="application/pdf",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert r.status_code == 200
    assert r.get_json()["indication"] == "TOTAL_PASSED"
    recorded(client)
    with sessions() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.tag == "certificate:verified")).one()
        assert event.actor.startswith("organisation:BANK")
    assert "Example Bank checked your Degree Certificate" in client.get("/activity").get_data(
        as_text=True
    )
    forged = api.post(
        "/api/v1/verify",
        data=pdf,
        content_type="application/pdf",
        headers={"Authorization": "Bearer amanat_0000000000000000_" + "A" * 43},
    )
    assert forged.status_code == 401


def test_a_signer_outside_the_deployment_is_never_shown_by_its_claimed_name_alone(client) -> None:
    """A file signed by someone else's key (here a research corpus file) names its signer as an
    unknown signer calling itself so, on the page, in the report and never as a department."""

    corpus = Path(__file__).resolve().parents[1] / "corpus" / "pdf-signatures"
    data = (
        corpus
        / "rub/shadow-demo-exploits/hide-and-replace/variant-1_change_object_references"
        / "3_original-document-shadowed-signed.pdf"
    ).read_bytes()
    csrf = csrf_of(client, "/verify")
    res = client.post(
        "/verify",
        data={"csrf_token": csrf, "file": (io.BytesIO(data), "c.pdf")},
        content_type="multipart/form-data",
    )
    html = res.get_data(as_text=True)
    assert res.status_code == 200
    assert "an unknown signer calling itself" in html


def test_repeated_checks_are_one_line_with_a_count(client, issued, sessions) -> None:
    """A verifier checking the same certificate again that day adds no ledger event (issue 11:
    bounded growth); the holder's activity shows how often."""
    _row, pdf = issued
    for _ in range(3):
        assert _upload(client, pdf).status_code == 200
    recorded(client)
    with sessions() as s:
        checks = s.scalars(select(AuditEvent).where(AuditEvent.tag == "certificate:verified"))
        assert len(list(checks)) == 1
    assert "(3 times that day)" in client.get("/activity").get_data(as_text=True)


def test_page_and_api_checks_without_a_key_share_one_line(client, issued, sessions) -> None:
    _row, pdf = issued
    _upload(client, pdf)
    res = client.post("/api/v1/verify", data=pdf, content_type="application/pdf")
    assert res.status_code == 200
    recorded(client)
    with sessions() as s:
        channels = s.scalars(
            select(AuditEvent.details).where(AuditEvent.tag == "certificate:verified")
        ).all()
    # Both anonymous (page and API without a key) on one day: one line, counted twice.
    assert len(channels) == 1


def test_the_verdict_reasons_are_in_the_readers_language(client) -> None:
    """Issue 10: reasons are codes below web; an Urdu reader gets them in Urdu, the API gets
    both the code and the words."""
    client.set_cookie("lang", "ur")
    page = _upload_with(client, b"%PDF-1.7 not really signed")
    assert "یہ فائل PDF کے طور پر پڑھی نہیں جا سکتی (PdfReadError)۔" in page.get_data(as_text=True)
    api = client.post("/api/v1/verify", data=b"hello", content_type="application/pdf")
    (reason,) = api.get_json()["reasons"]
    assert reason["code"] == "pdf_not_pdf"
    assert reason["text"]


def _upload_with(client: FlaskClient, data: bytes):
    csrf = csrf_of(client, "/verify")
    return client.post(
        "/verify",
        data={"csrf_token": csrf, "file": (io.BytesIO(data), "x.pdf")},
        content_type="multipart/form-data",
    )


def test_the_qr_landing_page_speaks_urdu_and_shows_no_raw_keys(client, issued) -> None:
    """Issue 10: the type's Urdu title, the department's name (not its code) and the Urdu
    field labels; the serial isolated from the right-to-left text."""
    row, _pdf = issued
    client.set_cookie("lang", "ur")
    page = client.get(f"/v/{row.serial}").get_data(as_text=True)
    main = page.split("<main", 1)[-1]
    assert "ڈگری کا سرٹیفکیٹ" in main
    assert "University of the Punjab" in main
    assert "<dt>سال</dt>" in main
    assert f'<bdi class="mono serial" lang="en">{row.serial}</bdi>' in main
    # What a reader sees (the script's label table may name the fields' keys in an attribute).
    shown = re.sub(r"<[^>]*>", " ", main)
    assert "Degree Certificate" not in shown
    assert " UNI " not in shown
    assert "year" not in shown


def _shown(page: str) -> str:
    """What a reader sees in <main>, the JSON report for the records left out."""
    main = re.split(r'<pre [^>]*id="report"', page.split("<main", 1)[-1], maxsplit=1)[0]
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]*>", " ", main)))


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", ["Status valid", "Technical details", "the whole document as it was signed"]),
        ("ur", ["حیثیت درست", "تکنیکی تفصیلات", "پوری دستاویز، جیسی دستخط کے وقت تھی"]),
    ],
)
def test_the_result_page_says_its_terms_in_words(client, issued, lang, words) -> None:
    """Issue 10: the register's status and the ETSI terms (level, coverage, changes,
    revocation) in the reader's language, the terms under "technical details"; dates as
    words, never ISO."""
    _row, pdf = issued
    client.set_cookie("lang", lang)
    shown = _shown(_upload_with(client, pdf).get_data(as_text=True))
    assert all(w in shown for w in words), shown
    for raw in ("ENTIRE_REVISION", "LTA_UPDATES", "revocation: good"):
        assert raw not in shown
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", shown)


def test_a_certificate_recorded_after_its_key_was_compromised_is_not_shown_as_valid(
    client, issued, sessions, clock
) -> None:


    row, pdf = issued
    rt: Runtime = client.application.extensions["amanat"]
    ctx = rt.issuance()
    with sessions() as s:
        revoke_department_key(
            s,
            keystore=ctx.keystore,
            material=ctx.material,
            code="UNI",
            now=clock.value + dt.timedelta(minutes=1),
            invalid_since=row.issued_at - dt.timedelta(minutes=1),
        )
        s.commit()
    shown = _shown(_upload_with(client, pdf).get_data(as_text=True))
    assert "Status not valid: recorded after its signing key was compromised" in shown
    assert "Not valid: The department's signing key was revoked" in shown


def _teller(client: FlaskClient, sessions, clock) -> tuple[FlaskClient, int]:
    """A member of Example Bank (Urdu name مثالی بینک), signed in with a password."""

    with sessions() as s:
        create_organisation(
            s, code="BANK", name="Example Bank", name_ur="مثالی بینک", now=clock.value
        )
        member = add_member(s, code="BANK", login="teller", display_name="T", now=clock.value)
        passwords.set_password(s, account=member, password="teller passphrase", now=clock.value)
        s.commit()
        member_id = member.id
    teller = client.application.test_client()
    teller.post(
        "/login/password",
        data={"csrf_token": csrf_of(teller), "login": "teller", "password": "teller passphrase"},
    )
    return teller, member_id


def _verified_by(sessions) -> str:
    with sessions() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.tag == "certificate:verified")).one()
        return event.actor


@pytest.mark.parametrize(
    ("lang", "line"),
    [("en", "Example Bank checked your Degree Certificate"), ("ur", "مثالی بینک")],
)
def test_a_signed_in_member_verifying_on_the_web_is_named_in_the_activity(
    client, issued, sessions, clock, lang: str, line: str
) -> None:
    """Issue 10: a bank member who uploads on the verification page while signed in is the
    bank, in the holder's activity (in Urdu by its Urdu name), as an API key would be."""
    _, pdf = issued
    teller, member_id = _teller(client, sessions, clock)
    csrf = csrf_of(teller, "/verify")
    teller.post(
        "/verify",
        data={"csrf_token": csrf, "file": (io.BytesIO(pdf), "degree.pdf")},
        content_type="multipart/form-data",
    )
    recorded(client)
    assert _verified_by(sessions) == f"organisation:BANK member:{member_id}"
    client.set_cookie("lang", lang)
    assert line in client.get("/activity").get_data(as_text=True)


def test_a_members_cookie_on_the_api_names_nobody(client, issued, sessions, clock) -> None:
    """The API takes no anti-forgery token: a cookie there must not put the bank's name in a
    citizen's activity (another site could make the member's browser post)."""
    _, pdf = issued
    teller, _member_id = _teller(client, sessions, clock)
    answer = teller.post("/api/v1/verify", data=pdf, content_type="application/pdf")
    assert answer.status_code == 200
    recorded(client)
    assert _verified_by(sessions) == "anonymous"

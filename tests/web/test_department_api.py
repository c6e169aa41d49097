"""The department API: a department's own system issues (once per Idempotency-Key), revokes and
sends batches with its own key; a key without the scope, another department's key and bad input
are refused with a clear answer and change nothing."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import func, select

from identity.organisations import create_api_key, create_organisation
from signing.apikeys import create_department_api_key, revoke_department_api_key
from signing.models import IssuedCertificate
from signing.pki import create_department, ensure_pki, load_pki
from tests.web.conftest import run_jobs
from tests.web.helpers import register
from vault.service import open_document
from web.cli import main

CNIC = "35202-1234567-1"
DEGREE = {
    "citizen": CNIC,
    "type": "degree",
    "fields": {"name": "Ayesha Khan", "name:ur": "عائشہ خان", "degree": "BSc", "year": "2024"},
}


@pytest.fixture
def keys(app, sessions, file_keystore, clock) -> dict[str, str]:
    """Keys of department UNI (issue+revoke, issue only) and of department CRD; a citizen."""
    now = clock.value = dt.datetime.now(dt.UTC)  # signing times come from the wall clock
    with sessions() as s:
        ensure_pki(s, keystore=file_keystore, now=now)
        material = load_pki(s, keystore=file_keystore, base_url="http://localhost:8000")
        for code in ("UNI", "CRD"):
            create_department(
                s, keystore=file_keystore, material=material, code=code, name=code, now=now
            )
        made = {
            "full": create_department_api_key(
                s, code="UNI", label="registrar", scopes=["issue", "revoke"], now=now
            ).token,
            "issue_only": create_department_api_key(
                s, code="UNI", label="intake", scopes=["issue"], now=now
            ).token,
            "other": create_department_api_key(
                s, code="CRD", label="crd", scopes=["issue", "revoke"], now=now
            ).token,
        }
        s.commit()
    register(app.test_client(), cnic=CNIC)
    return made


def _post(client: FlaskClient, path: str, token: str, body: object, **headers: str):
    return client.post(
        path,
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}", **headers},
    )


def _count(sessions) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(IssuedCertificate)) or 0


def test_issue_answers_201_with_the_serial_and_links(client, keys) -> None:
    res = _post(client, "/api/v1/certificates", keys["full"], DEGREE)
    assert res.status_code == 201, res.get_json()
    body = res.get_json()
    assert body["status"] == "valid"
    assert body["department"] == "UNI"
    assert body["level"] == "B-LTA"
    assert body["links"]["verify"] == f"http://localhost:8000/v/{body['serial']}"
    assert client.get(body["links"]["status"]).get_json()["status"] == "valid"


def test_the_same_idempotency_key_twice_issues_one_certificate(client, keys, sessions) -> None:
    first = _post(client, "/api/v1/certificates", keys["full"], DEGREE, **{"Idempotency-Key": "a1"})
    again = _post(client, "/api/v1/certificates", keys["full"], DEGREE, **{"Idempotency-Key": "a1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.get_json() == again.get_json()
    assert _count(sessions) == 1


def test_without_an_idempotency_key_each_request_issues(client, keys, sessions) -> None:
    for _ in range(2):
        assert _post(client, "/api/v1/certificates", keys["full"], DEGREE).status_code == 201
    assert _count(sessions) == 2


def test_an_idempotency_key_reused_for_another_request_is_refused(client, keys, sessions) -> None:
    _post(client, "/api/v1/certificates", keys["full"], DEGREE, **{"Idempotency-Key": "k"})
    other = {**DEGREE, "fields": {**DEGREE["fields"], "degree": "MSc"}}
    res = _post(client, "/api/v1/certificates", keys["full"], other, **{"Idempotency-Key": "k"})
    assert res.status_code == 422
    assert res.get_json()["error"] == "idempotency_key_reused"
    assert _count(sessions) == 1


def test_the_issued_certificate_passes_amanat_verify(
    app, client, keys, sessions, settings, db_url, tmp_path: Path
) -> None:
    serial = _post(client, "/api/v1/certificates", keys["full"], DEGREE).get_json()["serial"]
    ctx = app.extensions["amanat"].issuance()
    with sessions() as s:
        row = s.get(IssuedCertificate, serial)
        assert row is not None
        opened = open_document(
            s, ctx=ctx.vault, owner_id=row.holder_id, document_id=row.document_id,
            purpose="view", now=dt.datetime.now(dt.UTC),
        )  # fmt: skip
        pdf = tmp_path / "issued.pdf"
        pdf.write_bytes(opened.file.read())
    env = {"AMANAT_INSTANCE": str(settings.instance), "AMANAT_DATABASE_URL": db_url}
    result = CliRunner().invoke(main, ["verify", str(pdf)], env=env)
    assert result.exit_code == 0, result.output
    assert "TOTAL_PASSED" in result.output, result.output


def test_revoke_by_api(client, keys) -> None:
    serial = _post(client, "/api/v1/certificates", keys["full"], DEGREE).get_json()["serial"]
    res = _post(client, f"/api/v1/certificates/{serial}/revoke", keys["full"], {"reason": "typo"})
    assert res.status_code == 200
    assert res.get_json()["status"] == "revoked"
    assert client.get(f"/api/v1/certificates/{serial}").get_json()["status"] == "revoked"


def test_a_key_without_the_scope_gets_403_and_revokes_nothing(client, keys) -> None:
    serial = _post(client, "/api/v1/certificates", keys["full"], DEGREE).get_json()["serial"]
    res = _post(
        client, f"/api/v1/certificates/{serial}/revoke", keys["issue_only"], {"reason": "x"}
    )
    assert res.status_code == 403
    assert res.get_json()["error"] == "api_key_scope"
    assert "revoke" in res.get_json()["message"]
    assert client.get(f"/api/v1/certificates/{serial}").get_json()["status"] == "valid"


def test_another_departments_certificate_is_not_found(client, keys) -> None:
    serial = _post(client, "/api/v1/certificates", keys["full"], DEGREE).get_json()["serial"]
    res = _post(client, f"/api/v1/certificates/{serial}/revoke", keys["other"], {"reason": "x"})
    assert res.status_code == 404
    assert client.get(f"/api/v1/certificates/{serial}").get_json()["status"] == "valid"


@pytest.mark.parametrize(
    "token",
    ["", "amanat_0000000000000000_" + "a" * 43, "not a key"],
    ids=["none", "unknown", "bad"],
)
def test_no_valid_key_gets_401(client, keys, sessions, token: str) -> None:
    assert _post(client, "/api/v1/certificates", token, DEGREE).status_code == 401
    assert _count(sessions) == 0


def test_a_revoked_key_gets_401(client, keys, sessions, clock) -> None:
    key_id = keys["full"].split("_")[1]
    with sessions() as s:
        revoke_department_api_key(s, key_id=key_id, now=clock.value)
        s.commit()
    assert _post(client, "/api/v1/certificates", keys["full"], DEGREE).status_code == 401


def test_an_organisation_key_opens_no_department_endpoint(client, keys, sessions, clock) -> None:

    with sessions() as s:
        create_organisation(s, code="BANK", name="Bank", now=clock.value)
        token = create_api_key(s, code="BANK", label="b", scopes=["verify"], now=clock.value).token
        s.commit()
    assert _post(client, "/api/v1/certificates", token, DEGREE).status_code == 401


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({**DEGREE, "type": "spaceship"}, "type_unknown"),
        ({**DEGREE, "citizen": "12345"}, "cnic_format"),
        ({**DEGREE, "citizen": "35202-7654321-1"}, "citizen_unknown"),
        ({**DEGREE, "fields": {"name": "A"}}, "fields_missing"),
        ({**DEGREE, "fields": {"name": 5}}, "api_fields_not_strings"),
        ({**DEGREE, "level": "B-Z"}, "level_unknown"),
        ({**DEGREE, "citizen": 35202}, "api_field_not_string"),
        ([1, 2], "api_body_not_object"),
    ],
    ids=["type", "cnic", "unknown-citizen", "fields", "field-type", "level", "cnic-type", "list"],
)
def test_bad_issue_input_is_a_clear_400(client, keys, sessions, body, code: str) -> None:
    res = _post(client, "/api/v1/certificates", keys["full"], body)
    assert res.status_code == 400, res.get_json()
    assert res.get_json()["error"] == code, res.get_json()
    assert res.get_json()["message"]
    assert _count(sessions) == 0


def test_a_bad_idempotency_key_is_refused(client, keys, sessions) -> None:
    res = _post(client, "/api/v1/certificates", keys["full"], DEGREE, **{"Idempotency-Key": "a b"})
    assert res.status_code == 400
    assert res.get_json()["error"] == "idempotency_key_format"
    assert _count(sessions) == 0


def test_an_oversize_body_is_refused(client, keys, sessions) -> None:
    huge = {**DEGREE, "padding": "x" * 300_000}
    res = _post(client, "/api/v1/certificates", keys["full"], huge)
    assert res.status_code == 413
    assert res.get_json()["error"] == "api_body_too_large"
    assert _count(sessions) == 0


def _rows(n: int) -> list[dict[str, object]]:
    return [{**DEGREE, "fields": {**DEGREE["fields"], "degree": f"BSc {i}"}} for i in range(n)]


def test_a_batch_of_100_rows_is_issued_and_reported(client, keys, sessions) -> None:
    res = _post(
        client, "/api/v1/batches", keys["full"], {"name": "2026 degrees", "rows": _rows(100)}
    )
    assert res.status_code == 202
    assert res.get_json()["total"] == 100
    run_jobs(client.application)
    report = client.get(res.get_json()["href"], headers={"Authorization": f"Bearer {keys['full']}"})
    body = report.get_json()
    assert body["done"]
    assert body["issued"] == 100
    assert body["failed"] == 0
    assert len({row["serial"] for row in body["rows"]}) == 100
    assert _count(sessions) == 100


def test_a_batch_reports_each_broken_row_in_words(client, keys) -> None:
    rows = [*_rows(1), {**DEGREE, "citizen": "1"}, "not a row"]
    res = _post(client, "/api/v1/batches", keys["full"], {"rows": rows})
    run_jobs(client.application)
    body = client.get(res.get_json()["href"], headers={"Authorization": f"Bearer {keys['full']}"})
    rows_out = body.get_json()["rows"]
    assert [r["status"] for r in rows_out] == ["issued", "failed", "failed"]
    assert rows_out[1]["error"]["code"] == "cnic_format"
    assert rows_out[1]["error"]["message"]
    assert rows_out[2]["error"]["code"] == "batch_row_invalid"


def test_a_batch_as_csv(client, keys) -> None:
    data = "citizen,type,name,degree,year\n35202-1234567-1,degree,Ayesha Khan,BSc,2020\n"
    res = client.post(
        "/api/v1/batches?name=intake.csv",
        data=data.encode(),
        content_type="text/csv",
        headers={"Authorization": f"Bearer {keys['full']}"},
    )
    assert res.status_code == 202
    assert res.get_json()["name"] == "intake.csv"
    run_jobs(client.application)
    body = client.get(res.get_json()["href"], headers={"Authorization": f"Bearer {keys['full']}"})
    assert body.get_json()["issued"] == 1


def test_the_same_rows_twice_are_one_batch(client, keys) -> None:
    first = _post(client, "/api/v1/batches", keys["full"], {"rows": _rows(2)}).get_json()
    again = _post(client, "/api/v1/batches", keys["full"], {"rows": _rows(2)}).get_json()
    assert first["batch"] == again["batch"]


@pytest.mark.parametrize("rows", [None, [], "rows"], ids=["missing", "empty", "string"])
def test_a_batch_without_rows_is_refused(client, keys, rows) -> None:
    res = _post(client, "/api/v1/batches", keys["full"], {"rows": rows})
    assert res.status_code == 400
    assert res.get_json()["error"] == "batch_rows_missing"


def test_another_departments_batch_is_not_found(client, keys) -> None:
    href = _post(client, "/api/v1/batches", keys["full"], {"rows": _rows(1)}).get_json()["href"]
    assert client.get(href, headers={"Authorization": f"Bearer {keys['other']}"}).status_code == 404

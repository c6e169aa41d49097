"""The holder sees issued certificates, and their revocation, in the vault and on /activity."""

from __future__ import annotations

import io

from flask.testing import FlaskClient

from signing.issuance import revoke_certificate
from tests.web.certificates import issue_degree
from tests.web.conftest import csrf_of


def test_holder_sees_issuance_and_revocation(
    app, client: FlaskClient, sessions, file_keystore, clock
) -> None:
    row, _pdf = issue_degree(app, client, sessions, file_keystore, clock)
    now = clock.value
    listing = client.get("/vault").get_data(as_text=True)
    assert "Degree Certificate" in listing
    assert "issued" in listing
    assert "revoked" not in listing
    page = client.get(f"/vault/{row.document_id}").get_data(as_text=True)
    assert f"serial {row.serial}. It is valid." in page
    assert client.get(f"/vault/{row.document_id}/file").data.startswith(b"%PDF")
    with sessions() as s:
        revoke_certificate(s, serial=row.serial, reason="Degree withdrawn by the senate", now=now)
        s.commit()
    assert "revoked" in client.get("/vault").get_data(as_text=True)
    page = client.get(f"/vault/{row.document_id}").get_data(as_text=True)
    assert "This certificate was revoked" in page
    assert "Degree withdrawn by the senate" in page
    activity = client.get("/activity").get_data(as_text=True)
    assert "University of the Punjab issued your Degree Certificate" in activity
    assert "\u201cDegree Certificate\u201d was issued into your vault." in activity
    assert (
        f'Your Degree Certificate (serial <bdi class="serial">{row.serial}</bdi>) was revoked:'
        " Degree withdrawn by the senate" in activity
    )
    new_version = client.post(
        f"/vault/{row.document_id}/versions",
        data={
            "csrf_token": csrf_of(client, "/vault"),
            "file": (io.BytesIO(b"%PDF-forged"), "x.pdf"),
        },
        content_type="multipart/form-data",
        headers={"X-Requested-With": "fetch"},
    )
    assert new_version.status_code == 400
    assert new_version.get_json()["error"] == "issued_document"

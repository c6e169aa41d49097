"""Vault pages through HTTP: upload checks at the edge, download, rename, delete, isolation."""

from __future__ import annotations

import io
import os

from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.web.conftest import csrf_of
from tests.web.helpers import register, upload
from vault.models import Document
from web.app import create_app
from web.runtime import build_runtime

PDF = b"%PDF-1.7\n" + os.urandom(5000)


def _docs(sessions) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(Document)) or 0


def _blob_files(app) -> list:
    root = app.extensions["amanat"].settings.blob_dir
    return [p for p in root.rglob("*") if p.is_file()]


def test_upload_then_download_is_byte_identical(client: FlaskClient) -> None:
    register(client)
    res = upload(client, PDF, "Transcript.pdf", title="Transcript", kind="degree")
    assert res.status_code == 201
    doc = res.get_json()["id"]
    got = client.get(f"/vault/{doc}/file?download=1")
    assert got.status_code == 200
    assert got.data == PDF
    assert got.headers["Content-Type"] == "application/pdf"
    assert "attachment" in got.headers["Content-Disposition"]
    assert got.headers["Cache-Control"] == "no-store"


def test_vault_needs_sign_in(client: FlaskClient) -> None:
    assert client.get("/vault").status_code == 302
    res = client.get("/vault", headers={"Accept": "application/json"})
    assert res.status_code == 401
    assert res.get_json()["error"] == "login_required"


def test_oversized_upload_is_refused_and_changes_nothing(
    client: FlaskClient, app, sessions
) -> None:
    """Over the limit: 413 with a clear message, no row, no blob, and the body is not read."""
    register(client)
    limit = app.extensions["amanat"].settings.max_upload_bytes
    res = upload(client, b"%PDF-" + bytes(limit + 100 * 1024), "big.pdf")
    assert res.status_code == 413
    assert "limit" in res.get_json()["message"]
    assert _docs(sessions) == 0
    assert _blob_files(app) == []


def test_wrong_type_is_refused(client: FlaskClient, sessions, app) -> None:
    register(client)
    res = upload(client, b"MZ\x90\x00" + bytes(500), "cv.pdf")
    assert res.status_code == 400
    assert res.get_json()["error"] == "unsupported_type"
    assert _docs(sessions) == 0
    assert _blob_files(app) == []


def test_empty_file_is_refused(client: FlaskClient, sessions) -> None:
    register(client)
    res = upload(client, b"", "empty.pdf")
    assert res.status_code == 400
    assert res.get_json()["error"] == "empty"
    assert _docs(sessions) == 0


def test_missing_file_field_is_refused(client: FlaskClient) -> None:
    register(client)
    csrf = csrf_of(client, "/vault")
    res = client.post("/vault", data={"csrf_token": csrf}, headers={"X-Requested-With": "fetch"})
    assert res.status_code == 400
    assert res.get_json()["error"] == "no_file"


def test_hostile_file_name_is_sanitised_in_the_download(client: FlaskClient) -> None:
    register(client)
    doc = upload(client, PDF, '../../etc/"evil"\r\n.pdf').get_json()["id"]
    got = client.get(f"/vault/{doc}/file?download=1")
    disposition = got.headers["Content-Disposition"]
    assert (
        "/" not in disposition.split("filename")[1]
    )
    assert (
        "\r" not in disposition
    )
    assert (
        '"evil"' not in disposition
    )


def test_png_named_pdf_is_served_as_png_in_a_sandbox(client: FlaskClient) -> None:
    register(client)
    png = b"\x89PNG\r\n\x1a\n" + bytes(64)
    doc = upload(client, png, "photo.pdf").get_json()["id"]
    got = client.get(f"/vault/{doc}/file")
    assert got.headers["Content-Type"] == "image/png"
    assert "sandbox" in got.headers["Content-Security-Policy"]
    assert got.headers["X-Content-Type-Options"] == "nosniff"


def test_other_citizen_gets_bare_404(client: FlaskClient, app) -> None:
    register(client)
    doc = upload(client, PDF, "mine.pdf", title="Secret Plot 42").get_json()["id"]
    other = app.test_client()
    register(other, cnic="35202-7777777-7", name="Other")
    for path in (f"/vault/{doc}", f"/vault/{doc}/file"):
        res = other.get(path)
        assert res.status_code == 404
        assert b"Plot 42" not in res.data
    csrf = csrf_of(other, "/vault")
    assert other.post(f"/vault/{doc}/delete", data={"csrf_token": csrf}).status_code == 404
    assert client.get(f"/vault/{doc}/file").status_code == 200


def test_malformed_document_id_is_404(client: FlaskClient) -> None:
    register(client)
    assert client.get("/vault/not-a-uuid").status_code == 404


def test_rename_new_version_and_delete(client: FlaskClient, app, sessions) -> None:
    register(client)
    doc = upload(client, PDF, "a.pdf").get_json()["id"]
    csrf = csrf_of(client, "/vault")
    assert (
        client.post(
            f"/vault/{doc}/rename", data={"csrf_token": csrf, "title": "Matric"}
        ).status_code
        == 302
    )
    assert "Matric" in client.get(f"/vault/{doc}").get_data(as_text=True)
    res = client.post(
        f"/vault/{doc}/versions",
        data={"csrf_token": csrf, "file": (io.BytesIO(b"%PDF-1.4 v2"), "v2.pdf")},
        content_type="multipart/form-data",
    )
    assert res.status_code == 302
    assert client.get(f"/vault/{doc}/file").data == b"%PDF-1.4 v2"
    assert client.get(f"/vault/{doc}/file?version=1").data == PDF
    assert client.post(f"/vault/{doc}/delete", data={"csrf_token": csrf}).status_code == 302
    assert client.get(f"/vault/{doc}").status_code == 404
    assert _docs(sessions) == 0
    assert _blob_files(app) == []


def test_activity_lists_events_newest_first(client: FlaskClient) -> None:
    register(client)
    doc = upload(client, PDF, "a.pdf", title="Pay slip").get_json()["id"]
    client.get(f"/vault/{doc}/file")
    page = client.get("/activity").get_data(as_text=True)
    viewed = page.index("You viewed \u201cPay slip\u201d")
    uploaded = page.index("You uploaded \u201cPay slip\u201d")
    created = page.index("Your account was created.")
    assert viewed < uploaded < created


def test_security_headers(client: FlaskClient) -> None:
    res = client.get("/")
    csp = res.headers["Content-Security-Policy"]
    assert (
        "script-src 'self'" in csp
    )
    assert (
        "unsafe-inline" not in csp
    )
    assert (
        "frame-ancestors 'none'" in csp
    )
    assert res.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in res.headers  # plain http in tests
    assert "<script>" not in res.get_data(as_text=True)  # no inline script


def test_hsts_and_secure_cookies_on_https(settings, engine, file_keystore) -> None:

    rt = build_runtime(
        settings.with_overrides(public_base_url="https://amanat.example"),
        engine=engine,
        keystore=file_keystore,
    )
    client = create_app(runtime_=rt).test_client()
    res = client.get("/login", base_url="https://amanat.example")
    assert "max-age=" in res.headers["Strict-Transport-Security"]
    assert "Secure" in res.headers["Set-Cookie"]


def test_healthz(client: FlaskClient) -> None:
    res = client.get("/healthz")
    assert res.status_code == 200
    assert res.get_json() == {"database": "ok", "keystore": "ok"}


def test_healthz_reports_missing_key_file(client: FlaskClient, file_keystore) -> None:
    file_keystore._path.unlink()
    res = client.get("/healthz")
    assert res.status_code == 503
    assert res.get_json()["keystore"] == "unavailable"


def test_errors_are_json_without_stack_traces(client: FlaskClient) -> None:
    res = client.get("/api/v1/nothing-here")
    assert res.status_code == 404
    assert set(res.get_json()) == {"error", "message"}


def test_multi_megabyte_upload_round_trips(client: FlaskClient) -> None:
    """Files larger than the multipart parser's buffer are accepted (regression: 413 at 64 KiB)."""
    register(client)
    big = b"%PDF-1.7\n" + os.urandom(3 * 1024 * 1024)
    res = upload(client, big, "scan.pdf")
    assert res.status_code == 201, res.get_data(as_text=True)
    assert client.get(f"/vault/{res.get_json()['id']}/file").data == big

"""Closing an account through the pages (both databases): asked for and called off with the
passkey, carried out by the periodic job, the deletion certificate at the citizen's link, and
``amanat verify-deletion`` on the JSON and the PDF, refusing either with one byte changed."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from amanat.db import transaction
from amanat.settings import Settings
from identity import passwords
from identity.organisations import add_member, create_organisation
from tests.softauthn import SoftAuthenticator
from tests.web.conftest import Clock, csrf_of
from tests.web.helpers import post_json, register, sign_in, upload
from tests.web.test_shares import _grant_id, _share
from web.cli import main
from web.tasks import erase_due_accounts, sign_tree_head

URDU_TITLE = "حذف کا سرٹیفکیٹ"


def _confirm(client: FlaskClient, auth: SoftAuthenticator) -> Any:
    page = client.get("/security/close-account").get_data(as_text=True)
    token = re.search(r'data-token="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    options = json.loads(html.unescape(re.search(r'data-options="([^"]+)"', page).group(1)))  # type: ignore[union-attr]
    csrf = csrf_of(client, "/security/close-account")
    return post_json(client, "/security/close-account/confirm",
                     {"token": token, "credential": auth.assert_(options)}, csrf)  # fmt: skip


def _link(client: FlaskClient) -> str:
    page = client.get("/security/close-account").get_data(as_text=True)
    found = re.search(r'id="erasure-link" href="http://localhost:8000([^"]+)"', page)
    assert found, page
    return found.group(1)


@pytest.fixture
def citizen(client: FlaskClient) -> SoftAuthenticator:
    auth = register(client)
    assert upload(client, b"%PDF-1.7\n" + os.urandom(2000), title="Degree").status_code == 201
    return auth


@pytest.fixture
def closing(client: FlaskClient, citizen: SoftAuthenticator) -> str:
    """A citizen who asked for their account to be closed: the path of their link."""
    done = _confirm(client, citizen)
    assert done.status_code == 200, done.get_data(as_text=True)
    return _link(client)


def _erase_now(app: Flask, clock: Clock) -> int:
    clock.advance(days=15)
    return erase_due_accounts(app.extensions["amanat"])


def test_asking_shows_the_day_and_the_link(client: FlaskClient, closing: str) -> None:
    page = client.get("/security/close-account").get_data(as_text=True)
    assert "will be closed and everything in it erased on 11 December 2026" in page
    assert closing.startswith("/erasure/")


def test_the_link_tells_a_stranger_only_the_day(app: Flask, closing: str) -> None:
    page = app.test_client().get(closing).get_data(as_text=True)
    assert "will be closed and everything in it erased on 11 December 2026" in page
    assert "Ayesha" not in page
    assert "35202" not in page


def test_calling_it_off_with_the_passkey(
    app: Flask, client: FlaskClient, citizen: SoftAuthenticator, closing: str, clock: Clock
) -> None:
    assert _confirm(client, citizen).status_code == 200
    assert _erase_now(app, clock) == 0
    assert "Nothing was erased" in app.test_client().get(closing).get_data(as_text=True)
    assert sign_in(client, citizen).status_code == 200  # 15 days on, the old session ended
    assert "Degree" in client.get("/vault").get_data(as_text=True)


def test_a_confirmation_without_the_passkey_is_refused(client: FlaskClient, citizen) -> None:
    page = client.get("/security/close-account").get_data(as_text=True)
    token = re.search(r'data-token="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    csrf = csrf_of(client, "/security/close-account")
    answer = post_json(client, "/security/close-account/confirm",
                       {"token": token, "credential": {"id": "x"}}, csrf)  # fmt: skip
    assert answer.status_code == 400
    assert answer.get_json()["error"] == "passkey_rejected"
    assert 'id="erasure-link"' not in client.get("/security/close-account").get_data(as_text=True)


def test_after_the_job_the_passkey_signs_in_nobody(
    app: Flask, client: FlaskClient, citizen: SoftAuthenticator, closing: str, clock: Clock
) -> None:
    assert _erase_now(app, clock) == 1
    refused = sign_in(client, citizen)
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "passkey_unknown"


def test_after_the_job_the_link_offers_the_certificate(
    app: Flask, closing: str, clock: Clock
) -> None:
    _erase_now(app, clock)
    stranger = app.test_client()
    page = stranger.get(closing).get_data(as_text=True)
    assert "erased on 12 December 2026" in page
    pdf = stranger.get(closing + "/certificate.pdf")
    assert pdf.status_code == 200
    assert pdf.data.startswith(b"%PDF-")
    assert pdf.headers["Cache-Control"] == "no-store"


def test_an_unknown_link_is_not_found(client: FlaskClient) -> None:
    assert client.get("/erasure/nope").status_code == 404
    assert client.get("/erasure/nope/certificate.json").status_code == 404


def test_the_pdf_is_in_the_citizens_language(
    app: Flask, client: FlaskClient, citizen: SoftAuthenticator, clock: Clock, tmp_path: Path
) -> None:
    client.get("/lang/ur")
    assert _confirm(client, citizen).status_code == 200
    link = _link(client)
    _erase_now(app, clock)
    path = tmp_path / "c.pdf"
    path.write_bytes(app.test_client().get(link + "/certificate.pdf").data)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout  # fmt: skip
    assert URDU_TITLE in text, text


def _cli_instance(settings: Settings, tmp_path: Path) -> dict[str, str]:
    """The command line on the app's instance, with the app's key store."""
    shutil.copy(tmp_path / "keys" / "master.keys", settings.instance / "master.keys")
    return {"AMANAT_INSTANCE": str(settings.instance), "AMANAT_DATABASE_URL": settings.database_url}


@pytest.fixture
def certificates(app: Flask, closing: str, clock: Clock, tmp_path: Path) -> dict[str, Path]:
    _erase_now(app, clock)
    out = {}
    for fmt in ("json", "pdf"):
        out[fmt] = tmp_path / f"deletion.{fmt}"
        out[fmt].write_bytes(app.test_client().get(f"{closing}/certificate.{fmt}").data)
    return out


@pytest.mark.parametrize("fmt", ["json", "pdf"])
def test_verify_deletion_accepts_the_certificate(
    certificates: dict[str, Path], settings: Settings, tmp_path: Path, fmt: str
) -> None:
    env = _cli_instance(settings, tmp_path)
    result = CliRunner().invoke(main, ["verify-deletion", str(certificates[fmt])], env=env)
    assert result.exit_code == 0, result.output
    assert "Genuine deletion certificate" in result.output
    assert "Documents: 1" in result.output


@pytest.mark.parametrize("fmt", ["json", "pdf"])
@pytest.mark.parametrize("where", [0.05, 0.5, 0.95])
def test_verify_deletion_refuses_one_byte_changed(
    certificates: dict[str, Path], settings: Settings, tmp_path: Path, fmt: str, where: float
) -> None:
    data = bytearray(certificates[fmt].read_bytes())
    at = int(len(data) * where)
    data[at] ^= 0x01
    certificates[fmt].write_bytes(bytes(data))
    env = _cli_instance(settings, tmp_path)
    result = CliRunner().invoke(main, ["verify-deletion", str(certificates[fmt])], env=env)
    assert result.exit_code == 1, result.output
    assert "NOT GENUINE" in result.output


def test_after_the_job_amanat_audit_verify_passes(
    app: Flask, closing: str, clock: Clock, settings: Settings, tmp_path: Path
) -> None:
    _erase_now(app, clock)

    sign_tree_head(app.extensions["amanat"])
    env = _cli_instance(settings, tmp_path)
    result = CliRunner().invoke(main, ["audit", "verify"], env=env)
    assert result.exit_code == 0, result.output
    assert "Ledger intact" in result.output, result.output


def test_the_link_secret_stays_out_of_the_access_log(
    app: Flask, closing: str, caplog: pytest.LogCaptureFixture
) -> None:
    secret = closing.split("/")[2]
    with caplog.at_level("INFO", logger="amanat.web.access"):
        app.test_client().get(closing)
        app.test_client().get(closing + "/certificate.pdf")
    paths = [getattr(r, "path", "") for r in caplog.records if r.name == "amanat.web.access"]
    assert paths == ["/erasure/…", "/erasure/…/certificate.pdf"]
    assert secret not in caplog.text


def test_the_bank_sees_its_consent_ended_by_the_erasure(
    app: Flask, client: FlaskClient, citizen: SoftAuthenticator, clock: Clock
) -> None:

    sessions = app.extensions["amanat"].sessions
    with transaction(sessions) as s:
        create_organisation(s, code="BANK", name="Example Bank", now=clock())
        clerk = add_member(s, code="BANK", login="clerk", display_name="Clerk", now=clock())
        passwords.set_password(s, account=clerk, password="a clerk's password", now=clock())
    doc = re.search(r'/vault/([0-9a-f-]{36})"', client.get("/vault").get_data(as_text=True))
    assert doc is not None
    grant = _grant_id(_share(client, citizen, [doc.group(1)]))
    assert _confirm(client, citizen).status_code == 200
    _erase_now(app, clock)
    bank = app.test_client()
    bank.post("/login/password", data={"csrf_token": csrf_of(bank, "/login"), "login": "clerk",
                                       "password": "a clerk's password"})  # fmt: skip
    page = bank.get("/org").get_data(as_text=True)
    assert "Consents ended because the citizen closed their account" in page
    assert grant in page

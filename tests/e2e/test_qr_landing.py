"""The QR landing page verifies the signed fragment in the browser, and works without JavaScript."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pytest

from identity.accounts import create_account
from identity.models import Role
from signing.issuance import IssuanceContext, IssueRequest, issue_certificate, revoke_certificate
from signing.models import IssuedCertificate
from signing.pki import create_department, ensure_pki, load_pki
from signing.status_list import build_status_list, list_uri
from tests.signing.conftest import FIELDS
from tests.signing.test_issuance import _decode_qr
from vault.blobs import FileBlobStore
from vault.service import VaultContext, open_document
from vault.service import VaultContext as Ctx


@pytest.fixture
def scanned(live_server: str, sessions, file_keystore, tmp_path) -> tuple[str, str]:
    """(serial, fragment) of a certificate issued into the live server's database."""
    now = dt.datetime.now(dt.UTC)
    with sessions() as s:
        ensure_pki(s, keystore=file_keystore, now=now)
        material = load_pki(s, keystore=file_keystore, base_url=live_server)
        create_department(
            s,
            keystore=file_keystore,
            material=material,
            code="UNI",
            name="University of the Punjab",
            now=now,
        )
        create_account(
            s, role=Role.CITIZEN, display_name="Ayesha", login="35202-1234567-1", now=now
        )
        s.commit()
    ctx = IssuanceContext(
        keystore=file_keystore,
        material=material,
        vault=VaultContext(keystore=file_keystore, blobs=FileBlobStore(tmp_path / "b")),
    )
    request = IssueRequest.build(
        department="UNI", citizen="35202-1234567-1", type_code="degree", fields=FIELDS["degree"]
    )
    with sessions() as s:
        row = issue_certificate(s, ctx=ctx, request=request, now=now)
        s.commit()
        pdf = open_document(
            s,
            ctx=ctx.vault,
            owner_id=row.holder_id,
            document_id=row.document_id,
            purpose="view",
            now=now,
        ).file.read()
    url = _decode_qr(pdf, tmp_path)
    return row.serial, url.split("#", 1)[1]


def test_fragment_is_verified_in_the_browser(
    live_server: str, browser_context: Any, scanned
) -> None:
    serial, fragment = scanned
    page = browser_context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{live_server}/v/{serial}#{fragment}")
    page.wait_for_selector("#qr-check .qr-result:has-text('genuine')")
    text = page.locator("#qr-check").inner_text()
    assert "matches this certificate" in text
    assert "Ayesha Khan" in text
    assert not any("AM1." in url for url in requests), "the fragment never leaves the device"


def test_altered_fragment_does_not_match(live_server: str, browser_context: Any, scanned) -> None:
    serial, fragment = scanned
    middle = len(fragment) // 2
    altered = fragment[:middle] + ("A" if fragment[middle] != "A" else "B") + fragment[middle + 1 :]
    page = browser_context.new_page()
    page.goto(f"{live_server}/v/{serial}#{altered}")
    page.wait_for_selector("#qr-check .qr-result:has-text('does not match')")


def test_landing_page_shows_the_status_without_javascript(
    live_server: str, chromium: Any, scanned
) -> None:
    serial, fragment = scanned
    context = chromium.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{live_server}/v/{serial}#{fragment}")
        assert "In the register and valid" in page.content()
        assert page.locator("#qr-check").is_hidden()
    finally:
        context.close()


def test_verify_page_upload_in_the_browser(
    live_server: str, browser_context: Any, sessions, file_keystore, tmp_path, scanned
) -> None:
    """A bank clerk uploads the PDF on /verify and reads the plain answer."""

    serial, _fragment = scanned
    with sessions() as s:
        row = s.get(IssuedCertificate, serial)
        ctx_blobs = FileBlobStore(tmp_path / "b")

        pdf = open_document(
            s,
            ctx=Ctx(keystore=file_keystore, blobs=ctx_blobs),
            owner_id=row.holder_id,
            document_id=row.document_id,
            purpose="view",
            now=dt.datetime.now(dt.UTC),
        ).file.read()
    path = tmp_path / "to-check.pdf"
    path.write_bytes(pdf)
    page = browser_context.new_page()
    page.goto(f"{live_server}/verify")
    page.set_input_files("#file", str(path))
    page.click("form[data-verify] button[type=submit]")
    page.wait_for_selector(".verdict.passed")
    assert (
        "Genuine: Degree Certificate issued by University of the Punjab to Ayesha Khan, valid."
        in page.inner_text("main")
    )


def test_the_page_says_how_fresh_the_status_list_is(
    live_server: str, browser_context: Any, scanned
) -> None:
    serial, fragment = scanned
    page = browser_context.new_page()
    page.goto(f"{live_server}/v/{serial}#{fragment}")
    page.wait_for_selector("#qr-check .qr-status:visible")
    assert "Not revoked, according to the signed status list of" in page.inner_text(
        "#qr-check .qr-status"
    )
    assert page.get_attribute("#qr-check", "class") == "verdict passed"


def test_the_page_says_the_status_list_in_urdu(
    live_server: str, browser_context: Any, scanned
) -> None:
    serial, fragment = scanned
    page = browser_context.new_page()
    page.goto(f"{live_server}/lang/ur?next=/verify")
    page.goto(f"{live_server}/v/{serial}#{fragment}")
    page.wait_for_selector("#qr-check .qr-status:visible")
    assert "منسوخ نہیں ہوا" in page.inner_text("#qr-check .qr-status")
    assert "محکمہ" in page.inner_text("#qr-check .qr-claims")


def test_a_revocation_reaches_the_pages_status_list(
    live_server: str, browser_context: Any, scanned, sessions
) -> None:

    serial, fragment = scanned
    with sessions() as s:
        revoke_certificate(s, serial=serial, reason="issued in error", now=dt.datetime.now(dt.UTC))
        s.commit()
    page = browser_context.new_page()
    page.goto(f"{live_server}/v/{serial}#{fragment}")
    page.wait_for_selector("#qr-check .qr-status:visible")
    assert "Revoked, according to the signed status list" in page.inner_text("#qr-check")
    assert page.get_attribute("#qr-check", "class") == "verdict failed"


def test_offline_an_expired_kept_list_says_so(
    live_server: str, browser_context: Any, scanned, sessions, file_keystore
) -> None:
    """Cut off from the site, the page falls back to the list it kept: an expired one is
    reported as expired, never as a verdict."""


    serial, fragment = scanned
    old = dt.datetime.now(dt.UTC) - dt.timedelta(hours=30)
    with sessions() as s:
        material = load_pki(s, keystore=file_keystore, base_url=live_server)
        token = build_status_list(s, material=material, now=old, valid_for=dt.timedelta(days=1))
        kept = base64.b64encode(token.token).decode()
        s.rollback()
    page = browser_context.new_page()
    page.goto(f"{live_server}/verify")
    entry = {"uri": list_uri(live_server), "fetched": 0, "token": kept}
    page.evaluate(f"localStorage.setItem('amanat-status-list', {json.dumps(json.dumps(entry))})")
    page.route("**/api/v1/status-list", lambda route: route.abort())
    page.goto(f"{live_server}/v/{serial}#{fragment}")
    page.wait_for_selector("#qr-check .qr-status:visible")
    assert "has expired" in page.inner_text("#qr-check .qr-status")
    assert page.get_attribute("#qr-check", "class") == "verdict indeterminate"

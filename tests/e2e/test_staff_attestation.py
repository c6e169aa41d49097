"""Staff passkeys in real Chromium: its CDP virtual authenticator answers with *packed*
attestation under its own batch certificate (self-signed, one key for every virtual
authenticator). A test MDS3 blob that lists that certificate as the model's attestation root lets
officers and recovery officers register it; a blob that lists another root for the same AAGUID, or
an allow-list without it, refuses it on the Security page, in the reader's language."""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from fido2.webauthn import AttestationObject
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from amanat.db import transaction
from identity import passwords
from identity.accounts import create_account
from identity.models import Account, Passkey, Role
from tests.e2e.conftest import add_virtual_authenticator, password_sign_in
from tests.identity.mds import listed_root, make_mds, make_model

_CREATE = """async () => {
  const c = await navigator.credentials.create({publicKey: {
    challenge: new Uint8Array(32), rp: {name: "probe", id: "localhost"},
    user: {id: new Uint8Array(8), name: "probe", displayName: "probe"},
    pubKeyCredParams: [{type: "public-key", alg: -7}], attestation: "direct",
    authenticatorSelection: {residentKey: "required", userVerification: "required"}}});
  return btoa(String.fromCharCode(...new Uint8Array(c.response.attestationObject)));
}"""


def _chromium_model(chromium: Any) -> tuple[uuid.UUID, bytes, str]:
    """What Chromium's virtual authenticator attests with: its AAGUID, its batch certificate
    and the attestation format, read from one registration on a page served by the browser
    itself (localhost is a secure context, so WebAuthn runs there without a server)."""
    context = chromium.new_context()
    try:
        context.route("http://localhost/**", lambda r: r.fulfill(body="<p>probe</p>"))
        page = context.new_page()
        page.goto("http://localhost/probe")
        add_virtual_authenticator(page)
        attestation = AttestationObject(base64.b64decode(page.evaluate(_CREATE)))
    finally:
        context.close()
    cred = attestation.auth_data.credential_data
    assert cred is not None
    return uuid.UUID(bytes=bytes(cred.aaguid)), attestation.att_stmt["x5c"][0], attestation.fmt


@pytest.fixture(scope="session")
def chromium_model(chromium: Any) -> tuple[uuid.UUID, bytes, str]:
    return _chromium_model(chromium)


def test_chromiums_virtual_authenticator_attests_packed_under_a_self_signed_batch_certificate(
    chromium_model: tuple[uuid.UUID, bytes, str],
) -> None:
    """The premise of this module: without it, no MDS blob the tests make could list the root."""
    _aaguid, batch_der, fmt = chromium_model
    batch = x509.load_der_x509_certificate(batch_der)
    batch.verify_directly_issued_by(batch)
    assert fmt == "packed"


# Which blob the live server is given: the model Chromium really is, the same AAGUID under a
# root the tests made (a forger's model), or the real model with another AAGUID allowed.
BLOBS = ["listed", "forged_root", "not_allowed"]


@pytest.fixture
def live_overrides(
    request: pytest.FixtureRequest, tmp_path: Path, chromium_model: tuple[uuid.UUID, bytes, str]
) -> dict[str, Any]:

    aaguid, batch_der, _fmt = chromium_model
    which = getattr(request, "param", "listed")
    mds = make_mds()
    root = make_model(aaguid).root_der if which == "forged_root" else batch_der
    (tmp_path / "mds.jwt").write_bytes(mds.blob(listed_root(aaguid, root)))
    pem = x509.load_der_x509_certificate(mds.root_der).public_bytes(serialization.Encoding.PEM)
    (tmp_path / "mds-root.pem").write_bytes(pem)
    allowed = uuid.uuid4() if which == "not_allowed" else aaguid
    return {
        "mds_blob": str(tmp_path / "mds.jwt"),
        "mds_root": str(tmp_path / "mds-root.pem"),
        "staff_aaguids": str(allowed),
    }


def _staff_adds_a_passkey(
    live_server: str, browser_context: Any, sessions: sessionmaker, role: Role, lang: str = "en"
) -> Any:
    now = dt.datetime.now(dt.UTC)
    with transaction(sessions) as s:
        staff = create_account(
            s, role=role, display_name="Officer Sana", login="staff.one", now=now
        )
        passwords.set_password(s, account=staff, password="staff passphrase", now=now)
    page = browser_context.new_page()
    page.goto(f"{live_server}/lang/{lang}?next=/login")
    add_virtual_authenticator(page)
    password_sign_in(page, live_server, "staff.one", "staff passphrase")
    page.goto(live_server + "/security")
    page.click("form[data-webauthn=add] button[type=submit]")
    return page


def _passkeys(sessions: sessionmaker) -> int:
    with sessions() as s:
        staff = s.scalar(select(Account).where(Account.login == "staff.one"))
        assert staff is not None
        return len(s.scalars(select(Passkey).where(Passkey.account_id == staff.id)).all())


@pytest.mark.parametrize("role", [Role.OFFICER, Role.RECOVERY])
def test_staff_register_the_certified_model_in_chromium(
    live_server: str, browser_context: Any, sessions: sessionmaker, role: Role
) -> None:
    page = _staff_adds_a_passkey(live_server, browser_context, sessions, role)
    # The page reloads with the new passkey listed under its default name.
    page.locator("ul.cards input[value='Another device']").wait_for()
    assert _passkeys(sessions) == 1


REFUSALS = {
    ("forged_root", "en"): "could not prove it is a genuine, certified model",
    ("forged_root", "ur"): "تصدیق شدہ",
    ("not_allowed", "en"): "this service has approved",
    ("not_allowed", "ur"): "منظور",
}


@pytest.mark.parametrize(
    ("live_overrides", "lang"),
    [(which, lang) for which in ("forged_root", "not_allowed") for lang in ("en", "ur")],
    indirect=["live_overrides"],
)
def test_a_model_the_blob_does_not_vouch_for_is_refused_in_words(
    live_server: str,
    browser_context: Any,
    sessions: sessionmaker,
    live_overrides: dict[str, Any],
    lang: str,
    request: pytest.FixtureRequest,
) -> None:
    which = request.node.callspec.params["live_overrides"]
    page = _staff_adds_a_passkey(live_server, browser_context, sessions, Role.OFFICER, lang)
    error = page.locator("form[data-webauthn=add] .error")
    error.wait_for(state="visible")
    assert REFUSALS[(which, lang)] in error.inner_text()
    assert _passkeys(sessions) == 0

"""AMANAT_MDS_BLOB, _MDS_ROOT and _STAFF_AAGUIDS make the runtime's relying party demand
attested, allowed authenticators of staff; a half-configured or unreadable setting stops the
start with a clear error."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from amanat.settings import Settings, SettingsError
from identity import passwords
from identity.accounts import create_account
from identity.models import Role
from tests.conftest import TEST_PASSWORD_PROFILE
from tests.identity.mds import AAGUID, make_mds, make_model
from tests.softauthn import SoftAuthenticator
from tests.web.conftest import csrf_of
from tests.web.helpers import post_json
from web.app import create_app
from web.runtime import build_runtime, staff_attestation

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
def listed(tmp_path: Path):
    """(settings values, the model the blob lists)."""
    mds, model = make_mds(), make_model()
    (tmp_path / "blob.jwt").write_bytes(mds.blob(model))
    pem = x509.load_der_x509_certificate(mds.root_der).public_bytes(serialization.Encoding.PEM)
    (tmp_path / "root.pem").write_bytes(pem)
    values = {
        "mds_blob": str(tmp_path / "blob.jwt"),
        "mds_root": str(tmp_path / "root.pem"),
        "staff_aaguids": str(AAGUID),
    }
    return values, model


@pytest.fixture
def files(listed) -> dict[str, str]:
    return dict(listed[0])


def _settings(tmp_path: Path, **values: str) -> Settings:
    return Settings(
        instance=tmp_path, database_url="sqlite:///x.db", password_profile=TEST_PASSWORD_PROFILE,
        **values,
    )  # fmt: skip


def test_the_policy_is_loaded_from_the_settings(tmp_path, files) -> None:
    policy = staff_attestation(_settings(tmp_path, **files), now=NOW)
    assert policy is not None
    assert policy.allowed == frozenset({AAGUID.bytes})


def test_without_a_blob_staff_register_as_citizens_do(tmp_path) -> None:
    assert staff_attestation(_settings(tmp_path), now=NOW) is None


@pytest.mark.parametrize("missing", ["mds_root", "staff_aaguids"])
def test_a_half_configured_policy_stops_the_start(tmp_path, files, missing) -> None:
    files[missing] = ""
    with pytest.raises(SettingsError):
        staff_attestation(_settings(tmp_path, **files), now=NOW)


def test_an_unreadable_blob_stops_the_start(tmp_path, files) -> None:
    files["mds_blob"] = str(tmp_path / "absent.jwt")
    with pytest.raises(SettingsError) as caught:
        staff_attestation(_settings(tmp_path, **files), now=NOW)
    assert "cannot be read" in str(caught.value)


@pytest.fixture
def staff_app(settings, engine, file_keystore, clock, files):

    rt = build_runtime(
        settings.with_overrides(**files), engine=engine, keystore=file_keystore, clock=clock
    )
    yield create_app(runtime_=rt, test_config={"TESTING": True})
    rt.close()


def _officer_adds(staff_app, sessions, clock, key, lang: str = "en", role: str = "officer"):

    with sessions() as s:
        officer = create_account(
            s, role=Role(role), display_name="O", login="registry.officer", now=clock.value
        )
        passwords.set_password(s, account=officer, password="officer passphrase", now=clock.value)
        s.commit()
    client = staff_app.test_client()
    client.set_cookie("lang", lang)
    client.post(
        "/login/password",
        data={
            "csrf_token": csrf_of(client, "/login"),
            "login": "registry.officer",
            "password": "officer passphrase",
        },
    )
    csrf = csrf_of(client, "/security")
    begin = post_json(client, "/security/passkeys/begin", {}, csrf).get_json()
    body = {"token": begin["token"], "credential": key.register(begin["options"])}
    return post_json(client, "/security/passkeys/complete", {**body, "passkey_name": "Key"}, csrf)


def test_an_officer_adds_a_certified_key(staff_app, sessions, clock, listed) -> None:

    model = listed[1]
    key = SoftAuthenticator(aaguid=model.aaguid.bytes, attestation=model.attestation)
    assert _officer_adds(staff_app, sessions, clock, key).status_code == 200


@pytest.mark.parametrize("role", ["officer", "recovery"])
def test_an_officer_with_a_forged_model_is_refused(staff_app, sessions, clock, role) -> None:
    """Recovery officers too: they start recoveries that end in a new passkey for a citizen."""

    forged = make_model()  # the allowed AAGUID, under a root the blob does not list
    key = SoftAuthenticator(aaguid=forged.aaguid.bytes, attestation=forged.attestation)
    res = _officer_adds(staff_app, sessions, clock, key, role=role)
    assert res.status_code >= 400
    assert "genuine, certified model" in res.get_json()["message"]


@pytest.mark.parametrize(("lang", "words"), [("en", "approved"), ("ur", "منظور")])
def test_an_officer_with_a_plain_passkey_is_told_why(staff_app, sessions, clock, lang, words):

    res = _officer_adds(staff_app, sessions, clock, SoftAuthenticator(), lang)
    assert res.status_code >= 400
    assert words in res.get_json()["message"]

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
from tests.identity.mds import AAGUID, make_mds, make_model
from web.runtime import staff_attestation

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    mds, model = make_mds(), make_model()
    (tmp_path / "blob.jwt").write_bytes(mds.blob(model))
    pem = x509.load_der_x509_certificate(mds.root_der).public_bytes(serialization.Encoding.PEM)
    (tmp_path / "root.pem").write_bytes(pem)
    return {
        "mds_blob": str(tmp_path / "blob.jwt"),
        "mds_root": str(tmp_path / "root.pem"),
        "staff_aaguids": str(AAGUID),
    }


def _settings(tmp_path: Path, **values: str) -> Settings:
    return Settings(instance=tmp_path, database_url="sqlite:///x.db", **values)


def test_the_policy_is_loaded_from_the_settings(tmp_path, files) -> None:
    policy = staff_attestation(_settings(tmp_path, **files), now=NOW)
    assert policy is not None and policy.allowed == frozenset({AAGUID.bytes})


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

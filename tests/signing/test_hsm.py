"""A department whose signing key lives in a PKCS#11 token (SoftHSM2) issues valid B-LTA PDFs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pkcs11
import pytest
from pkcs11 import Attribute, ObjectClass

from identity.accounts import create_account
from identity.models import Role
from keys import pki
from keys.pkcs11 import Pkcs11KeyStore
from keys.stores import FileKeyStore
from signing import pades
from signing.errors import InvalidRequest
from signing.issuance import IssuanceContext, IssueRequest, issue_certificate
from signing.models import DepartmentCert, PkiKey
from signing.pki import create_department, ensure_pki, load_pki, revoke_department_key
from tests.signing.conftest import CNIC, FIELDS
from tests.signing.test_issuance import _decode_qr
from vault.blobs import FileBlobStore
from vault.service import VaultContext, open_document


@pytest.fixture
def hsm_env(sessions, softhsm, tmp_path: Path):
    store = Pkcs11KeyStore(
        module=softhsm["module"], token_label=softhsm["token"], pin=softhsm["pin"]
    )
    store.ensure_key()
    now = dt.datetime.now(dt.UTC)
    with sessions() as s:
        ensure_pki(s, keystore=store, now=now)
        material = load_pki(s, keystore=store, base_url="http://localhost:8000")
        create_department(
            s,
            keystore=store,
            material=material,
            code="HSM",
            name="Registry (HSM)",
            now=now,
            hsm=True,
        )
        create_account(s, role=Role.CITIZEN, display_name="Ayesha", login=CNIC, now=now)
        s.commit()
    ctx = IssuanceContext(
        keystore=store,
        material=material,
        vault=VaultContext(keystore=store, blobs=FileBlobStore(tmp_path / "b")),
    )
    return store, ctx, now, softhsm


def test_hsm_department_issues_blta_that_validates(sessions, hsm_env, tmp_path) -> None:
    _store, ctx, now, hsm = hsm_env
    request = IssueRequest.build(
        department="HSM", citizen=CNIC, type_code="birth", fields=FIELDS["birth"]
    )
    with sessions() as s:
        row = issue_certificate(s, ctx=ctx, request=request, now=now)
        s.commit()
        data = open_document(
            s,
            ctx=ctx.vault,
            owner_id=row.holder_id,
            document_id=row.document_id,
            purpose="view",
            now=now,
        ).file.read()
        key_row = s.get(PkiKey, s.get(DepartmentCert, row.department_cert_id).key_id)
    assert key_row.storage == "pkcs11"
    assert key_row.wrapped_key is None
    root = pki.cert_der(ctx.material.root_cert)
    assert pades.lta_validation(data, root=root) == "OK"
    assert f"/v/{row.serial}#AM1." in _decode_qr(data, tmp_path)
    token = pkcs11.lib(hsm["module"]).get_token(token_label=hsm["token"])
    with token.open() as session:
        private = session.get_key(
            object_class=ObjectClass.PRIVATE_KEY, label=key_row.ciphertext.decode()
        )
        assert private[Attribute.SENSITIVE] is True
        assert private[Attribute.EXTRACTABLE] is False


def test_key_rollover_keeps_the_key_in_the_token(sessions, hsm_env) -> None:
    store, ctx, now, _hsm = hsm_env
    with sessions() as s:
        new = revoke_department_key(s, keystore=store, material=ctx.material, code="HSM", now=now)
        s.commit()
        assert s.get(PkiKey, new.key_id).storage == "pkcs11"


def test_hsm_flag_without_a_token_is_a_clear_error(sessions, tmp_path) -> None:
    store = FileKeyStore.create(tmp_path / "k")
    now = dt.datetime.now(dt.UTC)
    with sessions() as s:
        ensure_pki(s, keystore=store, now=now)
        material = load_pki(s, keystore=store, base_url="http://localhost:8000")
        with pytest.raises(InvalidRequest, match="AMANAT_KEYSTORE=pkcs11"):
            create_department(
                s, keystore=store, material=material, code="X1", name="X", now=now, hsm=True
            )

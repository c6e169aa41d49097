"""Fixtures for issuance: the deployment PKI, a department, a citizen, an issuance context."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from identity.accounts import create_account
from identity.models import Role
from keys.stores import FileKeyStore
from signing.issuance import IssuanceContext, IssueRequest, issue_certificate
from signing.models import IssuedCertificate
from signing.pki import create_department, ensure_pki, load_pki
from vault.blobs import FileBlobStore
from vault.service import VaultContext, open_document

CNIC = "35202-1234567-1"
FIELDS = {
    "birth": {
        "name": "Ayesha Khan",
        "name:ur": "عائشہ خان",
        "father_name": "Imran Khan",
        "date_of_birth": "2001-03-14",
        "place_of_birth": "Lahore",
        "gender": "female",
    },
    "degree": {
        "name": "Ayesha Khan",
        "name:ur": "عائشہ خان",
        "degree": "BSc Computer Science",
        "year": "2024",
        "grade": "A",
    },
    "domicile": {
        "name": "Ayesha Khan",
        "father_name": "Imran Khan",
        "district": "Lahore",
        "address": "House 12, Street 4, Model Town, Lahore",
    },
}


@dataclass
class Env:
    sessions: sessionmaker[Session]
    ctx: IssuanceContext
    citizen_id: int
    now: dt.datetime

    def issue(
        self, type_code: str = "degree", *, level: str = "B-LTA", department: str = "UNI"
    ) -> IssuedCertificate:
        request = IssueRequest.build(
            department=department,
            citizen=CNIC,
            type_code=type_code,
            fields=FIELDS[type_code],
            level=level,
        )
        with self.sessions() as s:
            row = issue_certificate(s, ctx=self.ctx, request=request, now=self.now)
            s.commit()
            return row

    def pdf(self, row: IssuedCertificate) -> bytes:

        with self.sessions() as s:
            opened = open_document(
                s,
                ctx=self.ctx.vault,
                owner_id=row.holder_id,
                document_id=row.document_id,
                purpose="download",
                now=self.now,
            )
            return opened.file.read()


@pytest.fixture
def env(sessions: sessionmaker[Session], file_keystore: FileKeyStore, tmp_path: Path) -> Env:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with sessions() as s:
        ensure_pki(s, keystore=file_keystore, now=now, base_url="http://localhost:8000")
        material = load_pki(s, keystore=file_keystore, base_url="http://localhost:8000")
        create_department(
            s,
            keystore=file_keystore,
            material=material,
            code="UNI",
            name="University of the Punjab",
            name_ur="جامعہ پنجاب",
            now=now,
        )
        citizen = create_account(
            s, role=Role.CITIZEN, display_name="Ayesha Khan", login=CNIC, now=now
        )
        s.commit()
        citizen_id = citizen.id
    ctx = IssuanceContext(
        keystore=file_keystore,
        material=material,
        vault=VaultContext(keystore=file_keystore, blobs=FileBlobStore(tmp_path / "blobs")),
    )
    return Env(sessions=sessions, ctx=ctx, citizen_id=citizen_id, now=now)

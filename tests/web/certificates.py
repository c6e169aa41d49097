"""A certificate issued through the app's own issuance context, for the web tests."""

from __future__ import annotations

import datetime as dt

from signing.issuance import IssueRequest, issue_certificate
from signing.pki import create_department, ensure_pki, load_pki
from tests.signing.conftest import FIELDS
from tests.web.helpers import register
from vault.service import open_document


def issue_degree(app, client, sessions, file_keystore, clock):
    """A registered citizen with a B-LTA degree certificate from 'UNI': (row, PDF)."""
    clock.value = dt.datetime.now(dt.UTC)
    register(client, cnic="35202-1234567-1")
    return issue_degree_to(app, sessions, file_keystore, clock, cnic="35202-1234567-1")


def issue_degree_to(app, sessions, file_keystore, clock, *, cnic: str):
    """A B-LTA degree certificate from 'UNI' for a citizen already registered, at the clock's
    time (which stays where it is, so the citizen stays signed in): (row, PDF)."""
    now = clock.value
    with sessions() as s:
        ensure_pki(s, keystore=file_keystore, now=now)
        material = load_pki(s, keystore=file_keystore, base_url="http://localhost:8000")
        create_department(
            s,
            keystore=file_keystore,
            material=material,
            code="UNI",
            name="University of the Punjab",
            now=now,
        )
        s.commit()
    ctx = app.extensions["amanat"].issuance()
    request = IssueRequest.build(
        department="UNI", citizen=cnic, type_code="degree", fields=FIELDS["degree"]
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
    return row, pdf

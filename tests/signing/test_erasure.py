"""Closing an account (both databases): nothing of the citizen is left — no blob, data key, owner
key, consent, passkey or account — the ledger still verifies and names nobody, the register
keeps the department's record, and the deletion certificate is refused when one byte changes."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import os
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select, update

from amanat.db import transaction
from audit import EventTag, merkle
from audit.ledger import inclusion_proofs, latest_tree_head, publish_tree_head, verify_ledger
from audit.models import AuditEvent, AuditTreeHead
from identity.models import Account, AuthSession, Passkey, RecoveryCode, Role
from identity.organisations import create_organisation
from identity.recovery import generate_codes
from identity.sessions import start_session
from signing.erasure import (
    CANCELLED,
    ERASED,
    PENDING,
    DeletionCertificateInvalid,
    ErasureRefused,
    action_terms,
    cancel_erasure,
    carry_out,
    certificate_file,
    due_erasures,
    erase_account,
    erasure_by_token,
    read_deletion_certificate,
    request_erasure,
)
from signing.models import (
    Application,
    ApplicationStep,
    Dispute,
    DisputeStep,
    Erasure,
    IssuedCertificate,
)
from tests.signing.conftest import CNIC, Env
from tests.vault.test_shares import _grant, _passkey
from vault.models import Document, DocumentVersion, Grant, NoticePrefs, OwnerKey
from vault.notices import NoticeSettings, set_notice_settings
from vault.service import store_document
from vault.uploads import DocumentKind, Upload

DAY = dt.timedelta(days=1)
SERVICE = "http://localhost:8000"
ERASED_TABLES = (Document, DocumentVersion, OwnerKey, Grant, NoticePrefs, Passkey, AuthSession,
                 RecoveryCode)  # fmt: skip


def _upload(env: Env, title: str) -> None:
    with transaction(env.sessions) as s:
        store_document(
            s, ctx=env.ctx.vault, owner_id=env.citizen_id,
            upload=Upload(filename="d.pdf", media_type="application/pdf", title=title,
                          kind=DocumentKind.DEGREE),
            src=io.BytesIO(b"%PDF-1.7\n" + os.urandom(3000)), max_bytes=10**7, now=env.now,
        )  # fmt: skip


@pytest.fixture
def full(env: Env) -> Env:
    """A citizen with two uploads, an issued certificate, a consent to a bank, contact details,
    a session and recovery codes."""
    _upload(env, "Ayesha's medical report")
    _upload(env, "Rent agreement")
    env.issue("degree", level="B-B")
    with transaction(env.sessions) as s:
        create_organisation(s, code="BANK", name="Example Bank", now=env.now)
    auth = _passkey(env.sessions, env.citizen_id, env.now)
    with env.sessions() as s:
        docs = list(s.scalars(select(Document.id).where(Document.owner_id == env.citizen_id)))
    _grant(env.sessions, env.citizen_id, auth, docs[:1], env.now)
    with transaction(env.sessions) as s:
        account = s.get(Account, env.citizen_id)
        start_session(s, account=account, method="passkey", user_agent="test", now=env.now)
        generate_codes(s, account=account, now=env.now)
        wanted = NoticeSettings(by_email=True, by_sms=False, email="ayesha@example.org",
                                phone="", topics=["access"], language="ur")  # fmt: skip
        set_notice_settings(s, ctx=env.ctx.vault, account_id=env.citizen_id, wanted=wanted,
                            now=env.now)  # fmt: skip
        publish_tree_head(s, keystore=env.ctx.keystore, now=env.now)
    return env


def _request(env: Env, *, at: dt.datetime | None = None) -> str:
    with transaction(env.sessions) as s:
        account = s.get(Account, env.citizen_id)
        started = request_erasure(s, ctx=env.ctx.vault, account=account, language="ur",
                                  now=at or env.now)  # fmt: skip
        return started.token


def _erase(env: Env, token: str, at: dt.datetime) -> Erasure | None:
    with transaction(env.sessions) as s:
        row = erasure_by_token(s, token=token)
        assert row is not None
        done = erase_account(s, ctx=env.ctx.vault, erasure_id=row.id, service=SERVICE, now=at)
        publish_tree_head(s, keystore=env.ctx.keystore, now=at)
        return done


def _rows(env: Env, model: object) -> int:
    with env.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize("model", ERASED_TABLES, ids=lambda m: m.__tablename__)
def test_after_erasure_no_row_of_the_citizen_remains(full: Env, model: type) -> None:
    assert _rows(full, model) > 0
    _erase(full, _request(full), full.now + 15 * DAY)
    assert _rows(full, model) == 0


def test_after_erasure_no_blob_remains(full: Env) -> None:
    assert list(full.ctx.vault.blobs.ids())
    _erase(full, _request(full), full.now + 15 * DAY)
    assert list(full.ctx.vault.blobs.ids()) == []


def test_after_erasure_the_account_is_gone(full: Env) -> None:
    _erase(full, _request(full), full.now + 15 * DAY)
    with full.sessions() as s:
        assert s.scalar(select(Account).where(Account.login == CNIC)) is None


def test_after_erasure_the_ledger_verifies(full: Env) -> None:
    _erase(full, _request(full), full.now + 15 * DAY)
    with full.sessions() as s:
        report = verify_ledger(s, keystore=full.ctx.keystore)
    assert report.intact, report.problem


def test_after_erasure_no_event_names_the_citizen(full: Env) -> None:
    token = _request(full)
    _erase(full, token, full.now + 15 * DAY)
    with full.sessions() as s:
        events = s.scalars(select(AuditEvent)).all()
    me = f"account:{full.citizen_id}"
    named = [e for e in events if e.subject_id == full.citizen_id or e.actor == me
             or "Ayesha" in json.dumps(e.details)]  # fmt: skip
    assert named == []


def test_the_department_register_stays_without_the_account(full: Env) -> None:
    _erase(full, _request(full), full.now + 15 * DAY)
    with full.sessions() as s:
        (row,) = s.scalars(select(IssuedCertificate)).all()
    assert (row.holder_id, row.document_id, row.holder_name) == (None, None, "Ayesha Khan")


def test_the_organisation_is_told_its_consent_ended(full: Env) -> None:
    _erase(full, _request(full), full.now + 15 * DAY)
    with full.sessions() as s:
        told = s.scalars(select(AuditEvent).where(
            AuditEvent.tag == EventTag.CONSENT_WITHDRAWN.value,
            AuditEvent.object_type == "organisation")).all()  # fmt: skip
    assert [(e.object_id, e.details["reason"]) for e in told] == [("BANK", "account_erased")]


def _proves(proof: dict[str, Any], head: AuditTreeHead) -> bool:
    leaf = (base64.b64decode(proof["leaf_hash"]) if proof["entry"] is None
            else merkle.leaf_hash(base64.b64decode(proof["entry"])))  # fmt: skip
    path = [base64.b64decode(p) for p in proof["path"]]
    return merkle.verify_inclusion(leaf=leaf, index=proof["leaf_index"], size=head.tree_size,
                                   path=path, root=head.root_hash)  # fmt: skip


def test_every_event_keeps_its_proof_wiped_or_not(full: Env) -> None:
    _erase(full, _request(full), full.now + 15 * DAY)
    with full.sessions() as s:
        head = latest_tree_head(s)
        assert head is not None
        proofs = inclusion_proofs(s, seqs=list(range(1, head.tree_size + 1)), head=head)
    assert any(p["entry"] is None for p in proofs)
    assert all(_proves(p, head) for p in proofs)


def test_erasure_before_its_day_does_nothing(full: Env) -> None:
    row = _erase(full, _request(full), full.now + 13 * DAY)
    assert row is not None
    assert row.status == PENDING
    assert _rows(full, Account) == 1


def test_a_cancelled_erasure_is_never_carried_out(full: Env) -> None:
    token = _request(full)
    with transaction(full.sessions) as s:
        cancel_erasure(s, account_id=full.citizen_id, now=full.now + DAY)
    row = _erase(full, token, full.now + 30 * DAY)
    assert row is not None
    assert row.status == CANCELLED
    assert _rows(full, Document) == 3  # two uploads and the issued certificate


def test_due_erasures_lists_only_those_past_their_grace(full: Env) -> None:
    _request(full)
    with full.sessions() as s:
        assert due_erasures(s, now=full.now + 13 * DAY) == []
        assert len(due_erasures(s, now=full.now + 14 * DAY)) == 1


def test_erasure_is_idempotent(full: Env) -> None:
    token = _request(full)
    first = _erase(full, token, full.now + 15 * DAY)
    assert first is not None
    second = _erase(full, token, full.now + 16 * DAY)
    assert second is not None
    assert (second.status, second.erased_at) == (ERASED, first.erased_at)


@pytest.mark.parametrize(
    ("prepare", "code"),
    [("twice", "erasure_already_requested"), ("staff", "erasure_citizens_only")],
)
def test_requests_that_are_refused(full: Env, prepare: str, code: str) -> None:
    if prepare == "twice":
        _request(full)
    else:
        with transaction(full.sessions) as s:
            s.execute(update(Account).values(role=Role.OFFICER.value))
    with pytest.raises(ErasureRefused) as caught:
        _request(full)
    assert caught.value.code == code


def test_cancel_without_a_request_is_refused(full: Env) -> None:
    with transaction(full.sessions) as s, pytest.raises(ErasureRefused) as caught:
        cancel_erasure(s, account_id=full.citizen_id, now=full.now)
    assert caught.value.code == "erasure_not_requested"


def _certificate(env: Env) -> bytes:
    row = _erase(env, _request(env), env.now + 15 * DAY)
    assert row is not None
    assert row.certificate is not None
    return certificate_file(row.certificate)


def test_the_deletion_certificate_verifies_and_counts(full: Env) -> None:
    data = _certificate(full)
    with full.sessions() as s:
        found = read_deletion_certificate(s, keystore=full.ctx.keystore, data=data)
    counted = {k: found.erased[k] for k in ("documents", "data_keys", "owner_keys", "consents")}
    assert counted == {"documents": 3, "data_keys": 3, "owner_keys": 1, "consents": 1}
    assert found.kept["register_entries"] == 1


def test_the_certificate_names_its_holder_only_with_the_link(full: Env) -> None:
    token = _request(full)
    row = _erase(full, token, full.now + 15 * DAY)
    assert row is not None
    assert row.certificate is not None
    with full.sessions() as s:
        found = read_deletion_certificate(s, keystore=full.ctx.keystore,
                                          data=certificate_file(row.certificate))  # fmt: skip
    assert found.names(token=token, cnic=CNIC)
    assert not found.names(token=token, cnic="35202-7654321-1")
    assert CNIC not in json.dumps(row.certificate)


@pytest.mark.parametrize("where", [0.1, 0.3, 0.5, 0.7, 0.9, 0.999])
def test_a_certificate_with_one_byte_changed_is_refused(full: Env, where: float) -> None:
    data = bytearray(_certificate(full))
    at = int(len(data) * where)
    data[at] = (data[at] + 1) % 256 if data[at] != 0x20 else 0x09
    with full.sessions() as s, pytest.raises(DeletionCertificateInvalid):
        read_deletion_certificate(s, keystore=full.ctx.keystore, data=bytes(data))


def test_applications_and_disputes_go_with_the_account(full: Env) -> None:


    at = full.now
    with transaction(full.sessions) as s:
        app_id, case_id = uuid.uuid4(), uuid.uuid4()
        s.add(Application(id=app_id, department_code="UNI", type_code="degree",
                          citizen_id=full.citizen_id, fields={"name": "Ayesha"}, status="submitted",
                          grant_ids=[], created_at=at, updated_at=at))  # fmt: skip
        s.add(Dispute(id=case_id, citizen_id=full.citizen_id, event_seq=1, party_kind="service",
                      status="open",
                      access={"tag": "x"}, created_at=at, updated_at=at))  # fmt: skip
        s.flush()
        s.add(ApplicationStep(application_id=app_id, at=at, actor="you", kind="submitted"))
        s.add(DisputeStep(dispute_id=case_id, at=at, side="citizen", actor="you", kind="opened",
                          note="I did not expect this"))  # fmt: skip
    row = _erase(full, _request(full), full.now + 15 * DAY)
    assert row is not None
    assert row.certificate is not None
    erased = row.certificate["certificate"]["erased"]
    assert (erased["applications"], erased["disputes"]) == (1, 1)
    assert [_rows(full, m) for m in (Application, ApplicationStep, Dispute, DisputeStep)] == [0] * 4


@pytest.mark.parametrize(
    "confirmed",
    [{"action": "close_account", "account": 999}, {"action": "erase_everyone", "account": None}],
    ids=["another-account", "unknown-action"],
)
def test_a_confirmation_not_for_this_account_does_nothing(full: Env, confirmed: dict) -> None:

    with transaction(full.sessions) as s, pytest.raises(ErasureRefused):
        carry_out(s, ctx=full.ctx.vault, account=s.get(Account, full.citizen_id),
                  confirmed=confirmed, language="en", grace=DAY, now=full.now)  # fmt: skip
    assert _rows(full, Erasure) == 0


def test_the_confirmed_action_follows_the_state(full: Env) -> None:

    kinds = []
    for _ in range(2):
        with transaction(full.sessions) as s:
            terms, _challenge = action_terms(s, account_id=full.citizen_id)
            row = carry_out(s, ctx=full.ctx.vault, account=s.get(Account, full.citizen_id),
                            confirmed=terms, language="en", grace=DAY, now=full.now)  # fmt: skip
            kinds.append((terms["action"], row.status))
    assert kinds == [("close_account", PENDING), ("cancel_erasure", CANCELLED)]

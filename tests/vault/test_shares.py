"""Sharing under consent (both databases): passkey-confirmed grants, access, expiry, refusals."""

from __future__ import annotations

import datetime as dt
import io
import os
import uuid

import pytest
from sqlalchemy import select

from amanat.db import transaction
from audit.ledger import verify_statement
from audit.models import AuditEvent
from audit.tally import counts, day_of
from identity.ceremonies import consume_ceremony
from identity.errors import ApiKeyRejected, PasskeyRejected
from identity.models import Account
from identity.organisations import (
    authenticate_api_key,
    create_api_key,
    create_organisation,
    revoke_api_key,
)
from identity.passkeys import (
    finish_adding_passkey,
    finish_confirmation,
    start_adding_passkey,
    start_confirmation,
)
from identity.webauthn import RelyingParty
from tests.softauthn import SoftAuthenticator
from vault.errors import InvalidShare, ShareRefused
from vault.service import store_document
from vault.shares import (
    REFUSALS_PER_GRANT_A_DAY,
    GrantState,
    Recipient,
    check_grant_evidence,
    consent_receipt,
    create_grant,
    fetch_shared_document,
    grant_state,
    list_grants,
    prepare_grant,
    record_refusal,
    settle_ended,
    withdraw_grant,
)
from vault.uploads import DocumentKind, Upload

RP = RelyingParty(id="localhost", name="Amanat", origin="http://localhost:8000")
BANK = Recipient(actor="organisation:BANK", organisation_code="BANK")


def _passkey(sessions, account_id: int, now: dt.datetime) -> SoftAuthenticator:
    auth = SoftAuthenticator()
    with transaction(sessions) as s:
        account = s.get(Account, account_id)
        started = start_adding_passkey(s, rp=RP, account=account, now=now)
        ceremony = consume_ceremony(s, token=started.token, kind="add-passkey", now=now)
        finish_adding_passkey(
            s,
            rp=RP,
            ceremony=ceremony,
            account=account,
            response=auth.register(started.options),
            passkey_name="Phone",
            now=now,
        )
    return auth


def _document(sessions, ctx, owner: int, now, title: str, data: bytes) -> uuid.UUID:
    with transaction(sessions) as s:
        doc = store_document(
            s,
            ctx=ctx,
            owner_id=owner,
            upload=Upload(
                filename="d.pdf",
                media_type="application/pdf",
                title=title,
                kind=DocumentKind.DEGREE,
            ),
            src=io.BytesIO(data),
            max_bytes=10_000_000,
            now=now,
        )
        return doc.id


@pytest.fixture
def bank(sessions, now) -> str:
    with transaction(sessions) as s:
        create_organisation(s, code="BANK", name="Example Bank", now=now)
        create_organisation(s, code="OTHER", name="Other Employer", name_ur="دوسرا آجر", now=now)
        return create_api_key(s, code="BANK", label="loans", scopes=["shares:read"], now=now).token


@pytest.fixture
def setup(sessions, ctx, owner, now, bank):
    auth = _passkey(sessions, owner, now)
    degree = b"%PDF-1.7\n" + os.urandom(5000)
    domicile = b"%PDF-1.7\n" + os.urandom(7000)
    ids = [
        _document(sessions, ctx, owner, now, "Degree certificate", degree),
        _document(sessions, ctx, owner, now, "Domicile certificate", domicile),
    ]
    return auth, ids, {ids[0]: degree, ids[1]: domicile}


def _grant(sessions, owner, auth, ids, now, *, org="BANK", days=30, max_fetches=None, tamper=None):
    with transaction(sessions) as s:
        pending = prepare_grant(
            s,
            owner_id=owner,
            document_ids=ids,
            purpose="loan application",
            days=days,
            organisation_code=org,
            max_fetches=max_fetches,
            now=now,
        )
        started = start_confirmation(
            s,
            rp=RP,
            account=s.get(Account, owner),
            challenge=pending.challenge,
            payload=pending.terms,
            now=now,
        )
    response = auth.assert_(started.options)
    if tamper:
        tamper(response)
    with transaction(sessions) as s:
        ceremony = consume_ceremony(s, token=started.token, kind="confirm", now=now)
        confirmation = finish_confirmation(
            s, rp=RP, ceremony=ceremony, account=s.get(Account, owner), response=response, now=now
        )
        created = create_grant(s, owner_id=owner, confirmation=confirmation, now=now)
        return created.grant.id, created.link_secret


def _fetch(sessions, ctx, grant_id, doc_id, now, recipient=BANK) -> bytes:
    """As the web does it: a refusal rolls the request back and is logged on its own."""
    try:
        return _fetch_once(sessions, ctx, grant_id, doc_id, now, recipient)
    except ShareRefused as refused:
        with transaction(sessions) as s:
            record_refusal(
                s,
                grant_id=grant_id,
                actor=recipient.actor,
                reason=refused.reason,
                now=now,
                document_id=doc_id,
            )
        raise


def _fetch_once(sessions, ctx, grant_id, doc_id, now, recipient) -> bytes:
    with transaction(sessions) as s:
        opened = fetch_shared_document(
            s, ctx=ctx, grant_id=grant_id, document_id=doc_id, recipient=recipient, now=now
        )
        with opened.file:
            return opened.file.read()


def _tags(sessions, owner) -> list[str]:
    with sessions() as s:
        return list(
            s.scalars(
                select(AuditEvent.tag)
                .where(AuditEvent.subject_id == owner)
                .order_by(AuditEvent.seq)
            )
        )


def test_organisation_fetches_shared_documents_byte_identical(
    sessions, ctx, owner, now, setup
) -> None:
    auth, ids, data = setup
    grant_id, secret = _grant(sessions, owner, auth, ids, now)
    assert secret is None
    for doc_id in ids:
        assert _fetch(sessions, ctx, grant_id, doc_id, now) == data[doc_id]
    tags = _tags(sessions, owner)
    assert tags.count("consent:granted") == 1
    assert tags.count("consent:used") == 2


@pytest.mark.parametrize(("org", "name_ur"), [("OTHER", "دوسرا آجر"), ("BANK", None)])
def test_the_terms_and_the_ledger_carry_the_recipients_urdu_name(
    sessions, owner, now, setup, org: str, name_ur: str | None
) -> None:
    """What an Urdu reader confirmed names the recipient in Urdu, and so does her activity."""
    auth, ids, _ = setup
    _grant(sessions, owner, auth, ids, now, org=org)
    with sessions() as s:
        (grant,) = list_grants(s, owner_id=owner, now=now)
        granted = s.scalars(
            select(AuditEvent).where(AuditEvent.tag == "consent:granted")
        ).one()
    assert grant.terms["recipient"].get("name_ur") == name_ur
    assert granted.details.get("recipient_ur") == name_ur
    assert granted.details["recipient_type"] == "organisation"


def test_grant_keeps_evidence_that_rechecks(sessions, owner, now, setup) -> None:
    auth, ids, _ = setup
    _grant(sessions, owner, auth, ids, now)
    with sessions() as s:
        (grant,) = list_grants(s, owner_id=owner, now=now)
        assert check_grant_evidence(grant, rp=RP)
        grant.terms = {**grant.terms, "purpose": "anything at all"}
        assert not check_grant_evidence(grant, rp=RP)


def test_tampered_consent_assertion_is_refused(sessions, owner, now, setup) -> None:
    auth, ids, _ = setup

    def flip(response):
        sig = bytearray(response["response"]["signature"].encode())
        sig[10] = ord("A") if sig[10] != ord("A") else ord("B")
        response["response"]["signature"] = sig.decode()

    with pytest.raises(PasskeyRejected):
        _grant(sessions, owner, auth, ids, now, tamper=flip)
    with sessions() as s:
        assert list_grants(s, owner_id=owner, now=now) == []


def test_another_citizens_passkey_cannot_confirm(sessions, owner, other, now, setup) -> None:
    auth, ids, _ = setup
    other_auth = _passkey(sessions, other, now)
    other_auth.user_handle = auth.user_handle
    with pytest.raises(PasskeyRejected):
        _grant(sessions, owner, other_auth, ids, now)


def test_expired_by_time(sessions, ctx, owner, now, setup) -> None:
    auth, ids, _ = setup
    grant_id, _ = _grant(sessions, owner, auth, ids, now, days=30)
    later = now + dt.timedelta(days=30)
    with pytest.raises(ShareRefused) as info:
        _fetch(sessions, ctx, grant_id, ids[0], later)
    assert info.value.reason == "expired"
    assert info.value.status == 403
    assert _tags(sessions, owner).count("consent:expired") == 1


def test_expired_by_fetch_count(sessions, ctx, owner, now, setup) -> None:
    auth, ids, _ = setup
    grant_id, _ = _grant(sessions, owner, auth, ids, now, max_fetches=2)
    _fetch(sessions, ctx, grant_id, ids[0], now)
    _fetch(sessions, ctx, grant_id, ids[1], now)
    with pytest.raises(ShareRefused) as info:
        _fetch(sessions, ctx, grant_id, ids[0], now)
    assert info.value.reason == "exhausted"


def test_documents_of_someone_else_are_refused_at_creation(
    sessions, ctx, owner, other, now, setup
) -> None:
    _, ids, _ = setup
    theirs = _document(sessions, ctx, other, now, "Their land record", b"%PDF-1.7\nx")
    with sessions() as s, pytest.raises(ShareRefused) as info:
        prepare_grant(
            s,
            owner_id=owner,
            document_ids=[ids[0], theirs],
            purpose="loan",
            days=5,
            organisation_code="BANK",
            now=now,
        )
    assert info.value.reason == "not-owner"


@pytest.mark.parametrize(
    "days,max_fetches,purpose",
    [(0, None, "loan"), (400, None, "loan"), (5, 0, "loan"), (5, None, "x")],
)
def test_bad_terms_are_refused(sessions, owner, now, setup, days, max_fetches, purpose) -> None:
    _, ids, _ = setup
    with sessions() as s, pytest.raises(InvalidShare):
        prepare_grant(
            s,
            owner_id=owner,
            document_ids=ids,
            purpose=purpose,
            days=days,
            max_fetches=max_fetches,
            organisation_code="BANK",
            now=now,
        )


def test_withdrawn_grant_refuses_the_next_fetch(sessions, ctx, owner, now, setup) -> None:
    auth, ids, _ = setup
    grant_id, _ = _grant(sessions, owner, auth, ids, now)
    _fetch(sessions, ctx, grant_id, ids[0], now)
    with transaction(sessions) as s:
        withdraw_grant(s, owner_id=owner, grant_id=grant_id, now=now)
    with pytest.raises(ShareRefused) as info:
        _fetch(sessions, ctx, grant_id, ids[0], now)
    assert info.value.reason == "withdrawn"
    with sessions() as s:
        (grant,) = list_grants(s, owner_id=owner, now=now)
        assert grant_state(grant, now) is GrantState.WITHDRAWN


def test_another_organisation_sees_no_such_grant(sessions, ctx, owner, now, setup) -> None:
    auth, ids, _ = setup
    grant_id, _ = _grant(sessions, owner, auth, ids, now)
    other = Recipient(actor="organisation:OTHER", organisation_code="OTHER")
    with pytest.raises(ShareRefused) as info:
        _fetch(sessions, ctx, grant_id, ids[0], now, recipient=other)
    assert info.value.status == 404
    assert info.value.reason == "other-recipient"


def test_document_outside_the_grant_is_refused(sessions, ctx, owner, now, setup) -> None:
    auth, ids, _ = setup
    grant_id, _ = _grant(sessions, owner, auth, ids[:1], now)
    with pytest.raises(ShareRefused) as info:
        _fetch(sessions, ctx, grant_id, ids[1], now)
    assert info.value.reason == "out-of-scope"


def test_link_share_needs_the_exact_secret(sessions, ctx, owner, now, setup) -> None:
    auth, ids, data = setup
    grant_id, secret = _grant(sessions, owner, auth, ids, now, org=None)
    assert secret
    link = Recipient(actor="link", link_secret=secret)
    assert _fetch(sessions, ctx, grant_id, ids[0], now, recipient=link) == data[ids[0]]
    off_by_one = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    with pytest.raises(ShareRefused) as info:
        _fetch(
            sessions,
            ctx,
            grant_id,
            ids[0],
            now,
            recipient=Recipient(actor="link", link_secret=off_by_one),
        )
    assert info.value.reason == "bad-link-secret"
    assert info.value.status == 404
    with pytest.raises(ShareRefused):
        _fetch(sessions, ctx, grant_id, ids[0], now, recipient=BANK)


def test_refusals_are_written_for_the_citizen(sessions, owner, now, setup) -> None:
    auth, ids, _ = setup
    grant_id, _ = _grant(sessions, owner, auth, ids, now)
    with transaction(sessions) as s:
        record_refusal(
            s, grant_id=grant_id, actor="organisation:OTHER", reason="other-recipient", now=now
        )
        record_refusal(
            s, grant_id=uuid.uuid4(), actor="api-key:unknown", reason="unknown-grant", now=now
        )
    assert _tags(sessions, owner).count("consent:access-refused") == 1


def test_every_refused_fetch_is_counted_for_the_citizen(sessions, ctx, owner, now, setup) -> None:
    """The first refusal of the day is an event; the second raises its count (audit.tally)."""

    auth, ids, _ = setup
    grant_id, _ = _grant(sessions, owner, auth, ids, now)
    with transaction(sessions) as s:
        withdraw_grant(s, owner_id=owner, grant_id=grant_id, now=now)
    for _ in range(2):
        with pytest.raises(ShareRefused):
            _fetch(sessions, ctx, grant_id, ids[0], now)
    assert _tags(sessions, owner).count("consent:access-refused") == 1
    with sessions() as s:
        event = s.scalars(
            select(AuditEvent).where(AuditEvent.tag == "consent:access-refused")
        ).one()
        key = event.details["tally"]
        assert counts(s, wanted=[(key, day_of(now))]) == {(key, day_of(now)): 2}


def test_a_stranger_cannot_fill_the_ledger_with_refusals(sessions, owner, now, setup) -> None:
    """Varying the claimed API key id gives at most REFUSALS_PER_GRANT_A_DAY events a day."""

    auth, ids, _ = setup
    grant_id, _ = _grant(sessions, owner, auth, ids, now)
    with transaction(sessions) as s:
        for i in range(REFUSALS_PER_GRANT_A_DAY * 4):
            record_refusal(
                s, grant_id=grant_id, actor=f"api-key:k{i}", reason="api-key-refused", now=now
            )
    assert _tags(sessions, owner).count("consent:access-refused") == REFUSALS_PER_GRANT_A_DAY


def test_the_next_day_a_refusal_is_an_event_again(sessions, owner, now, setup) -> None:
    auth, ids, _ = setup
    grant_id, _ = _grant(sessions, owner, auth, ids, now)
    with transaction(sessions) as s:
        for when in (now, now + dt.timedelta(hours=1), now + dt.timedelta(days=1)):
            record_refusal(
                s, grant_id=grant_id, actor="organisation:OTHER", reason="other-recipient", now=when
            )
    assert _tags(sessions, owner).count("consent:access-refused") == 2


def test_receipt_is_signed_and_names_the_terms(sessions, ctx, owner, now, setup) -> None:
    auth, ids, _ = setup
    grant_id, _ = _grant(sessions, owner, auth, ids, now, max_fetches=3)
    with transaction(sessions) as s:
        (grant,) = list_grants(s, owner_id=owner, now=now)
        receipt, token = consent_receipt(s, grant=grant, ctx=ctx, base_url="http://x", now=now)
    with sessions() as s:
        assert verify_statement(s, keystore=ctx.keystore, token=token) == receipt
    purpose = receipt["services"][0]["purposes"][0]
    assert purpose["purpose"] == "loan application"
    assert purpose["thirdPartyName"] == "Example Bank"
    assert purpose["piiCategory"] == ["Degree certificate", "Domicile certificate"]
    assert receipt["consentReceiptID"] == str(grant_id)


def test_api_keys_forged_wrong_scope_and_revoked_are_refused(sessions, now, bank) -> None:
    with transaction(sessions) as s:
        assert authenticate_api_key(s, token=bank, scope="shares:read", now=now)
        for bad in (
            "",
            "amanat_x_y",
            bank[:-1] + ("A" if bank[-1] != "A" else "B"),
            "amanat_0123456789abcdef_" + "A" * 43,
        ):
            with pytest.raises(ApiKeyRejected):
                authenticate_api_key(s, token=bad, scope="shares:read", now=now)
        with pytest.raises(ApiKeyRejected):
            authenticate_api_key(s, token=bank, scope="verify", now=now)
        revoke_api_key(s, key_id=bank.split("_")[1], now=now)
        with pytest.raises(ApiKeyRejected):
            authenticate_api_key(s, token=bank, scope="shares:read", now=now)


def test_settle_records_ended_grants_once(sessions, owner, now, setup) -> None:

    auth, ids, _ = setup
    _grant(sessions, owner, auth, ids, now, days=1)
    with transaction(sessions) as s:
        assert settle_ended(s, now=now) == 0
        assert settle_ended(s, now=now + dt.timedelta(days=2)) == 1
        assert settle_ended(s, now=now + dt.timedelta(days=3)) == 0
    assert _tags(sessions, owner).count("consent:expired") == 1

"""Requests in the domain: what matches in a vault, binding a link request to one citizen, and
expiry recorded once."""

from __future__ import annotations

import datetime as dt

import pytest

from audit import EventTag
from audit.models import AuditEvent
from identity.accounts import create_account
from identity.models import Account, Role
from identity.organisations import create_organisation
from signing.issuance import revoke_certificate
from signing.requests import (
    CallbackPolicy,
    RequestNotFound,
    check_asked,
    citizen_request,
    create_request,
    matching_documents,
    settle_expired_requests,
)
from tests.signing.conftest import CNIC, Env


def _ask(env: Env, s, *, types=("degree",), cnic=None, open_days=7):
    create_organisation(s, code="BANK", name="Demo Bank", now=env.now)
    asked = check_asked(
        types=types, kinds=[], purpose="home loan", days=30, max_fetches=None, cnic=cnic,
        callback_url=None, open_days=open_days, policy=CallbackPolicy(require_https=True),
    )  # fmt: skip
    return create_request(
        s, organisation_code="BANK", actor="organisation:BANK", asked=asked, now=env.now
    )


def test_a_valid_certificate_of_the_asked_type_matches(env: Env) -> None:
    degree = env.issue("degree")
    birth = env.issue("birth")
    with env.sessions() as s:
        req = _ask(env, s)
        matches = matching_documents(s, req=req, owner_id=env.citizen_id)
        assert degree.document_id in matches.matching
        assert birth.document_id not in matches.matching
        assert {d.id for d in matches.documents} == {degree.document_id, birth.document_id}


def test_a_revoked_certificate_does_not_match(env: Env) -> None:
    degree = env.issue("degree")
    with env.sessions() as s:
        revoke_certificate(s, serial=degree.serial, reason="error", now=env.now)
        req = _ask(env, s)
        assert (
            degree.document_id
            not in matching_documents(s, req=req, owner_id=env.citizen_id).matching
        )


def test_a_link_request_belongs_to_the_first_citizen_who_opens_it(env: Env) -> None:
    with env.sessions() as s:
        req = _ask(env, s)
        first = s.get(Account, env.citizen_id)
        other = create_account(
            s, role=Role.CITIZEN, display_name="Bilal", login="42101-7654321-3", now=env.now
        )
        assert citizen_request(s, request_id=req.id, account=first, now=env.now).citizen_id == (
            env.citizen_id
        )
        with pytest.raises(RequestNotFound):
            citizen_request(s, request_id=req.id, account=other, now=env.now)


def test_a_request_naming_a_cnic_is_on_that_citizens_ledger_at_once(env: Env) -> None:
    with env.sessions() as s:
        req = _ask(env, s, cnic=CNIC)
        assert req.citizen_id == env.citizen_id
        tags = [e.tag for e in s.query(AuditEvent).filter(AuditEvent.subject_id == env.citizen_id)]
        assert EventTag.REQUEST_RECEIVED in tags


def test_expiry_is_recorded_once(env: Env) -> None:
    with env.sessions() as s:
        _ask(env, s, cnic=CNIC, open_days=1)
        later = env.now + dt.timedelta(days=2)
        assert settle_expired_requests(s, now=later) == 1
        assert settle_expired_requests(s, now=later) == 0
        expired = s.query(AuditEvent).filter(AuditEvent.tag == EventTag.REQUEST_EXPIRED).count()
        assert expired == 1

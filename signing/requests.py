"""Requests: an organisation asks a citizen for documents; the citizen approves (a passkey-signed
consent, exactly as sharing makes one) or declines; unanswered, the request expires.

A request is answered once. One that names a CNIC is for that citizen only; one without (a link
or QR code shown at a counter) belongs to the first citizen who opens it signed in. Every step is
a ledger event the citizen sees, and, when the organisation gave a callback URL, a signed webhook
(``signing/webhooks.py``) written in the same transaction.

This lives in ``signing`` because a request is matched against the certificates the citizen was
issued (the register) as well as their own uploads (the vault).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from audit import EventTag, record_event
from identity.accounts import actor_of, normalize_cnic
from identity.models import Account, Organisation
from identity.organisations import get_organisation
from identity.passkeys import Confirmation
from signing.applications import attach_consent
from signing.errors import InvalidRequest, SigningError
from signing.models import DocumentRequest, IssuedCertificate, RegisterStatus, WebhookSecret
from signing.types import get_type
from signing.webhooks import Networks, Resolver, check_callback_url, queue_event
from vault.models import Document
from vault.service import list_documents
from vault.shares import MAX_DAYS, MAX_FETCHES, CreatedGrant, PendingGrant, create_grant
from vault.shares import prepare_grant as prepare_consent
from vault.uploads import DocumentKind


class RequestStatus(StrEnum):
    """Where a request for documents stands."""

    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"
    EXPIRED = "expired"


PENDING, APPROVED, DECLINED, EXPIRED = RequestStatus
MAX_OPEN_DAYS = 30
ASKABLE_KINDS = tuple(k.value for k in DocumentKind if k is not DocumentKind.CERTIFICATE)


class RequestNotFound(SigningError):
    """No such request (for this reader): the same answer whoever else's it is."""


class RequestClosed(SigningError):
    """The request was already answered, or has expired: it cannot be answered (again)."""


@dataclass(frozen=True)
class CallbackPolicy:
    """Where callbacks may point (from the settings): https when the service is, no private
    address outside ``allowed``."""

    require_https: bool
    allowed: Networks = ()
    resolver: Resolver | None = None  # None: the system's resolver


@dataclass(frozen=True)
class Asked:
    """What an organisation asks for, checked."""

    types: list[str]
    kinds: list[str]
    purpose: str
    days: int
    max_fetches: int | None
    cnic: str | None
    callback_url: str | None
    open_days: int


_RANGE_CODES = {
    "days": "request_days_range",
    "max_fetches": "request_fetches_range",
    "open_days": "request_open_days_range",
}


def _range(value: int | None, low: int, high: int, name: str) -> None:
    if value is not None and not low <= value <= high:
        raise InvalidRequest("Out of range.", code=_RANGE_CODES[name], low=low, high=high)


def check_asked(
    *,
    types: Iterable[str],
    kinds: Iterable[str],
    purpose: str,
    days: int,
    max_fetches: int | None,
    cnic: str | None,
    callback_url: str | None,
    open_days: int,
    policy: CallbackPolicy,
) -> Asked:
    """Check a request's terms; InvalidRequest (or InvalidInput for a CNIC) says what to fix."""
    codes = sorted({get_type(t).code for t in types if t and t.strip()})
    wanted = sorted({k.strip() for k in kinds if k and k.strip()})
    if any(k not in ASKABLE_KINDS for k in wanted):
        raise InvalidRequest(
            "Unknown kind.", code="request_kind_unknown", kinds=", ".join(ASKABLE_KINDS)
        )
    if not codes and not wanted:
        raise InvalidRequest("Nothing asked.", code="request_nothing_asked")
    text = " ".join((purpose or "").split())
    if not 3 <= len(text) <= 200:
        raise InvalidRequest("Purpose length.", code="request_purpose_length", low=3, high=200)
    _range(days, 1, MAX_DAYS, "days")
    _range(max_fetches, 1, MAX_FETCHES, "max_fetches")
    _range(open_days, 1, MAX_OPEN_DAYS, "open_days")
    url = None
    if callback_url and callback_url.strip():
        url = check_callback_url(
            callback_url,
            require_https=policy.require_https,
            allowed=policy.allowed,
            resolver=policy.resolver,
        )
    return Asked(
        types=codes, kinds=wanted, purpose=text, days=days, max_fetches=max_fetches,
        cnic=normalize_cnic(cnic) if cnic and cnic.strip() else None,
        callback_url=url, open_days=open_days,
    )  # fmt: skip


def _details(session: Session, req: DocumentRequest, **more: Any) -> dict[str, Any]:
    org = session.get(Organisation, req.organisation_code)
    return {
        "request": str(req.id),
        "organisation": org.name if org else req.organisation_code,
        "organisation_ur": org.name_ur if org else None,
        "purpose": req.purpose,
        "types": req.types,
        "kinds": req.kinds,
        **more,
    }


def _tell_citizen(
    session: Session, req: DocumentRequest, tag: EventTag, *, actor: str, now: dt.datetime,
    **more: Any,
) -> None:  # fmt: skip
    if req.citizen_id is None:
        return
    record_event(
        session, tag=tag, actor=actor, subject_id=req.citizen_id, object_type="request",
        object_id=str(req.id), details=_details(session, req, **more), now=now,
    )  # fmt: skip


def _citizen_with(session: Session, cnic: str | None) -> Account | None:
    if cnic is None:
        return None
    account = session.scalar(select(Account).where(Account.login == cnic))
    return account if account is not None and account.role == "citizen" else None


def create_request(
    session: Session, *, organisation_code: str, actor: str, asked: Asked, now: dt.datetime
) -> DocumentRequest:
    """Record an organisation's request; a CNIC of a registered citizen puts it on their page.

    The answer is the same whether the CNIC is registered or not: an organisation learns nothing
    about who has an account.
    """
    org = get_organisation(session, code=organisation_code)
    if asked.callback_url and session.get(WebhookSecret, org.code) is None:
        # Unsigned calls would be worthless to the receiver: say so now, not at the first call.
        raise InvalidRequest(
            "No webhook secret.", code="callback_needs_secret", organisation=org.code
        )
    citizen = _citizen_with(session, asked.cnic)
    req = DocumentRequest(
        id=uuid.uuid4(), organisation_code=org.code, actor=actor[:120], types=asked.types,
        kinds=asked.kinds, purpose=asked.purpose, days=asked.days, max_fetches=asked.max_fetches,
        cnic=asked.cnic, citizen_id=citizen.id if citizen else None,
        callback_url=asked.callback_url, status=PENDING, created_at=now,
        expires_at=now + dt.timedelta(days=asked.open_days),
    )  # fmt: skip
    session.add(req)
    session.flush()
    record_event(
        session, tag=EventTag.REQUEST_CREATED, actor=actor, subject_id=None,
        object_type="organisation", object_id=org.code,
        details={"request": str(req.id), "types": req.types, "kinds": req.kinds}, now=now,
    )  # fmt: skip
    _tell_citizen(session, req, EventTag.REQUEST_RECEIVED, actor=actor, now=now)
    return req


def request_state(req: DocumentRequest, now: dt.datetime) -> str:
    """Where the request stands at ``now``."""
    if req.status == PENDING and now >= req.expires_at:
        return EXPIRED
    return req.status


def settle_request(session: Session, req: DocumentRequest, *, now: dt.datetime) -> str:
    """The request's state; the first time its expiry is seen it is recorded (and told)."""
    state = request_state(req, now)
    if state == EXPIRED and req.status == PENDING:
        req.status, req.answered_at = EXPIRED, req.expires_at
        _tell_citizen(session, req, EventTag.REQUEST_EXPIRED, actor="system", now=now)
        queue_event(
            session, request=req, event="request.expired", data={"status": EXPIRED}, now=now
        )
        session.flush()
    return state


def settle_expired_requests(session: Session, *, now: dt.datetime) -> int:
    """Record every request that expired unanswered and is not yet recorded (periodic job)."""
    due = session.scalars(
        select(DocumentRequest).where(
            DocumentRequest.status == PENDING, DocumentRequest.expires_at <= now
        )
    ).all()
    for req in due:
        settle_request(session, req, now=now)
    return len(due)


def find_request(session: Session, *, request_id: uuid.UUID) -> DocumentRequest:
    """A request by id (what its public link shows: who asks and why), or RequestNotFound."""
    req = session.get(DocumentRequest, request_id)
    if req is None:
        raise RequestNotFound("No such request.", code="request_not_found")
    return req


def organisation_request(
    session: Session, *, request_id: uuid.UUID, organisation_code: str, now: dt.datetime
) -> DocumentRequest:
    """One of the organisation's own requests (settled), or RequestNotFound."""
    req = session.get(DocumentRequest, request_id)
    if req is None or req.organisation_code != organisation_code:
        raise RequestNotFound("No such request.", code="request_not_found")
    settle_request(session, req, now=now)
    return req


def organisation_requests(
    session: Session, *, organisation_code: str, now: dt.datetime, limit: int = 100
) -> Sequence[DocumentRequest]:
    """The organisation's latest requests, newest first (settled)."""
    rows = session.scalars(
        select(DocumentRequest)
        .where(DocumentRequest.organisation_code == organisation_code)
        .order_by(DocumentRequest.created_at.desc())
        .limit(limit)
    ).all()
    for req in rows:
        settle_request(session, req, now=now)
    return rows


def citizen_request(
    session: Session, *, request_id: uuid.UUID, account: Account, now: dt.datetime
) -> DocumentRequest:
    """The request as its citizen opens it; the first citizen to open a request without a CNIC
    becomes its citizen. Anyone else: RequestNotFound."""
    req = session.get(DocumentRequest, request_id)
    mine = req is not None and (
        req.citizen_id == account.id
        or (req.citizen_id is None and req.cnic in (None, account.login))
    )
    if req is None or not mine or account.role != "citizen":
        raise RequestNotFound("No such request.", code="request_not_found")
    if req.citizen_id is None:
        # Bound only if still unbound: two citizens opening one link at once cannot both own it.
        bound = session.execute(
            update(DocumentRequest)
            .where(DocumentRequest.id == req.id, DocumentRequest.citizen_id.is_(None))
            .values(citizen_id=account.id)
        )
        session.refresh(req)
        if bound.rowcount != 1 or req.citizen_id != account.id:  # type: ignore[attr-defined]
            raise RequestNotFound("No such request.", code="request_not_found")
        _tell_citizen(session, req, EventTag.REQUEST_RECEIVED, actor=req.actor, now=now)
    settle_request(session, req, now=now)
    return req


def citizen_requests(
    session: Session, *, account: Account, now: dt.datetime
) -> Sequence[DocumentRequest]:
    """Requests for this citizen (bound to them, or naming their CNIC), newest first."""
    rows = session.scalars(
        select(DocumentRequest)
        .where(
            or_(
                DocumentRequest.citizen_id == account.id,
                (DocumentRequest.citizen_id.is_(None)) & (DocumentRequest.cnic == account.login),
            )
        )
        .order_by(DocumentRequest.created_at.desc())
        .limit(100)
    ).all()
    for req in rows:
        settle_request(session, req, now=now)
    return rows


@dataclass(frozen=True)
class Matches:
    """The citizen's documents for a request: all of them, and those that match (preselected)."""

    documents: Sequence[Document]
    matching: frozenset[uuid.UUID]


def matching_documents(session: Session, *, req: DocumentRequest, owner_id: int) -> Matches:
    """Valid certificates of the asked types and uploads of the asked kinds match."""
    documents = list_documents(session, owner_id=owner_id)
    certified = {
        row.document_id: row.type_code
        for row in session.scalars(
            select(IssuedCertificate).where(
                IssuedCertificate.holder_id == owner_id,
                IssuedCertificate.status == RegisterStatus.VALID,
            )
        )
    }
    matching = frozenset(
        d.id
        for d in documents
        if certified.get(d.id) in req.types or (d.id not in certified and d.kind in req.kinds)
    )
    return Matches(documents, matching)


def ensure_open(req: DocumentRequest, now: dt.datetime) -> None:
    """RequestClosed unless the request can still be answered."""
    _open(req, now)


def _open(req: DocumentRequest, now: dt.datetime) -> None:
    state = request_state(req, now)
    if state == EXPIRED:
        raise RequestClosed("Expired.", code="request_expired")
    if state != PENDING:
        raise RequestClosed("Answered.", code="request_answered")


def prepare_answer(
    session: Session,
    *,
    request_id: uuid.UUID,
    account: Account,
    document_ids: Sequence[uuid.UUID],
    now: dt.datetime,
) -> PendingGrant:
    """The consent that would answer the request with these documents, for the passkey to sign:
    the organisation, purpose, duration and fetch limit are the request's own."""
    req = citizen_request(session, request_id=request_id, account=account, now=now)
    _open(req, now)
    return prepare_consent(
        session, owner_id=account.id, document_ids=document_ids, purpose=req.purpose,
        days=req.days, organisation_code=req.organisation_code, max_fetches=req.max_fetches,
        request=str(req.id), now=now,
    )  # fmt: skip


def _close(
    session: Session, req: DocumentRequest, *, status: str, now: dt.datetime, **values: Any
) -> None:
    """Answer the request once: a second answer (even one racing this) is refused."""
    _open(req, now)
    closed = session.execute(
        update(DocumentRequest)
        .where(DocumentRequest.id == req.id, DocumentRequest.status == PENDING)
        .values(status=status, answered_at=now, **values)
    )
    if closed.rowcount != 1:  # type: ignore[attr-defined]
        raise RequestClosed("Answered.", code="request_answered")
    session.refresh(req)


def confirm_consent(
    session: Session, *, owner_id: int, confirmation: Confirmation, now: dt.datetime
) -> CreatedGrant:
    """Store the consent the citizen's passkey signed; when it answers a request, the request is
    approved with it (in the same transaction: an answered or expired request refuses it all);
    when it is for an application, the application gets its documents (a draft is sent)."""
    created = create_grant(session, owner_id=owner_id, confirmation=confirmation, now=now)
    if confirmation.payload.get("application"):
        attach_consent(session, grant=created.grant, now=now)
        return created
    request_id = confirmation.payload.get("request")
    if not request_id:
        return created
    req = session.get(DocumentRequest, uuid.UUID(str(request_id)))
    if req is None or req.citizen_id != owner_id:
        raise RequestNotFound("No such request.", code="request_not_found")
    grant = created.grant
    _close(session, req, status=APPROVED, now=now, grant_id=grant.id)
    titles = [d.title for d in grant.documents]
    _tell_citizen(
        session, req, EventTag.REQUEST_APPROVED, actor=actor_of(owner_id), now=now, documents=titles
    )
    data = {
        "status": APPROVED,
        "grant": str(grant.id),
        "expires_at": grant.expires_at.isoformat(),
        "documents": [{"id": str(d.document_id), "title": d.title} for d in grant.documents],
    }
    queue_event(session, request=req, event="request.approved", data=data, now=now)
    return created


def decline_request(
    session: Session, *, request_id: uuid.UUID, account: Account, now: dt.datetime
) -> DocumentRequest:
    """The citizen says no; the organisation is told, and nothing is shared."""
    req = citizen_request(session, request_id=request_id, account=account, now=now)
    _close(session, req, status=DECLINED, now=now)
    _tell_citizen(session, req, EventTag.REQUEST_DECLINED, actor=actor_of(account), now=now)
    queue_event(session, request=req, event="request.declined", data={"status": DECLINED}, now=now)
    return req

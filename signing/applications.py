"""Applications: a citizen applies to a department for a certificate type it offers, follows the
application step by step, and finds the certificate in their vault when it is issued.

submitted -> in review -> (more information asked -> answered -> in review)* -> issued | rejected

Supporting documents come from the vault under a passkey-signed consent for the department (the
same kind of consent as sharing with a bank, recipient "department"); every consent given for an
application ends when the application is decided. Each step is kept on the application and
written to the citizen's ledger. Officers work the queue on their pages or through the department
API (scope ``applications``).
"""

from __future__ import annotations

import datetime as dt
import statistics
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from audit import EventTag, record_event
from identity.accounts import actor_of
from identity.models import Account
from signing.errors import InvalidRequest, SigningError
from signing.issuance import IssuanceContext, IssueRequest, issue_certificate
from signing.models import (
    Application,
    ApplicationStep,
    Department,
    DepartmentOffer,
    IssuedCertificate,
    RegisterStatus,
)
from signing.pki import get_department
from signing.types import CertificateType, certificate_types, check_fields, get_type
from vault.models import Grant
from vault.service import OpenedDocument, VaultContext
from vault.shares import (
    PendingGrant,
    Recipient,
    end_grant,
    fetch_shared_document,
    prepare_grant,
)


class ApplicationStatus(StrEnum):
    """Where an application stands (and the kinds of its steps)."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    INFO_REQUESTED = "info_requested"
    ISSUED = "issued"
    REJECTED = "rejected"


DRAFT, SUBMITTED, IN_REVIEW = (
    ApplicationStatus.DRAFT,
    ApplicationStatus.SUBMITTED,
    ApplicationStatus.IN_REVIEW,
)
INFO_REQUESTED, ISSUED, REJECTED = (
    ApplicationStatus.INFO_REQUESTED,
    ApplicationStatus.ISSUED,
    ApplicationStatus.REJECTED,
)
OPEN = (SUBMITTED, IN_REVIEW, INFO_REQUESTED)
STATUSES = (SUBMITTED, IN_REVIEW, INFO_REQUESTED, ISSUED, REJECTED)
# A consent for an application lasts until it is decided, and at most this long.
CONSENT_DAYS = 180
MAX_NOTE = 1000
MAX_AGE_DAYS = 3650


class ApplicationNotFound(SigningError):
    """No such application (for this reader), or a type the department does not offer."""


class ApplicationRefused(SigningError):
    """The application is not in a state that allows this step."""


# -- what departments offer -----------------------------------------------------------------------


def set_offers(session: Session, *, code: str, types: Iterable[str]) -> list[str]:
    """The types citizens may apply to the department for (replacing what it offered)."""
    department = get_department(session, code=code)
    codes = sorted({get_type(t).code for t in types})
    session.execute(
        delete(DepartmentOffer).where(DepartmentOffer.department_code == department.code)
    )
    session.add_all(DepartmentOffer(department_code=department.code, type_code=c) for c in codes)
    session.flush()
    return codes


def offers(session: Session) -> list[tuple[Department, CertificateType]]:
    """Every (department, type) a citizen may apply for, by department name."""
    types = certificate_types()
    rows = session.execute(
        select(Department, DepartmentOffer.type_code)
        .join(DepartmentOffer, DepartmentOffer.department_code == Department.code)
        .order_by(Department.name, DepartmentOffer.type_code)
    )
    return [(d, types[t]) for d, t in rows if t in types]


def _offered(session: Session, code: str, type_code: str) -> tuple[Department, CertificateType]:
    department = session.get(Department, (code or "").strip().upper())
    ctype = certificate_types().get((type_code or "").strip().lower())
    if (
        department is None
        or ctype is None
        or session.get(DepartmentOffer, (department.code, ctype.code)) is None
    ):
        raise ApplicationNotFound("Not offered.", code="application_not_offered")
    return department, ctype


# -- the citizen ----------------------------------------------------------------------------------


def _step(
    session: Session, app: Application, *, kind: str, actor: str, now: dt.datetime,
    tag: EventTag, note: str | None = None,
) -> None:  # fmt: skip
    """Keep a step on the application and tell the citizen's ledger."""
    app.steps.append(ApplicationStep(at=now, actor=actor, kind=kind, note=note))
    app.updated_at = now
    department = session.get(Department, app.department_code)
    ctype = certificate_types().get(app.type_code)
    record_event(
        session, tag=tag, actor=actor, subject_id=app.citizen_id, object_type="application",
        object_id=str(app.id), now=now,
        details={
            "department": department.name if department else app.department_code,
            "department_ur": department.name_ur if department else None,
            "type": app.type_code, "title": ctype.title_en if ctype else app.type_code,
            **({"note": note} if note else {}), **({"serial": app.serial} if app.serial else {}),
        },
    )  # fmt: skip
    session.flush()


def _note(text: str | None, *, required: bool) -> str | None:
    value = " ".join((text or "").split())
    if (required and not value) or len(value) > MAX_NOTE:
        raise InvalidRequest("Note length.", code="application_note_length", n=MAX_NOTE)
    return value or None


def _consent(
    session: Session, app: Application, *, owner_id: int, document_ids: Sequence[uuid.UUID],
    now: dt.datetime,
) -> PendingGrant:  # fmt: skip
    department = get_department(session, code=app.department_code)
    ctype = get_type(app.type_code)
    return prepare_grant(
        session, owner_id=owner_id, document_ids=document_ids,
        purpose=f"Application for a {ctype.title_en}"[:200], days=CONSENT_DAYS,
        department={"code": department.code, "name": department.name,
                    "name_ur": department.name_ur},
        application=str(app.id), now=now,
    )  # fmt: skip


@dataclass(frozen=True)
class Known:
    """A value the state already holds for the citizen, and where it comes from: their
    registration (``serial`` None) or a valid certificate issued to them."""

    value: str
    serial: str | None
    type_code: str | None


def known_values(session: Session, *, account: Account, ctype: CertificateType) -> dict[str, Known]:
    """The type's fields the citizen need not type again ("asked once"): each from the newest
    valid certificate that carries it, the name from the registration when none does."""
    wanted = {f.name for f in ctype.fields} | {f"{f.name}:ur" for f in ctype.fields}
    found: dict[str, Known] = {}
    rows = session.scalars(
        select(IssuedCertificate)
        .where(
            IssuedCertificate.holder_id == account.id,
            IssuedCertificate.status == RegisterStatus.VALID,
        )
        .order_by(IssuedCertificate.issued_at.desc())
    )
    for row in rows:
        for key, value in row.fields.items():
            if key in wanted and key not in found and str(value).strip():
                found[key] = Known(str(value), row.serial, row.type_code)
    if "name" in wanted and "name" not in found:
        found["name"] = Known(account.display_name, None, None)
    return found


@dataclass(frozen=True)
class Started:
    """A new application, and the consent for its documents when some were chosen (then the
    application is sent once the passkey confirms it)."""

    application: Application
    consent: PendingGrant | None


def apply(
    session: Session,
    *,
    account: Account,
    department: str,
    type_code: str,
    fields: Mapping[str, str],
    document_ids: Sequence[uuid.UUID],
    now: dt.datetime,
) -> Started:
    """Start an application: checked against the type's fields; sent at once without documents,
    else when the consent for the documents is confirmed."""
    dept, ctype = _offered(session, department, type_code)
    # What a valid certificate proves is taken from it, whatever the form sent.
    proven = {k: v.value for k, v in known_values(session, account=account, ctype=ctype).items()
              if v.serial is not None}  # fmt: skip
    checked = {k: str(v) for k, v in check_fields(ctype, {**fields, **proven}).items()}
    app = Application(
        id=uuid.uuid4(), department_code=dept.code, type_code=ctype.code, citizen_id=account.id,
        fields=checked, status=DRAFT, grant_ids=[], created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(app)
    session.flush()
    if document_ids:
        consent = _consent(session, app, owner_id=account.id, document_ids=document_ids, now=now)
        return Started(app, consent)
    _submit(session, app, now=now)
    return Started(app, None)


def _submit(session: Session, app: Application, *, now: dt.datetime) -> None:
    app.status, app.submitted_at = SUBMITTED, now
    _step(session, app, kind=SUBMITTED, actor=actor_of(app.citizen_id), now=now,
          tag=EventTag.APPLICATION_SUBMITTED)  # fmt: skip


def attach_consent(session: Session, *, grant: Grant, now: dt.datetime) -> Application:
    """A confirmed consent for an application's documents: a draft is sent with it; an open
    application gets the documents as part of the citizen's answer."""
    application_id = uuid.UUID(str(grant.terms.get("application")))
    app = session.get(Application, application_id)
    if app is None or app.citizen_id != grant.owner_id:
        raise ApplicationNotFound("No such application.", code="application_not_found")
    if app.status not in (DRAFT, *OPEN):
        raise ApplicationRefused("Decided.", code="application_decided")
    app.grant_ids = [*app.grant_ids, str(grant.id)]
    if app.status == DRAFT:
        _submit(session, app, now=now)
    session.flush()
    return app


def citizen_applications(session: Session, *, account: Account) -> Sequence[Application]:
    """The citizen's applications (sent ones), newest first."""
    return session.scalars(
        select(Application)
        .where(Application.citizen_id == account.id, Application.status != DRAFT)
        .order_by(Application.created_at.desc())
    ).all()


def citizen_application(
    session: Session, *, account: Account, application_id: uuid.UUID
) -> Application:
    """One of the citizen's applications with its steps, or ApplicationNotFound."""
    app = session.get(Application, application_id, options=[selectinload(Application.steps)])
    if app is None or app.citizen_id != account.id or app.status == DRAFT:
        raise ApplicationNotFound("No such application.", code="application_not_found")
    return app


def answer(
    session: Session,
    *,
    account: Account,
    application_id: uuid.UUID,
    note: str | None,
    document_ids: Sequence[uuid.UUID],
    now: dt.datetime,
) -> PendingGrant | None:
    """The citizen answers a request for more information (words and/or documents); the
    application goes back to review. Documents come with a consent to confirm."""
    app = citizen_application(session, account=account, application_id=application_id)
    if app.status != INFO_REQUESTED:
        raise ApplicationRefused("Not asked.", code="application_not_asked")
    text = _note(note, required=not document_ids)
    consent = None
    if document_ids:
        consent = _consent(session, app, owner_id=account.id, document_ids=document_ids, now=now)
    app.status = IN_REVIEW
    _step(session, app, kind="answered", actor=actor_of(account), now=now,
          tag=EventTag.APPLICATION_ANSWERED, note=text)  # fmt: skip
    return consent


# -- officers -------------------------------------------------------------------------------------


def department_queue(
    session: Session,
    *,
    department: str,
    status: str | None,
    older_than_days: int | None,
    now: dt.datetime,
    limit: int = 200,
) -> Sequence[Application]:
    """The department's applications, oldest first: open ones by default, or those of one
    ``status``; ``older_than_days`` keeps only those sent longer ago than that."""
    if status is not None and status not in STATUSES:
        raise InvalidRequest(
            "Unknown status.", code="application_status", statuses=", ".join(STATUSES)
        )
    query = select(Application).where(Application.department_code == department)
    query = (
        query.where(Application.status == status)
        if status
        else query.where(Application.status.in_(OPEN))
    )
    if older_than_days is not None:
        if not 0 <= older_than_days <= MAX_AGE_DAYS:
            raise InvalidRequest("Bad age.", code="application_age", low=0, high=MAX_AGE_DAYS)
        query = query.where(Application.submitted_at <= now - dt.timedelta(days=older_than_days))
    return session.scalars(query.order_by(Application.submitted_at).limit(limit)).all()


def department_application(
    session: Session, *, department: str, application_id: uuid.UUID
) -> Application:
    """One of the department's applications (sent), or ApplicationNotFound."""
    app = session.get(Application, application_id, options=[selectinload(Application.steps)])
    if app is None or app.department_code != department or app.status == DRAFT:
        raise ApplicationNotFound("No such application.", code="application_not_found")
    return app


def _open_app(session: Session, department: str, application_id: uuid.UUID) -> Application:
    app = department_application(session, department=department, application_id=application_id)
    if app.status not in OPEN:
        raise ApplicationRefused("Decided.", code="application_decided")
    return app


def take_up(
    session: Session, *, department: str, application_id: uuid.UUID, officer_id: int | None,
    actor: str, now: dt.datetime,
) -> Application:  # fmt: skip
    """Assign the application (to the officer, when one acts) and put it in review."""
    app = _open_app(session, department, application_id)
    app.assigned_to = officer_id if officer_id is not None else app.assigned_to
    if app.status == SUBMITTED:
        app.status = IN_REVIEW
        _step(session, app, kind=IN_REVIEW, actor=actor, now=now,
              tag=EventTag.APPLICATION_IN_REVIEW)  # fmt: skip
    session.flush()
    return app


def ask_for_information(
    session: Session, *, department: str, application_id: uuid.UUID, note: str, actor: str,
    now: dt.datetime,
) -> Application:  # fmt: skip
    """Ask the citizen for more (the question is shown to them in the timeline)."""
    app = _open_app(session, department, application_id)
    app.status = INFO_REQUESTED
    _step(session, app, kind=INFO_REQUESTED, actor=actor, now=now,
          tag=EventTag.APPLICATION_INFO_REQUESTED, note=_note(note, required=True))  # fmt: skip
    return app


def _close(session: Session, app: Application, *, now: dt.datetime) -> None:
    app.closed_at = now
    for grant_id in app.grant_ids:
        end_grant(session, grant_id=uuid.UUID(grant_id), now=now)


def reject(
    session: Session, *, department: str, application_id: uuid.UUID, reason: str, actor: str,
    now: dt.datetime,
) -> Application:  # fmt: skip
    """Refuse the application with a reason the citizen reads; its consents end."""
    app = _open_app(session, department, application_id)
    text = _note(reason, required=True)
    app.status = REJECTED
    _close(session, app, now=now)
    _step(session, app, kind=REJECTED, actor=actor, now=now,
          tag=EventTag.APPLICATION_REJECTED, note=text)  # fmt: skip
    return app


def approve(
    session: Session, *, ctx: IssuanceContext, department: str, application_id: uuid.UUID,
    fields: Mapping[str, str] | None, level: str, actor: str, now: dt.datetime,
) -> Application:  # fmt: skip
    """Issue the certificate from the application's data (as the officer edited it) into the
    citizen's vault; its consents end. Once per application, also when retried."""
    app = _open_app(session, department, application_id)
    citizen = session.get(Account, app.citizen_id)
    assert citizen is not None
    request = IssueRequest.build(
        department=app.department_code, citizen=citizen.login, type_code=app.type_code,
        fields=fields if fields is not None else app.fields, level=level,
        batch_key=f"application:{app.id}",
    )  # fmt: skip
    row = issue_certificate(session, ctx=ctx, request=request, now=now, actor=actor)
    app.status, app.serial = ISSUED, row.serial
    app.fields = {k: str(v) for k, v in request.fields.items()}
    _close(session, app, now=now)
    _step(session, app, kind=ISSUED, actor=actor, now=now, tag=EventTag.APPLICATION_ISSUED)
    return app


@dataclass(frozen=True)
class Supporting:
    """A document the citizen shared for the application, under which consent."""

    grant_id: uuid.UUID
    document_id: uuid.UUID
    title: str


def supporting_documents(session: Session, *, app: Application) -> list[Supporting]:
    """The documents shared for the application, in the order they came."""
    found = []
    for grant_id in app.grant_ids:
        grant = session.get(Grant, uuid.UUID(grant_id))
        if grant is not None:
            found += [Supporting(grant.id, d.document_id, d.title) for d in grant.documents]
    return found


def fetch_supporting(
    session: Session, *, ctx: VaultContext, app: Application, grant_id: uuid.UUID,
    document_id: uuid.UUID, actor: str, now: dt.datetime,
) -> OpenedDocument:  # fmt: skip
    """A supporting document for an officer: only under the application's own consents, only
    while it is open; counted and written to the citizen's ledger like any shared fetch."""
    if str(grant_id) not in app.grant_ids:
        raise ApplicationNotFound("No such document.", code="application_not_found")
    recipient = Recipient(actor=actor, department_code=app.department_code)
    return fetch_shared_document(
        session, ctx=ctx, grant_id=grant_id, document_id=document_id, recipient=recipient, now=now
    )


@dataclass(frozen=True)
class Waiting:
    """How long the department's open applications have waited since they were sent."""

    open: int
    median: dt.timedelta | None
    oldest: dt.timedelta | None


def waiting(session: Session, *, department: str, now: dt.datetime) -> Waiting:
    """Count, median and oldest wait of the open applications."""
    sent = session.scalars(
        select(Application.submitted_at).where(
            Application.department_code == department, Application.status.in_(OPEN)
        )
    ).all()
    ages = [now - s for s in sent if s is not None]
    if not ages:
        return Waiting(0, None, None)
    seconds = statistics.median(a.total_seconds() for a in ages)
    return Waiting(len(ages), dt.timedelta(seconds=seconds), max(ages))


def application_json(app: Application) -> dict[str, Any]:
    """An application as plain data (the department API; the citizen's export)."""
    return {
        "application": str(app.id),
        "department": app.department_code,
        "type": app.type_code,
        "status": app.status,
        "fields": app.fields,
        "serial": app.serial,
        "assigned_to": app.assigned_to,
        "submitted_at": app.submitted_at.isoformat() if app.submitted_at else None,
        "updated_at": app.updated_at.isoformat(),
        "closed_at": app.closed_at.isoformat() if app.closed_at else None,
        "steps": [
            {"at": s.at.isoformat(), "kind": s.kind, "actor": s.actor, "note": s.note}
            for s in app.steps
        ],
    }

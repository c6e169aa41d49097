"""Disputes: "I did not expect this" on a line of the citizen's activity.

A dispute names one ledger event of the citizen (who, when, what — copied from the event, never a
document's content) and goes to the deployment's data-protection office and to whoever the event
names: the organisation (its members or API key), or the department (its officers). Each side
writes on the dispute's timeline; the office closes it with an outcome. Every step is a ledger
event of the citizen, so the complaint and its answers are as tamper-evident as what they are
about.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from audit import AuditEvent, EventTag, record_event
from identity.accounts import actor_of
from identity.models import Account, Organisation, Role
from signing.errors import InvalidRequest, SigningError
from signing.models import Department, Dispute, DisputeStep


class DisputeStatus(StrEnum):
    """Where a dispute stands."""

    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"


OPEN, ANSWERED, CLOSED = DisputeStatus
OUTCOMES = ("upheld", "not_upheld", "resolved")
MAX_NOTE = 2000
_ACTOR = re.compile(r"^(organisation|department):([A-Z0-9_-]+)")
_ACCOUNT = re.compile(r"^account:(\d+)")


class DisputeNotFound(SigningError):
    """No such dispute (for this reader), or no such activity line of the citizen."""


class DisputeRefused(SigningError):
    """The dispute is closed, or this line is already disputed."""


def _note(text: str | None) -> str:
    value = " ".join((text or "").split())
    if not 3 <= len(value) <= MAX_NOTE:
        raise InvalidRequest("Note length.", code="dispute_note_length", low=3, high=MAX_NOTE)
    return value


def _party(session: Session, event: AuditEvent) -> tuple[str, str | None]:
    """Who the event names: an organisation or department, an officer's department, or the
    service itself."""
    match = _ACTOR.match(event.actor or "")
    if match:
        return match.group(1), match.group(2)
    by_account = _ACCOUNT.match(event.actor or "")
    if by_account:
        account = session.get(Account, int(by_account.group(1)))
        if account is not None and account.role == Role.OFFICER and account.affiliation:
            return "department", account.affiliation
        if account is not None and account.role == Role.VERIFIER and account.affiliation:
            return "organisation", account.affiliation
    return "service", None


def _tell(session: Session, dispute: Dispute, tag: EventTag, *, actor: str, now: dt.datetime,
          **more: Any) -> None:  # fmt: skip
    record_event(
        session, tag=tag, actor=actor, subject_id=dispute.citizen_id, object_type="dispute",
        object_id=str(dispute.id), now=now,
        details={"party": party_name(session, dispute), "about": dispute.access.get("tag"), **more},
    )  # fmt: skip


def party_name(session: Session, dispute: Dispute) -> str:
    """The party's registered name (English; the door picks the language from the record)."""
    if dispute.party_kind == "organisation" and dispute.party_code:
        org = session.get(Organisation, dispute.party_code)
        return org.name if org else dispute.party_code
    if dispute.party_kind == "department" and dispute.party_code:
        department = session.get(Department, dispute.party_code)
        return department.name if department else dispute.party_code
    return "Amanat"


def open_dispute(
    session: Session, *, account: Account, event_seq: int, note: str, now: dt.datetime
) -> Dispute:
    """Open a dispute about one of the citizen's own activity lines (once per line)."""
    event = session.scalar(select(AuditEvent).where(AuditEvent.seq == event_seq))
    if event is None or event.subject_id != account.id:
        raise DisputeNotFound("No such line.", code="dispute_line_not_found")
    if session.scalar(select(Dispute.id).where(Dispute.event_seq == event_seq)) is not None:
        raise DisputeRefused("Already disputed.", code="dispute_exists")
    kind, code = _party(session, event)
    dispute = Dispute(
        id=uuid.uuid4(), citizen_id=account.id, event_seq=event_seq, party_kind=kind,
        party_code=code, status=OPEN, created_at=now, updated_at=now,
        access={"tag": event.tag, "actor": event.actor, "at": event.occurred_at.isoformat(),
                "details": dict(event.details or {})},
    )  # fmt: skip
    dispute.steps.append(DisputeStep(at=now, side="citizen", actor=actor_of(account),
                                     kind=OPEN, note=_note(note)))  # fmt: skip
    session.add(dispute)
    session.flush()
    _tell(session, dispute, EventTag.DISPUTE_OPENED, actor=actor_of(account), now=now)
    return dispute


def citizen_disputes(session: Session, *, account: Account) -> Sequence[Dispute]:
    """The citizen's disputes, newest first."""
    return session.scalars(
        select(Dispute).where(Dispute.citizen_id == account.id).order_by(Dispute.created_at.desc())
    ).all()


def _load(session: Session, dispute_id: uuid.UUID) -> Dispute | None:
    return session.get(Dispute, dispute_id, options=[selectinload(Dispute.steps)])


def citizen_dispute(session: Session, *, account: Account, dispute_id: uuid.UUID) -> Dispute:
    """One of the citizen's disputes, or DisputeNotFound."""
    dispute = _load(session, dispute_id)
    if dispute is None or dispute.citizen_id != account.id:
        raise DisputeNotFound("No such dispute.", code="dispute_not_found")
    return dispute


def party_disputes(session: Session, *, kind: str | None, code: str | None) -> Sequence[Dispute]:
    """Disputes for an organisation or department, or every one (the office: ``kind`` None),
    open ones first, oldest first."""
    query = select(Dispute)
    if kind is not None:
        query = query.where(Dispute.party_kind == kind, Dispute.party_code == code)
    return session.scalars(query.order_by(Dispute.status == CLOSED, Dispute.created_at)).all()


def party_dispute(
    session: Session, *, kind: str | None, code: str | None, dispute_id: uuid.UUID
) -> Dispute:
    """One dispute for this party (the office sees every one), or DisputeNotFound."""
    dispute = _load(session, dispute_id)
    if dispute is None or (
        kind is not None and (dispute.party_kind, dispute.party_code) != (kind, code)
    ):
        raise DisputeNotFound("No such dispute.", code="dispute_not_found")
    return dispute


def add_note(
    session: Session, *, dispute: Dispute, side: str, actor: str, note: str, now: dt.datetime
) -> Dispute:
    """A side writes on the timeline; an answer by the party or the office is told to the
    citizen."""
    if dispute.status == CLOSED:
        raise DisputeRefused("Closed.", code="dispute_closed")
    dispute.steps.append(
        DisputeStep(at=now, side=side, actor=actor[:120], kind=ANSWERED, note=_note(note))
    )
    dispute.updated_at = now
    if side != "citizen":
        dispute.status = ANSWERED
        _tell(session, dispute, EventTag.DISPUTE_ANSWERED, actor=actor, now=now, side=side)
    session.flush()
    return dispute


def close_dispute(
    session: Session, *, dispute: Dispute, actor: str, outcome: str, note: str, now: dt.datetime
) -> Dispute:
    """The office closes the dispute with an outcome and its reasons."""
    if dispute.status == CLOSED:
        raise DisputeRefused("Closed.", code="dispute_closed")
    if outcome not in OUTCOMES:
        raise InvalidRequest("Outcome.", code="dispute_outcome", outcomes=", ".join(OUTCOMES))
    dispute.steps.append(
        DisputeStep(at=now, side="office", actor=actor[:120], kind=CLOSED, note=_note(note))
    )
    dispute.status, dispute.outcome, dispute.closed_at, dispute.updated_at = (
        CLOSED, outcome, now, now,
    )  # fmt: skip
    _tell(session, dispute, EventTag.DISPUTE_CLOSED, actor=actor, now=now, outcome=outcome)
    session.flush()
    return dispute


def dispute_counts(
    session: Session, *, kind: str, code: str, since: dt.datetime
) -> tuple[int, int]:
    """Disputes opened and closed about a party since ``since`` (the public record)."""
    mine = (Dispute.party_kind == kind, Dispute.party_code == code)
    opened = session.scalar(select(func.count()).where(*mine, Dispute.created_at >= since))
    closed = session.scalar(select(func.count()).where(*mine, Dispute.closed_at >= since))
    return int(opened or 0), int(closed or 0)

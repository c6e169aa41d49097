"""Emergency access: a citizen names a trusted contact who can read chosen documents, if ever
they ask and the citizen does not refuse within a waiting period.

The citizen confirms the naming with their passkey (the contact, the waiting days and the
documents are the terms it signs, as for a consent). The contact may ask at any time; the citizen
is told at once on every channel they set and can refuse until the wait is over; with no refusal
the contact can read (download) those documents, each read an event of the citizen's activity.
The citizen can end the naming at any time, which ends any access with it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from audit import EventTag, record_event
from identity.accounts import actor_of, find_by_login
from identity.models import Account, Role
from identity.passkeys import Confirmation
from vault.errors import EmergencyRefused
from vault.models import EmergencyContact
from vault.service import OpenedDocument, VaultContext, open_document
from vault.shares import consent_challenge, owned_documents

MIN_DAYS, MAX_DAYS, DEFAULT_DAYS = 1, 30, 7


class EmergencyState(StrEnum):
    """Where a naming stands for its contact."""

    NAMED = "named"  # nobody asked
    WAITING = "waiting"  # asked; the citizen may still refuse
    REFUSED = "refused"  # the citizen refused the last request
    ACTIVE = "active"  # the wait passed without refusal: the contact can read
    ENDED = "ended"  # the citizen ended the naming


@dataclass(frozen=True)
class PendingNaming:
    """Terms ready for the citizen's passkey, and the challenge it signs."""

    terms: dict[str, Any]
    challenge: bytes


def state_of(row: EmergencyContact, now: dt.datetime) -> EmergencyState:
    """The naming's state at ``now``."""
    if row.ended_at is not None:
        return EmergencyState.ENDED
    if row.requested_at is None:
        return EmergencyState.NAMED
    if row.refused_at is not None:
        return EmergencyState.REFUSED
    if now < row.requested_at + dt.timedelta(days=row.wait_days):
        return EmergencyState.WAITING
    return EmergencyState.ACTIVE


def access_from(row: EmergencyContact) -> dt.datetime | None:
    """When a pending request turns into access (None when nobody asked)."""
    return row.requested_at + dt.timedelta(days=row.wait_days) if row.requested_at else None


def prepare_naming(
    session: Session, *, owner: Account, contact_cnic: str, wait_days: int,
    document_ids: Sequence[uuid.UUID], now: dt.datetime,
) -> PendingNaming:  # fmt: skip
    """Check a naming and word its terms (nothing is stored before the passkey confirms)."""
    contact = find_by_login(session, login=contact_cnic)
    if contact is None or contact.role != Role.CITIZEN or contact.id == owner.id:
        raise EmergencyRefused("No such contact.", code="emergency_no_contact")
    if not MIN_DAYS <= wait_days <= MAX_DAYS:
        raise EmergencyRefused("Bad wait.", code="emergency_days_range", low=MIN_DAYS,
                               high=MAX_DAYS)  # fmt: skip
    docs = owned_documents(session, owner_id=owner.id, document_ids=document_ids)
    terms = {
        "kind": "emergency_access", "owner": {"id": owner.id, "name": owner.display_name},
        "contact": {"id": contact.id, "name": contact.display_name}, "wait_days": wait_days,
        "documents": [{"id": str(d.id), "title": d.title} for d in docs],
        "created_at": now.astimezone(dt.UTC).isoformat(timespec="seconds"),
    }  # fmt: skip
    return PendingNaming(terms, consent_challenge(terms))


def _log(session: Session, row: EmergencyContact, tag: EventTag, *, actor: str,
         now: dt.datetime, **more: Any) -> None:  # fmt: skip
    record_event(
        session, tag=tag, actor=actor, subject_id=row.owner_id, now=now,
        object_type="emergency", object_id=str(row.id),
        details={"contact": row.contact_name, "days": row.wait_days, **more},
    )  # fmt: skip


def confirm_naming(
    session: Session, *, owner_id: int, confirmation: Confirmation, now: dt.datetime
) -> EmergencyContact:
    """Store the naming the citizen's passkey just signed (it replaces one for the same contact)."""
    terms = confirmation.payload
    if terms.get("kind") != "emergency_access" or terms.get("owner", {}).get("id") != owner_id:
        raise EmergencyRefused("Not a naming.", code="emergency_not_found")
    contact_id = int(terms["contact"]["id"])
    for old in _named(session, owner_id=owner_id, contact_id=contact_id):
        old.ended_at = now
    row = EmergencyContact(
        id=uuid.uuid4(), owner_id=owner_id, contact_id=contact_id,
        contact_name=str(terms["contact"]["name"]), wait_days=int(terms["wait_days"]),
        documents=terms["documents"], terms=terms, challenge=consent_challenge(terms),
        credential_data=confirmation.credential_data, evidence=confirmation.evidence,
        created_at=now,
    )  # fmt: skip
    session.add(row)
    session.flush()
    _log(session, row, EventTag.EMERGENCY_CONTACT_SET, actor=actor_of(owner_id), now=now,
         documents=len(row.documents))  # fmt: skip
    return row


def _named(session: Session, *, owner_id: int, contact_id: int) -> Sequence[EmergencyContact]:
    return session.scalars(
        select(EmergencyContact).where(
            EmergencyContact.owner_id == owner_id,
            EmergencyContact.contact_id == contact_id,
            EmergencyContact.ended_at.is_(None),
        )
    ).all()


def namings(session: Session, *, account_id: int) -> Sequence[EmergencyContact]:
    """Every naming the account made or is named in that has not ended, oldest first."""
    return session.scalars(
        select(EmergencyContact)
        .where(
            or_(EmergencyContact.owner_id == account_id, EmergencyContact.contact_id == account_id),
            EmergencyContact.ended_at.is_(None),
        )
        .order_by(EmergencyContact.created_at)
    ).all()


def owner_names(session: Session, rows: Sequence[EmergencyContact]) -> dict[int, str]:
    """The names of the citizens who made these namings (what their contacts are shown)."""
    ids = sorted({r.owner_id for r in rows})
    found = session.execute(select(Account.id, Account.display_name).where(Account.id.in_(ids)))
    return {row.id: row.display_name for row in found}


def _get(session: Session, naming_id: uuid.UUID, *, owner_id: int | None = None,
         contact_id: int | None = None) -> EmergencyContact:  # fmt: skip
    row = session.get(EmergencyContact, naming_id, with_for_update=True)
    if (
        row is None
        or row.ended_at is not None
        or (owner_id is not None and row.owner_id != owner_id)
        or (contact_id is not None and row.contact_id != contact_id)
    ):
        raise EmergencyRefused("No such naming.", code="emergency_not_found")
    return row


def end_naming(
    session: Session, *, owner_id: int, naming_id: uuid.UUID, now: dt.datetime
) -> EmergencyContact:
    """The citizen ends a naming (and any access with it)."""
    row = _get(session, naming_id, owner_id=owner_id)
    row.ended_at = now
    session.flush()
    _log(session, row, EventTag.EMERGENCY_CONTACT_REMOVED, actor=actor_of(owner_id), now=now)
    return row


def ask_for_access(
    session: Session, *, contact_id: int, naming_id: uuid.UUID, now: dt.datetime
) -> EmergencyContact:
    """The contact asks; the citizen is told and has the waiting days to refuse."""
    row = _get(session, naming_id, contact_id=contact_id)
    if state_of(row, now) in (EmergencyState.WAITING, EmergencyState.ACTIVE):
        raise EmergencyRefused("Already asked.", code="emergency_already_asked")
    row.requested_at, row.refused_at = now, None
    session.flush()
    _log(session, row, EventTag.EMERGENCY_ACCESS_REQUESTED, actor=actor_of(contact_id), now=now,
         until=access_from(row).isoformat())  # type: ignore[union-attr]  # fmt: skip
    return row


def refuse_access(
    session: Session, *, owner_id: int, naming_id: uuid.UUID, now: dt.datetime
) -> EmergencyContact:
    """The citizen refuses the pending request (or ends access that began): nothing is given."""
    row = _get(session, naming_id, owner_id=owner_id)
    if state_of(row, now) not in (EmergencyState.WAITING, EmergencyState.ACTIVE):
        raise EmergencyRefused("Nothing asked.", code="emergency_nothing_asked")
    row.refused_at = now
    session.flush()
    _log(session, row, EventTag.EMERGENCY_ACCESS_REFUSED, actor=actor_of(owner_id), now=now)
    return row


def read_document(
    session: Session, *, ctx: VaultContext, contact_id: int, naming_id: uuid.UUID,
    document_id: uuid.UUID, now: dt.datetime,
) -> OpenedDocument:  # fmt: skip
    """A document of the naming, for its contact, once access is active; an event for the
    citizen."""
    row = _get(session, naming_id, contact_id=contact_id)
    if state_of(row, now) is not EmergencyState.ACTIVE:
        raise EmergencyRefused("No access.", code="emergency_no_access")
    if str(document_id) not in {d["id"] for d in row.documents}:
        raise EmergencyRefused("Not in the naming.", code="emergency_not_found")
    opened = open_document(session, ctx=ctx, owner_id=row.owner_id, document_id=document_id,
                           purpose="share", now=now)  # fmt: skip
    _log(session, row, EventTag.EMERGENCY_DOCUMENT_READ, actor=actor_of(contact_id), now=now,
         title=opened.document.title)  # fmt: skip
    return opened


def remove_namings_of(session: Session, *, account_id: int, actor: str, now: dt.datetime) -> int:
    """Delete every naming the account made or is named in (its erasure); how many. A citizen
    who trusted the account is told, by ``actor``, that the naming ended."""
    trusting = session.scalars(
        select(EmergencyContact).where(
            EmergencyContact.contact_id == account_id, EmergencyContact.ended_at.is_(None)
        )
    ).all()
    for row in trusting:
        _log(session, row, EventTag.EMERGENCY_CONTACT_REMOVED, actor=actor, now=now)
    result = session.execute(
        delete(EmergencyContact).where(
            or_(EmergencyContact.owner_id == account_id, EmergencyContact.contact_id == account_id)
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]

"""The vault's part of erasing an account: consents ended, every key destroyed, blobs removed.

Crypto-shredding: each version's data key is wrapped by the owner's key, and the owner's key by
the key store's master key. The rows holding the wrapped keys are overwritten with zeros and then
deleted, so the database keeps no way to open a blob even before the blobs themselves are removed
(after the commit, as for a deleted document). Copies made before — database backups — keep the
wrapped keys until they age out (SECURITY.md says how long).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from amanat.db import is_postgresql
from audit import AuditEvent, EventTag, record_event
from keys.wrapping import open_value, seal_value
from vault.blobs import remove_after_commit
from vault.emergency import remove_namings_of
from vault.models import Document, DocumentVersion, Grant, GrantDocument, NoticePrefs, OwnerKey
from vault.service import VaultContext, _owner_key

# What an erasure tells an organisation whose consent it ended (the citizen's own events go).
ERASURE_ACTOR = "deployment:erasure"


@dataclass(frozen=True)
class EndedConsent:
    """A consent the erasure ended: to whom (an organisation or a department), and which."""

    grant_id: uuid.UUID
    organisation_code: str | None
    department_code: str | None


@dataclass(frozen=True)
class ShreddedVault:
    """What :func:`shred_vault` destroyed."""

    documents: int
    versions: int
    blobs: int
    data_keys: int
    owner_keys: int
    consents: int
    consents_ended: tuple[EndedConsent, ...]
    contact_details: int


def _aad(account_id: int, what: str) -> bytes:
    return f"amanat/owner-sealed/v1/{account_id}/{what}".encode()


def seal_for_owner(
    session: Session, *, ctx: VaultContext, account_id: int, what: str, value: bytes,
    now: dt.datetime,
) -> bytes:  # fmt: skip
    """``value`` sealed under the account's owner key (gone when the key is shredded)."""
    _row, key = _owner_key(session, ctx, account_id=account_id, now=now)
    return seal_value(key, value, aad=_aad(account_id, what))


def open_for_owner(
    session: Session, *, ctx: VaultContext, account_id: int, what: str, sealed: bytes,
    now: dt.datetime,
) -> bytes:  # fmt: skip
    """Inverse of :func:`seal_for_owner`."""
    _row, key = _owner_key(session, ctx, account_id=account_id, now=now)
    return open_value(key, sealed, aad=_aad(account_id, what))


def _end_consents(session: Session, account_id: int, now: dt.datetime) -> list[EndedConsent]:
    """Active consents end now; the organisation's or department's side of the ledger says so
    (an event about the recipient, not the citizen, so that it outlives the erasure)."""
    grants = session.scalars(
        select(Grant).where(Grant.owner_id == account_id, Grant.withdrawn_at.is_(None))
    ).all()
    ended = []
    for grant in grants:
        grant.withdrawn_at = now
        if not (grant.organisation_code or grant.department_code):
            continue  # a link: nobody to tell, and the link dies with the grant
        kind = "organisation" if grant.organisation_code else "department"
        record_event(
            session, tag=EventTag.CONSENT_WITHDRAWN, actor=ERASURE_ACTOR, subject_id=None, now=now,
            object_type=kind, object_id=grant.organisation_code or grant.department_code,
            details={"grant": str(grant.id), "reason": "account_erased"},
        )  # fmt: skip
        ended.append(EndedConsent(grant.id, grant.organisation_code, grant.department_code))
    session.flush()
    return ended


def consents_ended_by_erasure(
    session: Session, *, recipient_kind: str, code: str, since: dt.datetime
) -> list[tuple[str, dt.datetime]]:
    """(grant id, when) of the recipient's consents that ended because the citizen's account
    was erased, since ``since``, newest first: what the organisation's page tells its members."""
    rows = session.execute(
        select(AuditEvent.details, AuditEvent.occurred_at)
        .where(
            AuditEvent.tag == EventTag.CONSENT_WITHDRAWN.value,
            AuditEvent.object_type == recipient_kind,
            AuditEvent.object_id == code,
            AuditEvent.actor == ERASURE_ACTOR,
            AuditEvent.occurred_at >= since,
        )
        .order_by(AuditEvent.seq.desc())
        .limit(100)
    ).all()
    return [(str(d.get("grant", "")), at) for d, at in rows]


def _count(session: Session, stmt: object) -> int:
    return int(session.scalar(stmt) or 0)  # type: ignore[call-overload]


def shred_vault(
    session: Session, *, ctx: VaultContext, account_id: int, now: dt.datetime
) -> ShreddedVault:
    """End the account's consents, destroy its data keys and owner key, delete its documents,
    consents and contact details; the blobs go once this commits. Idempotent."""
    ended = _end_consents(session, account_id, now)
    if not is_postgresql(session):
        # SQLite: what these statements free is overwritten with zeros, not only unlinked.
        session.execute(text("PRAGMA secure_delete=ON"))
    docs = select(Document.id).where(Document.owner_id == account_id)
    versions = session.execute(
        select(DocumentVersion.id, DocumentVersion.blob_id).where(
            DocumentVersion.document_id.in_(docs)
        )
    ).all()
    blob_ids = sorted({blob for _, blob in versions})
    zero = bytes(32)
    # Overwritten before deletion: the page that held a key is rewritten, not only unlinked.
    session.execute(update(DocumentVersion).where(DocumentVersion.document_id.in_(docs))
                    .values(wrapped_dek=zero))  # fmt: skip
    session.execute(update(OwnerKey).where(OwnerKey.account_id == account_id)
                    .values(wrapped_key=zero))  # fmt: skip
    grants = select(Grant.id).where(Grant.owner_id == account_id)
    consents = _count(session, select(func.count()).select_from(Grant)
                      .where(Grant.owner_id == account_id))  # fmt: skip
    contacts = _count(session, select(func.count()).select_from(NoticePrefs)
                      .where(NoticePrefs.account_id == account_id))  # fmt: skip
    documents = _count(session, select(func.count()).select_from(Document)
                       .where(Document.owner_id == account_id))  # fmt: skip
    session.execute(delete(GrantDocument).where(GrantDocument.grant_id.in_(grants)))
    session.execute(delete(Grant).where(Grant.owner_id == account_id))
    session.execute(delete(DocumentVersion).where(DocumentVersion.document_id.in_(docs)))
    session.execute(delete(Document).where(Document.owner_id == account_id))
    owner_keys = session.execute(delete(OwnerKey).where(OwnerKey.account_id == account_id))
    session.execute(delete(NoticePrefs).where(NoticePrefs.account_id == account_id))
    remove_namings_of(session, account_id=account_id, actor=ERASURE_ACTOR, now=now)
    session.flush()
    for blob_id in blob_ids:
        remove_after_commit(session, ctx.blobs, blob_id)
    return ShreddedVault(
        documents=documents, versions=len(versions), blobs=len(blob_ids),
        data_keys=len(versions), owner_keys=int(owner_keys.rowcount or 0),  # type: ignore[attr-defined]
        consents=consents, consents_ended=tuple(ended), contact_details=contacts,
    )  # fmt: skip

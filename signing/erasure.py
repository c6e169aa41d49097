"""Closing an account: a grace period, then erasure, and a signed certificate of what was erased.

A citizen asks (confirmed with their passkey) and may cancel (again with their passkey) until
``due_at``, 14 days later by default. Then the periodic job erases, in one transaction:

- the vault (``vault.erasure.shred_vault``): consents end (the organisation's or department's
  side of the ledger says so, and a request's callback hears ``consent.withdrawn``), every data
  key and the owner key are overwritten and deleted, documents and contact details deleted, the
  blobs removed once the transaction commits;
- the citizen's applications and disputes; requests they answered keep the organisation's record
  but no longer point at them; the department's register keeps each certificate issued to them
  (it is the department's record) but no longer points at the account;
- every ledger event about or by them is wiped to its commitments (``audit.redaction``), so the
  chain, the signed tree heads and everyone else's proofs still check;
- sessions, passkeys, recovery codes and the account itself.

What was erased is written into a deletion certificate signed by the deployment's ledger key
(a JWS, like consent receipts). It names nobody: its ``subject`` is SHA-256 over the secret of
the citizen's link and their CNIC, so only the holder of the link can show it was theirs. The
file is canonical JSON: one byte changed anywhere and :func:`read_deletion_certificate` refuses it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from audit import EventTag, record_event
from audit.errors import AuditError
from audit.ledger import sign_statement, verify_statement
from audit.redaction import redact_person
from identity.accounts import actor_of, remove_account
from identity.models import Account, Role
from keys.stores import KeyStore
from signing.errors import SigningError
from signing.models import (
    Application,
    ApplicationStep,
    Dispute,
    DisputeStep,
    DocumentRequest,
    Erasure,
    IssuedCertificate,
)
from signing.webhooks import queue_event
from vault.erasure import ERASURE_ACTOR, ShreddedVault, open_for_owner, seal_for_owner, shred_vault
from vault.service import VaultContext


class ErasureStatus(StrEnum):
    """Where a closing of an account stands."""

    PENDING = "pending"
    CANCELLED = "cancelled"
    ERASED = "erased"


PENDING, CANCELLED, ERASED = ErasureStatus.PENDING, ErasureStatus.CANCELLED, ErasureStatus.ERASED
GRACE = dt.timedelta(days=14)
CERTIFICATE_TYPE = "amanat-deletion-certificate/1"
ATTACHMENT = "deletion-certificate.json"
_SEALED = "erasure-link"


class ErasureRefused(SigningError):
    """Not a citizen, already asked for, or nothing to cancel."""


class DeletionCertificateInvalid(SigningError):
    """A file that is not a deletion certificate of this deployment, exactly as it was signed."""


@dataclass(frozen=True)
class StartedErasure:
    """A requested erasure and the secret of the citizen's link (shown to them, kept by them)."""

    erasure: Erasure
    token: str


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def subject_commitment(token: str, cnic: str) -> str:
    """Who was erased, in a form only the holder of the link's secret can open: hex SHA-256."""
    return hashlib.sha256(f"amanat-erasure/1\n{token}\n{cnic}".encode()).hexdigest()


def pending_erasure(session: Session, *, account_id: int) -> Erasure | None:
    """The account's erasure waiting for its day, if any."""
    return session.scalar(
        select(Erasure).where(Erasure.account_id == account_id, Erasure.status == PENDING)
    )


def request_erasure(
    session: Session,
    *,
    ctx: VaultContext,
    account: Account,
    language: str,
    now: dt.datetime,
    grace: dt.timedelta = GRACE,
) -> StartedErasure:
    """Ask for the account to be erased after ``grace``; an event of the citizen's activity (and
    so a notice on every channel they chose)."""
    if account.role != Role.CITIZEN:
        raise ErasureRefused("Citizens only.", code="erasure_citizens_only")
    if pending_erasure(session, account_id=account.id) is not None:
        raise ErasureRefused("Already requested.", code="erasure_already_requested")
    token = secrets.token_urlsafe(32)
    row = Erasure(
        id=uuid.uuid4(), account_id=account.id, status=PENDING, language=language,
        token_hash=_token_hash(token), requested_at=now, due_at=now + grace,
        token_sealed=seal_for_owner(session, ctx=ctx, account_id=account.id, what=_SEALED,
                                    value=token.encode(), now=now),
    )  # fmt: skip
    session.add(row)
    session.flush()
    record_event(
        session, tag=EventTag.ACCOUNT_ERASURE_REQUESTED, actor=actor_of(account),
        subject_id=account.id, now=now, object_type="erasure", object_id=str(row.id),
        details={"due": row.due_at.isoformat()},
    )  # fmt: skip
    return StartedErasure(row, token)


def erasure_token(
    session: Session, *, ctx: VaultContext, erasure: Erasure, now: dt.datetime
) -> str:
    """The secret of a pending erasure's link, opened with the owner's key."""
    if erasure.account_id is None or erasure.token_sealed is None:
        raise ErasureRefused("Nothing pending.", code="erasure_not_requested")
    sealed = open_for_owner(session, ctx=ctx, account_id=erasure.account_id, what=_SEALED,
                            sealed=erasure.token_sealed, now=now)  # fmt: skip
    return sealed.decode()


def cancel_erasure(session: Session, *, account_id: int, now: dt.datetime) -> Erasure:
    """Call the erasure off (the caller confirmed it with the citizen's passkey)."""
    row = pending_erasure(session, account_id=account_id)
    if row is None:
        raise ErasureRefused("Nothing pending.", code="erasure_not_requested")
    row.status, row.cancelled_at, row.token_sealed = CANCELLED, now, None
    session.flush()
    record_event(
        session, tag=EventTag.ACCOUNT_ERASURE_CANCELLED, actor=actor_of(account_id),
        subject_id=account_id, now=now, object_type="erasure", object_id=str(row.id),
    )  # fmt: skip
    return row


# What the citizen's passkey confirms on the closing page: to close, or to call it off.
CLOSE, CANCEL = "close_account", "cancel_erasure"


def action_terms(session: Session, *, account_id: int) -> tuple[dict[str, Any], bytes]:
    """(terms, challenge) the passkey signs for the page's one action: closing the account, or
    calling off the closing that waits. A fresh nonce makes each signature good once."""
    action = CANCEL if pending_erasure(session, account_id=account_id) else CLOSE
    terms = {"action": action, "account": account_id, "nonce": secrets.token_hex(16)}
    return terms, hashlib.sha256(json.dumps(terms, sort_keys=True).encode()).digest()


def carry_out(
    session: Session, *, ctx: VaultContext, account: Account, confirmed: dict[str, Any],
    language: str, grace: dt.timedelta, now: dt.datetime,
) -> Erasure:  # fmt: skip
    """Do what the citizen's passkey confirmed (terms of :func:`action_terms`, for this account)."""
    action = confirmed.get("action")
    if confirmed.get("account") != account.id or action not in (CLOSE, CANCEL):
        raise ErasureRefused("Not this account's confirmation.", code="erasure_not_requested")
    if action == CANCEL:
        return cancel_erasure(session, account_id=account.id, now=now)
    return request_erasure(session, ctx=ctx, account=account, language=language, now=now,
                           grace=grace).erasure  # fmt: skip


def erasure_by_token(session: Session, *, token: str) -> Erasure | None:
    """The erasure a link's secret belongs to (pending, cancelled or done)."""
    return session.scalar(select(Erasure).where(Erasure.token_hash == _token_hash(token or "")))


def due_erasures(session: Session, *, now: dt.datetime, limit: int = 20) -> list[uuid.UUID]:
    """Erasures whose grace period is over, oldest first."""
    return list(
        session.scalars(
            select(Erasure.id)
            .where(Erasure.status == PENDING, Erasure.due_at <= now)
            .order_by(Erasure.due_at)
            .limit(limit)
        )
    )


def _detach_requests(session: Session, account_id: int, now: dt.datetime) -> int:
    """Requests the citizen answered or was asked: the organisation keeps its record; a callback
    hears that the consent is withdrawn; nothing points at the account or its grant any more."""
    requests = session.scalars(
        select(DocumentRequest).where(DocumentRequest.citizen_id == account_id)
    ).all()
    for req in requests:
        if req.grant_id is not None:
            queue_event(session, request=req, event="consent.withdrawn",
                        data={"reason": "account_erased"}, now=now)  # fmt: skip
        req.citizen_id, req.grant_id = None, None
    session.flush()
    return len(requests)


def _count_where(session: Session, model: Any, *condition: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*condition)) or 0)


def _remove_cases(session: Session, account_id: int) -> tuple[int, int]:
    """The citizen's applications and disputes, with their timelines: (applications, disputes)."""
    apps = select(Application.id).where(Application.citizen_id == account_id)
    cases = select(Dispute.id).where(Dispute.citizen_id == account_id)
    counts = (
        _count_where(session, Application, Application.citizen_id == account_id),
        _count_where(session, Dispute, Dispute.citizen_id == account_id),
    )
    session.execute(delete(ApplicationStep).where(ApplicationStep.application_id.in_(apps)))
    session.execute(delete(Application).where(Application.citizen_id == account_id))
    session.execute(delete(DisputeStep).where(DisputeStep.dispute_id.in_(cases)))
    session.execute(delete(Dispute).where(Dispute.citizen_id == account_id))
    return counts


def _detach_register(session: Session, account_id: int) -> int:
    """The register keeps the department's record of each certificate, pointing at no account."""
    result = session.execute(
        update(IssuedCertificate)
        .where(IssuedCertificate.holder_id == account_id)
        .values(holder_id=None, document_id=None)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _erased_counts(vault: ShreddedVault, cases: tuple[int, int], identity: dict[str, int],
                   events: int) -> dict[str, int]:  # fmt: skip
    return {
        "documents": vault.documents, "document_versions": vault.versions,
        "blobs": vault.blobs, "data_keys": vault.data_keys, "owner_keys": vault.owner_keys,
        "consents": vault.consents, "consents_ended": len(vault.consents_ended),
        "contact_details": vault.contact_details, "applications": cases[0],
        "disputes": cases[1], "passkeys": identity["passkeys"],
        "sessions": identity["sessions"], "recovery_codes": identity["recovery_codes"],
        "ledger_events_wiped": events,
    }  # fmt: skip


def erase_account(
    session: Session, *, ctx: VaultContext, erasure_id: uuid.UUID, service: str, now: dt.datetime
) -> Erasure | None:
    """Erase the account of a due erasure and sign its certificate (see the module text).
    Idempotent: an erasure that is not pending and due is left as it is."""
    row = session.get(Erasure, erasure_id, with_for_update=True)
    if row is None or row.status != PENDING or row.due_at > now or row.account_id is None:
        return row
    account_id, token = row.account_id, erasure_token(session, ctx=ctx, erasure=row, now=now)
    account = session.get(Account, account_id)
    assert account is not None  # the row's foreign key says so
    subject = subject_commitment(token, account.login)
    requests = _detach_requests(session, account_id, now)
    vault = shred_vault(session, ctx=ctx, account_id=account_id, now=now)
    register = _detach_register(session, account_id)
    cases = _remove_cases(session, account_id)
    wiped = redact_person(session, account_id=account_id, now=now)
    identity = remove_account(session, account_id=account_id)
    row.status, row.erased_at, row.account_id, row.token_sealed = ERASED, now, None, None
    counts = _erased_counts(vault, cases, identity, wiped.events)
    seq = record_event(
        session, tag=EventTag.ACCOUNT_ERASED, actor=ERASURE_ACTOR, subject_id=None, now=now,
        object_type="erasure", object_id=str(row.id), details={"wiped": wiped.events},
    )  # fmt: skip
    payload = {
        "type": CERTIFICATE_TYPE, "erasure": str(row.id), "service": service,
        "language": row.language, "subject": subject,
        "requested_at": _iso(row.requested_at), "erased_at": _iso(now),
        "erased": counts,
        "kept": {"register_entries": register, "requests_of_organisations": requests},
        "ledger": {"first_wiped": wiped.first_seq, "last_wiped": wiped.last_seq,
                   "erasure_event": seq},
    }  # fmt: skip
    jws = sign_statement(session, keystore=ctx.keystore, payload=payload, now=now)
    row.certificate = {"certificate": payload, "jws": jws}
    session.flush()
    return row


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat(timespec="seconds")


# -- the certificate as a file --------------------------------------------------------------------


def certificate_file(document: dict[str, Any]) -> bytes:
    """The deletion certificate as its one canonical file (sorted keys, two-space indent, UTF-8)."""
    return (json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


@dataclass(frozen=True)
class DeletionCertificate:
    """A deletion certificate that verified: what it says, as signed."""

    erasure: str
    service: str
    language: str
    subject: str
    requested_at: str
    erased_at: str
    erased: dict[str, int]
    kept: dict[str, int]
    document: dict[str, Any]

    def names(self, *, token: str, cnic: str) -> bool:
        """True when the holder of the link ``token`` with this CNIC is the one erased."""
        return secrets.compare_digest(self.subject, subject_commitment(token, cnic))


def read_deletion_certificate(
    session: Session, *, keystore: KeyStore, data: bytes
) -> DeletionCertificate:
    """Check a deletion certificate file: canonical bytes, the ledger key's signature, and the
    readable part equal to what was signed. DeletionCertificateInvalid (one code) otherwise."""
    try:
        document = json.loads(data.decode("utf-8"))
        if not isinstance(document, dict) or certificate_file(document) != data:
            raise ValueError("not the canonical file")
        signed = verify_statement(session, keystore=keystore, token=str(document["jws"]))
        if signed != document["certificate"] or signed.get("type") != CERTIFICATE_TYPE:
            raise ValueError("not what was signed")
        return DeletionCertificate(
            erasure=str(signed["erasure"]), service=str(signed["service"]),
            language=str(signed["language"]), subject=str(signed["subject"]),
            requested_at=str(signed["requested_at"]), erased_at=str(signed["erased_at"]),
            erased=dict(signed["erased"]), kept=dict(signed["kept"]), document=document,
        )  # fmt: skip
    except (ValueError, KeyError, TypeError, RecursionError, AuditError) as exc:
        raise DeletionCertificateInvalid(
            "Not genuine.", code="deletion_certificate_invalid"
        ) from exc

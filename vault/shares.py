"""Sharing under consent: grants, access by organisations and links, withdrawal, receipts.

A grant is made in two steps. :func:`prepare_grant` checks the request (the citizen owns every
document, the organisation exists, purpose, duration and fetch limit are sensible) and returns the
*terms* in plain data plus their hash, the WebAuthn challenge. The citizen's passkey signs that
challenge; :func:`create_grant` then stores the grant with the assertion as evidence. Every access
goes through :func:`authorize` (state, recipient, document in scope) and is written to the ledger
in the same transaction; refused attempts are written by the caller in a transaction of their own
(the refused request itself rolls back) with :func:`record_refusal`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from amanat.db import is_postgresql
from audit import AuditEvent, EventTag, record_event, tally
from audit.ledger import sign_statement
from identity.accounts import actor_of
from identity.errors import NotFound
from identity.models import Account, Organisation
from identity.organisations import get_organisation
from identity.passkeys import Confirmation, check_confirmation
from identity.webauthn import RelyingParty
from vault.errors import DocumentNotFound, InvalidShare, ShareRefused
from vault.models import Document, Grant, GrantDocument
from vault.service import OpenedDocument, VaultContext, open_document

# Limits (the error messages below spell them out, for translation).
MAX_DAYS = 365
MAX_FETCHES = 1000
# Distinct refused-access events one grant can add to its citizen's ledger in a day.
REFUSALS_PER_GRANT_A_DAY = 50
MAX_DOCUMENTS = 50
_CHALLENGE_PREFIX = b"amanat-consent/1\n"


class GrantState(StrEnum):
    """Where a grant stands."""

    ACTIVE = "active"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    EXHAUSTED = "exhausted"


# Why a grant that exists for the recipient cannot be used (web/messages.py has the words).
_REFUSED_CODES = {
    GrantState.WITHDRAWN: "share_withdrawn",
    GrantState.EXPIRED: "share_expired",
    GrantState.EXHAUSTED: "share_exhausted",
}


def grant_state(grant: Grant, now: dt.datetime) -> GrantState:
    """The state at ``now``: withdrawn beats expired beats fetches used up."""
    if grant.withdrawn_at is not None:
        return GrantState.WITHDRAWN
    if now >= grant.expires_at:
        return GrantState.EXPIRED
    if grant.max_fetches is not None and grant.fetch_count >= grant.max_fetches:
        return GrantState.EXHAUSTED
    return GrantState.ACTIVE


def canonical(terms: dict[str, Any]) -> bytes:
    """The canonical JSON of terms (sorted keys, no spaces, UTF-8)."""
    return json.dumps(terms, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def consent_challenge(terms: dict[str, Any]) -> bytes:
    """What the citizen's passkey signs: SHA-256 over a prefix and the canonical terms."""
    return hashlib.sha256(_CHALLENGE_PREFIX + canonical(terms)).digest()


@dataclass(frozen=True)
class PendingGrant:
    """Terms ready for the citizen to confirm, and the challenge their passkey signs."""

    terms: dict[str, Any]
    challenge: bytes


def _clean_purpose(purpose: str) -> str:
    text = " ".join((purpose or "").split())
    if not 3 <= len(text) <= 200:
        raise InvalidShare(
            "State the purpose in 3 to 200 characters.",
            code="share_purpose_length",
            low=3,
            high=200,
        )
    return text


def owned_documents(
    session: Session, *, owner_id: int, document_ids: Sequence[uuid.UUID]
) -> list[Document]:
    """The owner's documents with these ids (1 to MAX_DOCUMENTS of them); ShareRefused when one
    is not theirs, with the same answer as for one that does not exist."""
    ids = list(dict.fromkeys(document_ids))
    if not ids:
        raise InvalidShare("Choose at least one document.", code="share_no_documents")
    if len(ids) > MAX_DOCUMENTS:
        raise InvalidShare("Too many documents.", code="share_too_many_documents", n=MAX_DOCUMENTS)
    docs = session.scalars(
        select(Document).where(Document.id.in_(ids), Document.owner_id == owner_id)
    ).all()
    if len(docs) != len(ids):
        # The same answer whether the document is someone else's or does not exist.
        raise ShareRefused(
            "Not the owner's document.",
            code="share_not_your_document",
            reason="not-owner",
            status=404,
        )
    return sorted(docs, key=lambda d: ids.index(d.id))


def prepare_grant(
    session: Session,
    *,
    owner_id: int,
    document_ids: Sequence[uuid.UUID],
    purpose: str,
    days: int,
    now: dt.datetime,
    organisation_code: str | None = None,
    max_fetches: int | None = None,
    request: str | None = None,
    department: Mapping[str, str | None] | None = None,
    application: str | None = None,
) -> PendingGrant:
    """Check a consent request and spell out its terms (nothing is stored yet).

    ``organisation_code`` None means a one-off link for someone without an account; ``request``
    names the organisation's request this consent answers (it becomes part of what is signed);
    ``department`` (code and name, checked by the caller) with ``application`` makes it a consent
    for a department to read supporting documents of an application.
    """
    owner = session.get(Account, owner_id)
    if owner is None:
        raise NotFound("no such account")
    docs = owned_documents(session, owner_id=owner_id, document_ids=document_ids)
    if not 1 <= days <= MAX_DAYS:
        raise InvalidShare("Bad duration.", code="share_days_range", low=1, high=MAX_DAYS)
    if max_fetches is not None and not 1 <= max_fetches <= MAX_FETCHES:
        raise InvalidShare("Bad fetch limit.", code="share_fetches_range", low=1, high=MAX_FETCHES)
    recipient: dict[str, Any]
    if department is not None:
        recipient = {"type": "department", "code": department["code"], "name": department["name"]}
        if department.get("name_ur"):
            recipient["name_ur"] = department["name_ur"]
    elif organisation_code:
        org = get_organisation(session, code=organisation_code)
        recipient = {"type": "organisation", "code": org.code, "name": org.name}
        if org.name_ur:  # what an Urdu reader saw when she confirmed
            recipient["name_ur"] = org.name_ur
    else:
        recipient = {"type": "link"}
    terms = {
        "version": 1,
        "grant": str(uuid.uuid4()),
        "citizen": {"account": owner.id, "name": owner.display_name},
        "recipient": recipient,
        "documents": [{"id": str(d.id), "title": d.title} for d in docs],
        "purpose": _clean_purpose(purpose),
        "created_at": now.astimezone(dt.UTC).isoformat(timespec="seconds"),
        "expires_at": (now + dt.timedelta(days=days))
        .astimezone(dt.UTC)
        .isoformat(timespec="seconds"),
        "max_fetches": max_fetches,
    }
    if request is not None:
        terms["request"] = request
    if application is not None:
        terms["application"] = application
    return PendingGrant(terms, consent_challenge(terms))


@dataclass(frozen=True)
class CreatedGrant:
    """A stored grant; for a link share also the secret (shown once, only its hash is kept)."""

    grant: Grant
    link_secret: str | None


def _hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def create_grant(
    session: Session, *, owner_id: int, confirmation: Confirmation, now: dt.datetime
) -> CreatedGrant:
    """Store the grant the citizen confirmed with their passkey (terms come from the ceremony)."""
    terms = confirmation.payload
    if terms.get("citizen", {}).get("account") != owner_id:
        raise ShareRefused(
            "Not the owner's confirmation.", code="share_not_yours", reason="not-owner", status=404
        )
    expires = dt.datetime.fromisoformat(terms["expires_at"])
    if expires <= now:
        raise InvalidShare("The request expired.", code="share_request_expired")
    # The documents may have changed hands between the two steps: check again.
    ids = [uuid.UUID(d["id"]) for d in terms["documents"]]
    docs = owned_documents(session, owner_id=owner_id, document_ids=ids)
    recipient = terms["recipient"]
    org_code = recipient.get("code") if recipient.get("type") == "organisation" else None
    department_code = recipient.get("code") if recipient.get("type") == "department" else None
    if org_code:
        get_organisation(session, code=org_code)
    secret = None if org_code or department_code else secrets.token_urlsafe(32)
    grant = Grant(
        id=uuid.UUID(terms["grant"]),
        owner_id=owner_id,
        organisation_code=org_code,
        department_code=department_code,
        link_secret_hash=_hash_secret(secret) if secret else None,
        purpose=terms["purpose"],
        created_at=now,
        expires_at=expires,
        max_fetches=terms.get("max_fetches"),
        fetch_count=0,
        terms=terms,
        challenge=consent_challenge(terms),
        credential_data=confirmation.credential_data,
        evidence=confirmation.evidence,
    )
    grant.documents = [GrantDocument(document_id=d.id, title=d.title) for d in docs]
    session.add(grant)
    session.flush()
    _log(session, grant, EventTag.CONSENT_GRANTED, actor=actor_of(owner_id), now=now, details={})
    return CreatedGrant(grant, secret)


# The recipient of a link grant in the machine-readable receipt (thirdPartyName) and in ledger
# events from before they recorded recipient_type; pages say it in the reader's language.
LINK_RECIPIENT = "anyone with the link"


def recipient_name(grant: Grant | dict[str, Any]) -> str:
    """Who a grant is for: the recipient's (English) name, or LINK_RECIPIENT."""
    terms = grant.terms if isinstance(grant, Grant) else grant
    recipient = terms.get("recipient", {})
    return str(recipient.get("name") or LINK_RECIPIENT)


def _recipient_details(grant: Grant) -> dict[str, Any]:
    # The Urdu name (when the terms carry one) lets an Urdu reader's activity name it in Urdu.
    recipient = grant.terms.get("recipient", {})
    details = {"recipient": recipient_name(grant), "recipient_type": recipient.get("type")}
    if recipient.get("name_ur"):
        details["recipient_ur"] = recipient["name_ur"]
    return details


def _log(
    session: Session,
    grant: Grant,
    tag: EventTag,
    *,
    actor: str,
    now: dt.datetime,
    details: dict[str, Any],
) -> None:
    record_event(
        session,
        tag=tag,
        actor=actor,
        subject_id=grant.owner_id,
        object_type="grant",
        object_id=str(grant.id),
        details={**_recipient_details(grant), "purpose": grant.purpose, **details},
        now=now,
    )


def list_grants(session: Session, *, owner_id: int, now: dt.datetime) -> Sequence[Grant]:
    """The citizen's grants, newest first (natural ends are written to the ledger on the way)."""
    grants = session.scalars(
        select(Grant).where(Grant.owner_id == owner_id).order_by(Grant.created_at.desc())
    ).all()
    for grant in grants:
        settle(session, grant, now=now)
    return grants


def get_own_grant(session: Session, *, owner_id: int, grant_id: uuid.UUID) -> Grant:
    """One of the citizen's grants (404 otherwise)."""
    grant = session.get(Grant, grant_id)
    if grant is None or grant.owner_id != owner_id:
        raise ShareRefused(
            "No such consent.", code="share_no_such_consent", reason="unknown-grant", status=404
        )
    return grant


def settle(session: Session, grant: Grant, *, now: dt.datetime) -> GrantState:
    """The grant's state; the first time an expiry or used-up limit is seen, it is recorded."""
    state = grant_state(grant, now)
    if state in (GrantState.EXPIRED, GrantState.EXHAUSTED) and grant.ended_at is None:
        grant.ended_at = now
        _log(
            session,
            grant,
            EventTag.CONSENT_EXPIRED,
            actor="system",
            now=now,
            details={"reason": state.value},
        )
        session.flush()
    return state


def end_grant(session: Session, *, grant_id: uuid.UUID, now: dt.datetime) -> None:
    """End a consent now because what it was for is over (an application was decided): nothing
    can be fetched under it any more, and the citizen's ledger says why."""
    grant = session.get(Grant, grant_id)
    if grant is None or grant.withdrawn_at is not None or grant.ended_at is not None:
        return
    grant.expires_at = min(grant.expires_at, now)
    grant.ended_at = now
    _log(
        session, grant, EventTag.CONSENT_EXPIRED, actor="system", now=now,
        details={"reason": "closed"},
    )  # fmt: skip
    session.flush()


def settle_ended(session: Session, *, now: dt.datetime) -> int:
    """Record every grant that ended by time or fetch count and is not yet recorded (cron)."""
    grants = session.scalars(
        select(Grant).where(
            Grant.ended_at.is_(None),
            Grant.withdrawn_at.is_(None),
            or_(
                Grant.expires_at <= now,
                and_(Grant.max_fetches.is_not(None), Grant.fetch_count >= Grant.max_fetches),
            ),
        )
    ).all()
    for grant in grants:
        settle(session, grant, now=now)
    return len(grants)


def withdraw_grant(
    session: Session, *, owner_id: int, grant_id: uuid.UUID, now: dt.datetime
) -> Grant:
    """End a consent at once; idempotent for a grant already withdrawn."""
    grant = get_own_grant(session, owner_id=owner_id, grant_id=grant_id)
    if grant.withdrawn_at is None:
        grant.withdrawn_at = now
        _log(
            session,
            grant,
            EventTag.CONSENT_WITHDRAWN,
            actor=actor_of(owner_id),
            now=now,
            details={},
        )
        session.flush()
    return grant


def accesses(session: Session, *, grant: Grant) -> Sequence[AuditEvent]:
    """The ledger's events under this grant (grant, fetches, refusals, end), oldest first."""
    return session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.subject_id == grant.owner_id,
            AuditEvent.object_type == "grant",
            AuditEvent.object_id == str(grant.id),
        )
        .order_by(AuditEvent.seq)
    ).all()


# -- access by recipients -------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    """Who is asking: an organisation (member or API key) or a holder of a link's secret."""

    actor: str  # for the ledger: "organisation:BANK (api-key k1)", "link"
    organisation_code: str | None = None
    link_secret: str | None = None
    department_code: str | None = None


def _lock(session: Session, grant_id: uuid.UUID) -> Grant | None:
    query = select(Grant).where(Grant.id == grant_id)
    if is_postgresql(session):
        # Fetch counts are read-modify-write: two parallel fetches must not both take the last one.
        query = query.with_for_update()
    return session.scalars(query).first()


def authorize(
    session: Session, *, grant_id: uuid.UUID, recipient: Recipient, now: dt.datetime
) -> Grant:
    """The grant if ``recipient`` may use it now; ShareRefused (with a reason) otherwise."""
    grant = _lock(session, grant_id)
    unknown = ShareRefused(
        "No such grant.", code="share_not_found", reason="unknown-grant", status=404
    )
    if grant is None:
        raise unknown
    if recipient.department_code is not None:
        if grant.department_code != recipient.department_code:
            raise ShareRefused(
                "Another recipient.", code="share_not_found", reason="other-recipient", status=404
            )
    elif recipient.organisation_code is not None:
        if grant.organisation_code != recipient.organisation_code:
            # Another organisation's grant: answer as if it did not exist.
            raise ShareRefused(
                "Another recipient.", code="share_not_found", reason="other-recipient", status=404
            )
    else:
        expected = grant.link_secret_hash
        given = _hash_secret(recipient.link_secret or "")
        if expected is None or not hmac.compare_digest(expected, given):
            raise ShareRefused(
                "Wrong link secret.", code="share_not_found", reason="bad-link-secret", status=404
            )
    state = settle(session, grant, now=now)
    if state is not GrantState.ACTIVE:
        raise ShareRefused(
            f"The consent is {state.value}.", code=_REFUSED_CODES[state], reason=state.value
        )
    return grant


def list_shared(
    session: Session, *, grant_id: uuid.UUID, recipient: Recipient, now: dt.datetime
) -> Grant:
    """The grant and its documents for the recipient; the look is recorded for the citizen."""
    grant = authorize(session, grant_id=grant_id, recipient=recipient, now=now)
    _log(session, grant, EventTag.SHARE_LISTED, actor=recipient.actor, now=now, details={})
    return grant


def fetch_shared_document(
    session: Session,
    *,
    ctx: VaultContext,
    grant_id: uuid.UUID,
    document_id: uuid.UUID,
    recipient: Recipient,
    now: dt.datetime,
) -> OpenedDocument:
    """Decrypt a shared document for the recipient, count the fetch and record it."""
    grant = authorize(session, grant_id=grant_id, recipient=recipient, now=now)
    item = next((d for d in grant.documents if d.document_id == document_id), None)
    if item is None:
        raise ShareRefused(
            "Not in the consent.", code="share_out_of_scope", reason="out-of-scope", status=404
        )
    try:
        opened = open_document(
            session,
            ctx=ctx,
            owner_id=grant.owner_id,
            document_id=document_id,
            purpose="share",
            now=now,
        )
    except DocumentNotFound:
        raise ShareRefused(
            "Deleted.", code="share_document_gone", reason="document-gone", status=404
        ) from None
    grant.fetch_count += 1
    _log(
        session,
        grant,
        EventTag.CONSENT_USED,
        actor=recipient.actor,
        now=now,
        details={"document": str(document_id), "title": item.title, "fetch": grant.fetch_count},
    )
    session.flush()
    return opened


def record_refusal(
    session: Session,
    *,
    grant_id: uuid.UUID | None,
    actor: str,
    reason: str,
    now: dt.datetime,
    document_id: uuid.UUID | None = None,
) -> bool:
    """Write a refused attempt on a citizen's grant to their ledger; False when no grant matches.

    Attempts on grants that do not exist concern no citizen and are not written to the ledger
    (anyone could fill it with them); the web logs them instead. Also records the grant's natural
    end if the refusal is the first to notice it (the refused request's own transaction rolled
    back).
    """
    grant = session.get(Grant, grant_id) if grant_id is not None else None
    if grant is None:
        return False
    settle(session, grant, now=now)
    # Folded (audit.tally): one event per grant, actor and reason a day, and at most
    # REFUSALS_PER_GRANT_A_DAY different ones (a claimed API key id is the caller's to vary).
    key = f"refused:{grant.id}:{actor}:{reason}"
    first = tally.count(session, key=key, now=now) == 1
    if (
        not first
        or tally.count(session, key=f"refused:{grant.id}", now=now) > REFUSALS_PER_GRANT_A_DAY
    ):
        return True
    details: dict[str, Any] = {"reason": reason, "tally": key}
    if document_id is not None:
        details["document"] = str(document_id)
    _log(session, grant, EventTag.CONSENT_ACCESS_REFUSED, actor=actor, now=now, details=details)
    return True


def grants_for_organisation(
    session: Session, *, organisation_code: str, now: dt.datetime
) -> Sequence[Grant]:
    """An organisation's active grants, newest first."""
    grants = session.scalars(
        select(Grant)
        .where(Grant.organisation_code == organisation_code)
        .order_by(Grant.created_at.desc())
    ).all()
    return [g for g in grants if grant_state(g, now) is GrantState.ACTIVE]


# -- consent receipts -----------------------------------------------------------------------------


def _receipt_service(grant: Grant) -> dict[str, Any]:
    """The receipt's one service: sharing these documents for this purpose (Kantara CR v1.1)."""
    limit = f", at most {grant.max_fetches} downloads" if grant.max_fetches else ""
    return {
        "service": "Sharing of documents from the citizen's Amanat vault",
        "purposes": [
            {
                "purpose": grant.purpose,
                "purposeCategory": ["Core Function"],
                "consentType": "EXPLICIT",
                "piiCategory": [d["title"] for d in grant.terms["documents"]],
                "primaryPurpose": True,
                "termination": f"until {grant.expires_at.isoformat()} or withdrawal{limit}",
                "thirdPartyDisclosure": True,
                "thirdPartyName": recipient_name(grant),
            }
        ],
    }


def _consent_record(grant: Grant, now: dt.datetime) -> dict[str, Any]:
    """The ISO/IEC TS 27560 consent record fields, with the evidence the passkey signed."""
    return {
        "recordId": str(grant.id),
        "state": grant_state(grant, now).value,
        "expiry": grant.expires_at.isoformat(),
        "withdrawn": grant.withdrawn_at.isoformat() if grant.withdrawn_at else None,
        "evidence": {
            "terms": grant.terms,
            "challenge_sha256": grant.challenge.hex(),
            "webauthn_assertion": grant.evidence,
        },
        "issued_at": now.astimezone(dt.UTC).isoformat(timespec="seconds"),
    }


def consent_receipt(
    session: Session,
    *,
    grant: Grant,
    ctx: VaultContext,
    base_url: str,
    now: dt.datetime,
) -> tuple[dict[str, Any], str]:
    """The consent receipt (Kantara CR v1.1 and ISO/IEC TS 27560 record fields) and its JWS.

    Signed by the ledger key; anyone can check it with the key the service publishes.
    """
    org: Organisation | None = (
        session.get(Organisation, grant.organisation_code) if grant.organisation_code else None
    )
    receipt: dict[str, Any] = {
        # Kantara Initiative Consent Receipt Specification v1.1
        "version": "KI-CR-v1.1.0",
        "jurisdiction": "PK",
        "consentTimestamp": int(grant.created_at.timestamp()),
        "collectionMethod": "Amanat web: the citizen read the terms and confirmed them with their"
        " own passkey (WebAuthn assertion over the terms' hash)",
        "consentReceiptID": str(grant.id),
        "language": "en",
        "piiPrincipalId": f"amanat:account:{grant.owner_id}",
        "piiControllers": [
            {
                "piiController": org.name if org else "The holder of the sharing link",
                "onBehalf": False,
                "contact": org.code if org else "",
                "url": "",
            }
        ],
        "policyUrl": base_url.rstrip("/") + "/privacy",
        "services": [_receipt_service(grant)],
        "sensitive": True,
        "spiCat": ["official identity and civil-status documents"],
        **_consent_record(grant, now),
    }
    token = sign_statement(session, keystore=ctx.keystore, payload=receipt, now=now)
    return receipt, token


def check_grant_evidence(grant: Grant, *, rp: RelyingParty) -> bool:
    """Re-check the kept consent: the terms hash to the challenge the citizen's passkey signed."""
    if consent_challenge(grant.terms) != grant.challenge:
        return False
    return check_confirmation(
        rp=rp,
        credential_data=grant.credential_data,
        evidence=grant.evidence,
        challenge=grant.challenge,
    )

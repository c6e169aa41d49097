"""Signing tables: PKI keys and authorities, departments, the certificate registry."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from amanat.db import Base, BigId, UtcDateTime


class KeyStatus(StrEnum):
    """A department certificate (its signing key): in use, or revoked."""

    ACTIVE = "active"
    REVOKED = "revoked"


class RegisterStatus(StrEnum):
    """What the register stores about a certificate (signing.check adds "expired" by date)."""

    VALID = "valid"
    REVOKED = "revoked"


class PkiKey(Base):
    """A private key of the deployment PKI: sealed under the key store, or held in a token."""

    __tablename__ = "signing_pki_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    label: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    storage: Mapped[str] = mapped_column(String(16), nullable=False)  # "sealed" or "pkcs11"
    master_version: Mapped[int | None] = mapped_column(Integer)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary(128))
    ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)


class Authority(Base):
    """The deployment's own certificates: root CA, OCSP responder, time-stamping authority."""

    __tablename__ = "signing_authorities"

    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    cert_der: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    key_id: Mapped[int] = mapped_column(ForeignKey("signing_pki_keys.id"), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)


class Department(Base):
    """An issuing department (civil registry, university, district office)."""

    __tablename__ = "signing_departments"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    name_ur: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)

    certs: Mapped[list[DepartmentCert]] = relationship(
        back_populates="department", order_by="DepartmentCert.id"
    )


class DepartmentCert(Base):
    """A signing certificate of a department; exactly one is active at a time."""

    __tablename__ = "signing_department_certs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    department_code: Mapped[str] = mapped_column(
        ForeignKey("signing_departments.code", name="fk_signing_department_certs_department"),
        index=True,
        nullable=False,
    )
    cert_der: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    serial_hex: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    kid: Mapped[bytes] = mapped_column(LargeBinary(8), index=True, nullable=False)
    key_id: Mapped[int] = mapped_column(ForeignKey("signing_pki_keys.id"), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # active | revoked
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    revocation_reason: Mapped[str | None] = mapped_column(String(32))
    # The invalidity date of a compromise: certificates recorded from then on fail on every
    # channel (None: from the revocation itself).
    invalid_since: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    @property
    def compromised_since(self) -> dt.datetime | None:
        """From when nothing this key signed is trusted (None while it is in good standing)."""
        if self.status != KeyStatus.REVOKED:
            return None
        return self.invalid_since or self.revoked_at

    department: Mapped[Department] = relationship(back_populates="certs")


class IssuedCertificate(Base):
    """The registry: one row per certificate a department issued."""

    __tablename__ = "signing_certificates"
    __table_args__ = (
        Index("ix_signing_certificates_department_issued", "department_code", "issued_at"),
    )

    serial: Mapped[str] = mapped_column(String(24), primary_key=True)
    department_code: Mapped[str] = mapped_column(
        ForeignKey("signing_departments.code"), nullable=False
    )
    type_code: Mapped[str] = mapped_column(String(32), nullable=False)
    # None once the holder's account was erased (signing/erasure.py): the register is the
    # department's record and stays, but no longer points at anyone's account.
    holder_id: Mapped[int | None] = mapped_column(
        ForeignKey("identity_accounts.id"), index=True, nullable=True
    )
    holder_name: Mapped[str] = mapped_column(String(120), nullable=False)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    level: Mapped[str] = mapped_column(String(8), nullable=False)
    pdf_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    document_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    department_cert_id: Mapped[int] = mapped_column(
        ForeignKey("signing_department_certs.id", name="fk_signing_certificates_department_cert"),
        nullable=False,
    )
    batch_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    issued_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # valid | revoked
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, index=True)
    revocation_reason: Mapped[str | None] = mapped_column(String(200))
    # Its place in the deployment's status list (signing/status_list.py), drawn at random so
    # that the list tells nobody the order of issuance; None for certificates issued before.
    status_idx: Mapped[int | None] = mapped_column(Integer, unique=True)
    # When the certificate of its newest document time-stamp ends (signing/archive.py renews the
    # file before then); None until the archive job first read the file.
    archive_expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, index=True)


class CrlState(Base):
    """The current CRL of a CA (regenerated on revocation and when it nears its next update)."""

    __tablename__ = "signing_crls"

    ca: Mapped[str] = mapped_column(String(16), primary_key=True)
    number: Mapped[int] = mapped_column(BigInteger, nullable=False)
    der: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)


class Batch(Base):
    """A batch issuance: one CSV file of one department, worked on by the task engine's workers.

    Its key (department and the file's SHA-256) makes sending the same file again resume the batch
    instead of starting a second one.
    """

    __tablename__ = "signing_batches"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True, nullable=False)
    department_code: Mapped[str] = mapped_column(
        ForeignKey("signing_departments.code"), nullable=False
    )
    actor: Mapped[str] = mapped_column(String(120), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    total: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class BatchItem(Base):
    """One row of a batch: waiting, issued (with its serial) or failed (with its refusal code).

    A worker leases a row before it signs it; a worker that dies leaves the lease to run out, and
    the row is then taken again (its batch key makes sure it is never issued twice).
    """

    __tablename__ = "signing_batch_items"
    __table_args__ = (Index("ix_signing_batch_items_batch_status", "batch_id", "status", "line"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    batch_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("signing_batches.id"), nullable=False)
    line: Mapped[int] = mapped_column(Integer, nullable=False)
    citizen: Mapped[str] = mapped_column(String(40), nullable=False)
    # The checked request while the row waits; cleared once it is done (the registry keeps it).
    request: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    status: Mapped[str] = mapped_column(String(8), nullable=False)  # pending | issued | failed
    serial: Mapped[str | None] = mapped_column(String(24))
    error: Mapped[dict[str, Any] | None] = mapped_column(
        JSON(none_as_null=True)
    )  # {"code": ..., "params": {...}}
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    leased_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)


class DepartmentApiKey(Base):
    """A department's API key for its own record system (``amanat_<key id>_<secret>``): the
    secret's SHA-256 is kept, never the secret; scopes say what the key may do."""

    __tablename__ = "signing_department_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key_id: Mapped[str] = mapped_column(String(16), unique=True, nullable=False)
    department_code: Mapped[str] = mapped_column(
        ForeignKey("signing_departments.code"), nullable=False
    )
    label: Mapped[str] = mapped_column(String(80), nullable=False)
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    scopes: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class DocumentRequest(Base):
    """An organisation's request for documents: answered once by one citizen (approved with a
    passkey-signed consent, or declined) or left to expire.

    A request naming a CNIC is for that citizen only; one without is bound to the first citizen
    who opens its link while signed in, and nobody else can answer it after that.
    """

    __tablename__ = "signing_requests"
    __table_args__ = (
        Index("ix_signing_requests_organisation", "organisation_code", "created_at"),
        Index("ix_signing_requests_cnic", "cnic"),
        Index("ix_signing_requests_citizen", "citizen_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    organisation_code: Mapped[str] = mapped_column(
        ForeignKey("identity_organisations.code"), nullable=False
    )
    actor: Mapped[str] = mapped_column(String(120), nullable=False)
    types: Mapped[list[str]] = mapped_column(JSON, nullable=False)  # certificate type codes
    kinds: Mapped[list[str]] = mapped_column(JSON, nullable=False)  # kinds of uploaded document
    purpose: Mapped[str] = mapped_column(String(200), nullable=False)
    days: Mapped[int] = mapped_column(Integer, nullable=False)  # how long the consent would last
    max_fetches: Mapped[int | None] = mapped_column(Integer)
    cnic: Mapped[str | None] = mapped_column(String(15))
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("identity_accounts.id"))
    callback_url: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(10), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    answered_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    grant_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("vault_grants.id"))


class WebhookSecret(Base):
    """An organisation's webhook signing secret, wrapped by the key store's master key."""

    __tablename__ = "signing_webhook_secrets"

    organisation_code: Mapped[str] = mapped_column(
        ForeignKey("identity_organisations.code"), primary_key=True
    )
    key_version: Mapped[int] = mapped_column(Integer, nullable=False)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)


class WebhookDelivery(Base):
    """One event to tell an organisation's callback URL: the exact body, retried with back-off
    until it is answered 2xx or given up."""

    __tablename__ = "signing_webhook_deliveries"
    __table_args__ = (Index("ix_signing_webhook_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("signing_requests.id"), nullable=False)
    organisation_code: Mapped[str] = mapped_column(String(32), nullable=False)
    event: Mapped[str] = mapped_column(String(32), nullable=False)
    url: Mapped[str] = mapped_column(String(500), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False)  # pending|delivered|failed
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    tries: Mapped[list[WebhookAttempt]] = relationship(order_by="WebhookAttempt.id")


class WebhookAttempt(Base):
    """One try at a delivery: when, the HTTP status (or why there was none), how long."""

    __tablename__ = "signing_webhook_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("signing_webhook_deliveries.id"), nullable=False
    )
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(200))
    ms: Mapped[int] = mapped_column(Integer, nullable=False)


class DepartmentOffer(Base):
    """A certificate type citizens may apply to a department for."""

    __tablename__ = "signing_department_offers"

    department_code: Mapped[str] = mapped_column(
        ForeignKey("signing_departments.code"), primary_key=True
    )
    type_code: Mapped[str] = mapped_column(String(32), primary_key=True)


class Application(Base):
    """A citizen's application to a department for a certificate, and where it stands.

    Supporting documents are shared with the department under consents (``grant_ids``) that end
    when the application is decided; each step is kept in ``steps`` and written to the ledger.
    """

    __tablename__ = "signing_applications"
    __table_args__ = (
        Index("ix_signing_applications_queue", "department_code", "status", "created_at"),
        Index("ix_signing_applications_citizen", "citizen_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    department_code: Mapped[str] = mapped_column(
        ForeignKey("signing_departments.code"), nullable=False
    )
    type_code: Mapped[str] = mapped_column(String(32), nullable=False)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("identity_accounts.id"), nullable=False)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    # draft (waiting for the passkey) | submitted | in_review | info_requested | issued | rejected
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    assigned_to: Mapped[int | None] = mapped_column(ForeignKey("identity_accounts.id"))
    grant_ids: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    serial: Mapped[str | None] = mapped_column(String(24))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    steps: Mapped[list[ApplicationStep]] = relationship(order_by="ApplicationStep.id")


class ApplicationStep(Base):
    """One step of an application's timeline: who did what, when, and what they said."""

    __tablename__ = "signing_application_steps"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("signing_applications.id"), nullable=False
    )
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    actor: Mapped[str] = mapped_column(String(120), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    note: Mapped[str | None] = mapped_column(String(1000))


class Dispute(Base):
    """A citizen's "I did not expect this" about one line of their activity: sent to the
    deployment's data-protection office and to the organisation or department involved."""

    __tablename__ = "signing_disputes"
    __table_args__ = (
        Index("ix_signing_disputes_citizen", "citizen_id", "created_at"),
        Index("ix_signing_disputes_party", "party_kind", "party_code", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("identity_accounts.id"), nullable=False)
    event_seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    # organisation | department | service (no one but the service itself: the office answers)
    party_kind: Mapped[str] = mapped_column(String(16), nullable=False)
    party_code: Mapped[str | None] = mapped_column(String(32))
    # What the line said happened: its tag, who, when, and its details (no document content).
    access: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False)  # open | answered | closed
    outcome: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    steps: Mapped[list[DisputeStep]] = relationship(order_by="DisputeStep.id")


class DisputeStep(Base):
    """One entry of a dispute's timeline: who (citizen, the party, the office) said what."""

    __tablename__ = "signing_dispute_steps"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    dispute_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("signing_disputes.id"), nullable=False)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    side: Mapped[str] = mapped_column(String(12), nullable=False)  # citizen | party | office
    actor: Mapped[str] = mapped_column(String(120), nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)  # opened | answered | closed
    note: Mapped[str] = mapped_column(String(2000), nullable=False)


class StatusListToken(Base):
    """A signed status list (Token Status List, CWT) as published at /api/v1/status-list."""

    __tablename__ = "signing_status_lists"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    issued_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    token: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)


class CertificateCopy(Base):
    """A renewed copy of an issued certificate (a new archive time-stamp): its hash stays in the
    register, so every copy the citizen ever handed out still verifies as genuine."""

    __tablename__ = "signing_certificate_copies"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    serial: Mapped[str] = mapped_column(
        ForeignKey("signing_certificates.serial"), index=True, nullable=False
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)


class Erasure(Base):
    """A citizen's request to close their account, and what became of it.

    ``pending`` until ``due_at`` (the grace period, cancellable with a passkey), then ``erased``
    by the periodic job, or ``cancelled``. The citizen keeps a link whose secret only they hold
    (``token_hash`` is its SHA-256; during the grace period the secret is also sealed under their
    owner key, so the page can show the link again). After the erasure the row names nobody: it
    keeps the signed deletion certificate for that link.
    """

    __tablename__ = "signing_erasures"
    __table_args__ = (Index("ix_signing_erasures_due", "status", "due_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("identity_accounts.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(10), nullable=False)  # pending|cancelled|erased
    language: Mapped[str] = mapped_column(String(8), nullable=False)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True, nullable=False)
    token_sealed: Mapped[bytes | None] = mapped_column(LargeBinary(128))
    requested_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    due_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    erased_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    # {"certificate": {...}, "jws": "..."}: the signed deletion certificate (signing/erasure.py).
    certificate: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))

"""Vault tables: owner keys, documents, document versions, consent grants."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from amanat.db import Base, BigId, UtcDateTime


class OwnerKey(Base):
    """An account's key, wrapped by a master-key version of the key store."""

    __tablename__ = "vault_owner_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("identity_accounts.id", ondelete="CASCADE"), unique=True, nullable=False
    )
    keystore: Mapped[str] = mapped_column(String(64), nullable=False)
    master_version: Mapped[int] = mapped_column(Integer, nullable=False)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary(128), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    rewrapped_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class Document(Base):
    """A document in a citizen's vault."""

    __tablename__ = "vault_documents"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    owner_id: Mapped[int] = mapped_column(
        ForeignKey("identity_accounts.id", ondelete="CASCADE"), index=True, nullable=False
    )
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    current_version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)

    versions: Mapped[list[DocumentVersion]] = relationship(
        back_populates="document",
        cascade="all, delete-orphan",
        order_by="DocumentVersion.version",
        passive_deletes=True,
    )

    @property
    def current(self) -> DocumentVersion:
        """The newest version."""
        return next(v for v in self.versions if v.version == self.current_version)


class DocumentVersion(Base):
    """One version of a document: its sealed blob and wrapped data key."""

    __tablename__ = "vault_document_versions"
    __table_args__ = (UniqueConstraint("document_id", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    document_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("vault_documents.id", ondelete="CASCADE"), nullable=False
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    media_type: Mapped[str] = mapped_column(String(64), nullable=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    blob_id: Mapped[str] = mapped_column(String(64), nullable=False)
    wrapped_dek: Mapped[bytes] = mapped_column(LargeBinary(128), nullable=False)
    owner_key_id: Mapped[int] = mapped_column(ForeignKey("vault_owner_keys.id"), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)

    document: Mapped[Document] = relationship(back_populates="versions")


class Grant(Base):
    """A consent: which documents, to whom (an organisation or a link), why, until when.

    ``terms`` are exactly what the citizen saw and confirmed; ``challenge`` is their hash, which
    the citizen's passkey signed; ``evidence`` keeps that WebAuthn assertion and
    ``credential_data`` the passkey's public key, so the consent can be re-checked later.
    """

    __tablename__ = "vault_grants"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    owner_id: Mapped[int] = mapped_column(
        ForeignKey("identity_accounts.id", ondelete="CASCADE"), index=True, nullable=False
    )
    organisation_code: Mapped[str | None] = mapped_column(
        ForeignKey("identity_organisations.code"), index=True
    )
    # A department the citizen applied to (signing's table: named here, not joined, so that the
    # vault does not depend on signing).
    department_code: Mapped[str | None] = mapped_column(String(16), index=True)
    link_secret_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    purpose: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    max_fetches: Mapped[int | None] = mapped_column(Integer)
    fetch_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    # When the grant's natural end (expiry, fetches used up) was written to the ledger.
    ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    terms: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    challenge: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    credential_data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)

    documents: Mapped[list[GrantDocument]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="GrantDocument.title"
    )


class GrantDocument(Base):
    """A document under a grant (gone with the document if the citizen deletes it)."""

    __tablename__ = "vault_grant_documents"

    grant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("vault_grants.id", ondelete="CASCADE"), primary_key=True
    )
    document_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("vault_documents.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    title: Mapped[str] = mapped_column(String(200), nullable=False)


class NoticePrefs(Base):
    """How a citizen is told of what happens to their vault: channels, topics, and where.

    The e-mail address and phone number are sealed under the owner's key, as documents are: a copy
    of the database shows no contact details. ``seen_seq`` is the last ledger event considered, so
    that each event is noticed once.
    """

    __tablename__ = "vault_notice_prefs"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("identity_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    by_email: Mapped[bool] = mapped_column(Boolean, nullable=False)
    by_sms: Mapped[bool] = mapped_column(Boolean, nullable=False)
    topics: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    email_sealed: Mapped[bytes | None] = mapped_column(LargeBinary(512))
    phone_sealed: Mapped[bytes | None] = mapped_column(LargeBinary(128))
    language: Mapped[str] = mapped_column(String(8), nullable=False)
    seen_seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    # While one channel keeps failing: the last event each other channel has told, so that a
    # retry does not tell it again ({"email": seq}).
    delivered: Mapped[dict[str, int] | None] = mapped_column(JSON(none_as_null=True))
    failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    retry_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)


class EmergencyContact(Base):
    """A citizen's trusted contact for emergency access (vault/emergency.py): who, after how
    many days without refusal, which documents; the terms the citizen's passkey signed."""

    __tablename__ = "vault_emergency_contacts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    owner_id: Mapped[int] = mapped_column(
        ForeignKey("identity_accounts.id", ondelete="CASCADE"), index=True, nullable=False
    )
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("identity_accounts.id", ondelete="CASCADE"), index=True, nullable=False
    )
    contact_name: Mapped[str] = mapped_column(String(120), nullable=False)
    wait_days: Mapped[int] = mapped_column(Integer, nullable=False)
    documents: Mapped[list[dict[str, str]]] = mapped_column(JSON, nullable=False)
    terms: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    challenge: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    credential_data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    requested_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    refused_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

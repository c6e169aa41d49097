"""Vault tables: owner keys, documents, document versions."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from amanat.db import Base, UtcDateTime

_BigId = BigInteger().with_variant(Integer(), "sqlite")


class OwnerKey(Base):
    """An account's key, wrapped by a master-key version of the key store."""

    __tablename__ = "vault_owner_keys"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
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

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
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

"""Identity tables."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from amanat.db import Base, BigId, UtcDateTime


class Role(StrEnum):
    """What an account may do."""

    CITIZEN = "citizen"
    OFFICER = "officer"
    VERIFIER = "verifier"
    ADMIN = "admin"
    DPO = "dpo"  # the deployment's data-protection office: handles citizens' disputes
    RECOVERY = "recovery"  # a service centre's officer: starts assisted recovery after an ID check


class Account(Base):
    """A person who signs in. Citizens are identified by their CNIC."""

    __tablename__ = "identity_accounts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    display_name: Mapped[str] = mapped_column(String(120), nullable=False)
    # National identity number (citizens) or a login name (staff); unique either way.
    login: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    # WebAuthn user handle: random, never the CNIC (it is stored on the authenticator).
    user_handle: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True, nullable=False)
    # Department code (officers) or organisation code (verifiers).
    affiliation: Mapped[str | None] = mapped_column(String(32), nullable=True)
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)

    passkeys: Mapped[list[Passkey]] = relationship(
        back_populates="account", cascade="all, delete-orphan", order_by="Passkey.id"
    )


class Passkey(Base):
    """A WebAuthn credential registered to an account."""

    __tablename__ = "identity_passkeys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("identity_accounts.id", ondelete="CASCADE"), index=True, nullable=False
    )
    credential_id: Mapped[bytes] = mapped_column(LargeBinary(1023), unique=True, nullable=False)
    # fido2 AttestedCredentialData (AAGUID, credential id, COSE public key).
    credential_data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    sign_count: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    backup_eligible: Mapped[bool] = mapped_column(Boolean, nullable=False)
    backed_up: Mapped[bool] = mapped_column(Boolean, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    account: Mapped[Account] = relationship(back_populates="passkeys")


class AuthSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "identity_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True, nullable=False)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("identity_accounts.id", ondelete="CASCADE"), index=True, nullable=False
    )
    method: Mapped[str] = mapped_column(String(16), nullable=False)
    user_agent: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    account: Mapped[Account] = relationship()


class Ceremony(Base):
    """Server-side state of one WebAuthn ceremony; consumed (deleted) by its completion."""

    __tablename__ = "identity_ceremonies"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True, nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("identity_accounts.id", ondelete="CASCADE"), nullable=True
    )
    state: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)


class RecoveryCode(Base):
    """A one-time recovery code; only its SHA-256 is stored."""

    __tablename__ = "identity_recovery_codes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("identity_accounts.id", ondelete="CASCADE"), index=True, nullable=False
    )
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class RateCounter(Base):
    """Fixed-window attempt counter (shared by every worker through the database)."""

    __tablename__ = "identity_rate_counters"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    window_start: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    count: Mapped[int] = mapped_column(Integer, nullable=False)


class Organisation(Base):
    """A verifying organisation (bank, employer) registered by an administrator."""

    __tablename__ = "identity_organisations"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    name_ur: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)


class ApiKey(Base):
    """An organisation's API key. Only SHA-256 of the secret is kept (it is 256 random bits)."""

    __tablename__ = "identity_api_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # The public part of the key, printed in it (amanat_<key_id>_<secret>), to find the row.
    key_id: Mapped[str] = mapped_column(String(16), unique=True, nullable=False)
    organisation_code: Mapped[str] = mapped_column(
        ForeignKey("identity_organisations.code"), index=True, nullable=False
    )
    label: Mapped[str] = mapped_column(String(80), nullable=False)
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    scopes: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class AssistedRecovery(Base):
    """A recovery started at a service centre by an officer who checked the citizen's CNIC card
    in person: after ``due_at``, unless the citizen refused, the one-time link (``token_hash`` is
    its SHA-256) lets the person add a new passkey; it is good until ``expires_at``."""

    __tablename__ = "identity_assisted_recoveries"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("identity_accounts.id", ondelete="CASCADE"), index=True, nullable=False
    )
    officer_id: Mapped[int | None] = mapped_column(
        ForeignKey("identity_accounts.id", ondelete="SET NULL")
    )
    # The officer as named to the citizen (kept should the officer's account go).
    officer_name: Mapped[str] = mapped_column(String(120), nullable=False)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True, nullable=False)
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    due_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    refused_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

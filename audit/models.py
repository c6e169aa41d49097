"""The ledger table."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from amanat.db import Base, UtcDateTime

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
_BigId = BigInteger().with_variant(Integer(), "sqlite")


class AuditEvent(Base):
    """One ledger event; ``seq`` is its position in the hash chain (1, 2, 3, ...)."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_subject_seq", "subject_id", "seq"),)

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True, nullable=False)
    tag: Mapped[str] = mapped_column(String(64), nullable=False)
    actor: Mapped[str] = mapped_column(String(80), nullable=False)
    # The citizen the event concerns. Not a foreign key on purpose: the ledger outlives accounts.
    subject_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    object_type: Mapped[str | None] = mapped_column(String(40), nullable=True)
    object_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    occurred_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)

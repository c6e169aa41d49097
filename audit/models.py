"""The ledger table."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from amanat.db import Base, BigId, UtcDateTime

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.


class AuditEvent(Base):
    """One ledger event; ``seq`` is its position in the hash chain (1, 2, 3, ...)."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_subject_seq", "subject_id", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
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
    # HMAC-SHA256 by the key store's ledger key over ``hash`` (audit.keyring.event_mac). NULL
    # only on events written before migration 0005 until 'amanat db upgrade' authenticated them.
    mac: Mapped[bytes | None] = mapped_column(LargeBinary(32), nullable=True)
    # Set when the person the event named was erased (audit.redaction): the content is wiped and
    # this tag by the ledger key vouches for the hash and leaf that still stand for it.
    redaction: Mapped[bytes | None] = mapped_column(LargeBinary(32), nullable=True)


class AuditTreeNode(Base):
    """The hash of one aligned perfect subtree of the ledger's Merkle tree (see audit.merkle).

    Level 0 are the leaf hashes (leaf index = seq - 1); node (level, idx) covers leaves
    [idx * 2**level, (idx + 1) * 2**level). Stored so that any proof is a handful of lookups.
    """

    __tablename__ = "audit_tree_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)


class AuditKey(Base):
    """The service's ledger key (ECDSA P-256): signs tree heads and consent receipts."""

    __tablename__ = "audit_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kid: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    public_key: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    master_version: Mapped[int] = mapped_column(Integer, nullable=False)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary(128), nullable=False)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)


class AuditTreeHead(Base):
    """A signed tree head: the ledger's size and Merkle root at a time, signed by the ledger key."""

    __tablename__ = "audit_tree_heads"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tree_size: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    signed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    key_id: Mapped[int] = mapped_column(ForeignKey("audit_keys.id"), nullable=False)
    # ECDSA P-256 over SHA-256 of the message in audit.treeheads.head_message, as r ‖ s.
    signature: Mapped[bytes] = mapped_column(LargeBinary(64), nullable=False)


class AuditTally(Base):
    """How often a folded event happened on one UTC day (see audit.tally)."""

    __tablename__ = "audit_tallies"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, nullable=False)


class AuditPending(Base):
    """An event written while another transaction held the ledger (PostgreSQL only).

    It is committed with its action, like every event, and chained in order by the next
    transaction that holds the ledger lock (see audit.service.record_event).
    """

    __tablename__ = "audit_pending"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tag: Mapped[str] = mapped_column(String(64), nullable=False)
    actor: Mapped[str] = mapped_column(String(80), nullable=False)
    subject_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    object_type: Mapped[str | None] = mapped_column(String(40), nullable=True)
    object_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    occurred_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    # HMAC-SHA256 by the ledger key over the entry with no link (audit.keyring.pending_mac).
    mac: Mapped[bytes | None] = mapped_column(LargeBinary(32), nullable=True)

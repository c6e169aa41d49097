"""The ledger's keys, which live outside the rows they protect.

The ledger key (ECDSA P-256) signs tree heads and consent receipts; it is stored sealed under the
key store's master key (a key file or an HSM), so a database administrator can read its sealed
bytes but neither use nor replace it. From it comes the event-authentication key: every event gets
an HMAC-SHA256 tag when it is appended, so an event written, edited or reordered by anyone who
holds only the database does not verify (:func:`audit.ledger.verify_ledger`).

Sessions learn the key store through :func:`bind_keystore` on their factory: the web runtime and
every CLI command bind it, so every path that appends to the ledger can authenticate what it writes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import threading
import weakref
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from amanat.db import is_postgresql
from audit.errors import AuditError
from audit.models import AuditKey
from keys import pki
from keys.errors import KeysError
from keys.stores import KeyStore

LABEL = "audit-ledger-key"
# Where a session keeps its :class:`LedgerKeys` (copied from the factory's ``info``).
_INFO = "amanat.ledger_keys"
_MAC_CONTEXT = b"amanat-ledger-event-mac/1"
# The ledger's advisory lock on PostgreSQL: this constant ("AMNT") and the schema's hash, so that
# deployments (or test runs) in other schemas of the same database never share it.
_APPEND_LOCK = 0x414D4E54
_LOCK = text("SELECT pg_advisory_xact_lock(:k, hashtext(current_schema()))")


class LedgerKeyError(AuditError):
    """The ledger key cannot be used: no key store bound, or its sealed form does not open."""


def lock_ledger(session: Session) -> None:
    """Serialise ledger writers until the caller's transaction ends."""
    if is_postgresql(session):
        session.execute(_LOCK, {"k": _APPEND_LOCK})
    # On SQLite every transaction begins IMMEDIATE (amanat.db): writers are already serialised.


def sealed_of(row: AuditKey) -> pki.SealedKey:
    """The sealed private key of a ledger key row."""
    return pki.SealedKey(row.master_version, row.wrapped_key, row.ciphertext)


def open_ledger_key(keystore: KeyStore, row: AuditKey) -> pki.PrivateKey:
    """The private key of a ledger key row, opened by the key store (vague on any failure)."""
    try:
        return pki.open_private_key(keystore, sealed_of(row), label=LABEL)
    except KeysError:
        raise LedgerKeyError(f"ledger key {row.kid} does not open with the key store") from None


def ensure_ledger_key(session: Session, *, keystore: KeyStore, now: dt.datetime) -> AuditKey:
    """The current ledger key, created (sealed under the key store) on first use."""
    row = session.scalars(select(AuditKey).order_by(AuditKey.id.desc()).limit(1)).first()
    if row is not None:
        return row
    lock_ledger(session)  # two first writers must not both create a key
    row = session.scalars(select(AuditKey).order_by(AuditKey.id.desc()).limit(1)).first()
    if row is not None:
        return row
    key = pki.new_private_key("ec-p256")
    public = pki.public_key_der(key)
    sealed = pki.seal_private_key(keystore, key, label=LABEL)
    row = AuditKey(
        kid=hashlib.sha256(public).hexdigest()[:16],
        public_key=public,
        master_version=sealed.master_version,
        wrapped_key=sealed.wrapped_key,
        ciphertext=sealed.ciphertext,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


# Per key store object: (row id, sealed bytes) -> the public key its sealed private key gives.
_VOUCHED: weakref.WeakKeyDictionary[Any, dict[tuple[int, bytes], bytes]] = (
    weakref.WeakKeyDictionary()
)
_VOUCHED_LOCK = threading.Lock()


def vouched_public_key(keystore: KeyStore, row: AuditKey) -> bytes:
    """The ledger key's public key as the key store vouches for it (derived from the sealed
    private key), raising LedgerKeyError when the stored public key differs. Opened once per key
    store and sealed key: published heads and receipts do not unwrap a key per request."""
    tag = (row.id, hashlib.sha256(bytes(row.wrapped_key) + bytes(row.ciphertext)).digest())
    with _VOUCHED_LOCK:
        public = _VOUCHED.setdefault(keystore, {}).get(tag)
    if public is None:
        public = pki.public_key_der(open_ledger_key(keystore, row))
        with _VOUCHED_LOCK:
            _VOUCHED.setdefault(keystore, {})[tag] = public
    if public != row.public_key:
        raise LedgerKeyError(f"ledger key {row.kid} in the database is not the key store's")
    return public


def mac_key_of(private: pki.PrivateKey) -> bytes:
    """The event-authentication key derived from a ledger private key."""
    return hmac.new(pki.private_key_der(private), _MAC_CONTEXT, hashlib.sha256).digest()


def event_mac(mac_key: bytes, event_hash: bytes) -> bytes:
    """The tag of a chained event, over its chain hash (which covers number, content, link)."""
    return hmac.new(mac_key, b"event\n" + event_hash, hashlib.sha256).digest()


def pending_mac(mac_key: bytes, entry: bytes) -> bytes:
    """The tag of an event waiting to be chained: over its entry with no link and number 0."""
    return hmac.new(mac_key, b"pending\n" + entry, hashlib.sha256).digest()


def macs_equal(a: bytes | None, b: bytes) -> bool:
    """Constant-time comparison of a stored tag (maybe missing) with the expected one."""
    return a is not None and hmac.compare_digest(bytes(a), b)


class LedgerKeys:
    """One process's view of the ledger's secrets: the key store, and the MAC key once opened.

    The MAC key is cached by the sealed key it came from, so a process opens the ledger key once
    (one unwrap by the key store) however many events it appends.
    """

    def __init__(self, keystore: KeyStore) -> None:
        self.keystore = keystore
        self._lock = threading.Lock()
        self._mac: bytes | None = None

    def mac_key(self, session: Session, *, now: dt.datetime) -> bytes:
        """The MAC key of the ledger's first key (created on the very first event).

        Read and opened once per process (a factory is one database): appends pay no query and
        no unwrap for it, and 'amanat keys rotate' (which rewraps the key) changes nothing here.
        """
        with self._lock:
            if self._mac is not None:
                return self._mac
        row = session.scalars(select(AuditKey).order_by(AuditKey.id).limit(1)).first()
        if row is None:
            row = ensure_ledger_key(session, keystore=self.keystore, now=now)
        mac = mac_key_of(open_ledger_key(self.keystore, row))
        with self._lock:
            self._mac = mac
        return mac


def bind_keystore(factory: sessionmaker[Session], keystore: KeyStore) -> sessionmaker[Session]:
    """Let every session of ``factory`` authenticate ledger events with ``keystore``."""
    info: dict[str, Any] = dict(factory.kw.get("info") or {})
    info[_INFO] = LedgerKeys(keystore)
    factory.configure(info=info)
    return factory


def ledger_keys(session: Session) -> LedgerKeys:
    """The ledger keys bound to this session's factory; fail closed when there are none."""
    keys = session.info.get(_INFO)
    if not isinstance(keys, LedgerKeys):
        raise LedgerKeyError(
            "this session has no key store for the ledger (bind one with audit.bind_keystore)"
        )
    return keys

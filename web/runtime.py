"""What a process builds once from the settings: engine, session factory, key store, blob store."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from amanat.db import create_engine, session_factory
from amanat.settings import Settings
from identity.sessions import SessionPolicy
from identity.webauthn import RelyingParty
from keys.stores import KeyStore, open_keystore
from signing.issuance import IssuanceContext
from signing.pki import PkiMaterial, load_pki
from vault.blobs import FileBlobStore
from vault.service import VaultContext


def utcnow() -> dt.datetime:
    """The wall clock, in UTC (the one place the web tier reads the time)."""
    return dt.datetime.now(dt.UTC)


@dataclass
class Runtime:
    """Long-lived objects of one process."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    keystore: KeyStore
    vault: VaultContext
    rp: RelyingParty
    policy: SessionPolicy
    clock: Callable[[], dt.datetime] = field(default=utcnow)
    _issuance: IssuanceContext | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def issuance(self, session: Session | None = None) -> IssuanceContext:
        """PKI material and the TSA, loaded and decrypted once per process, on first use.

        Pass the caller's open session when there is one: on SQLite a second connection would
        wait for the first one's write lock.
        """
        with self._lock:
            if self._issuance is None:
                if session is None:
                    with self.sessions() as own:
                        material = self._load(own)
                else:
                    material = self._load(session)
                self._issuance = IssuanceContext(
                    keystore=self.keystore, material=material, vault=self.vault
                )
            return self._issuance

    def _load(self, session: Session) -> PkiMaterial:
        return load_pki(session, keystore=self.keystore, base_url=self.settings.public_base_url)


def build_runtime(
    settings: Settings,
    *,
    engine: Engine | None = None,
    keystore: KeyStore | None = None,
    clock: Callable[[], dt.datetime] = utcnow,
) -> Runtime:
    """Build the runtime; the key store and engine may be handed in (tests, CLI)."""
    engine = engine or create_engine(settings.database_url)
    keystore = keystore or open_keystore(settings)
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        keystore=keystore,
        vault=VaultContext(keystore=keystore, blobs=FileBlobStore(settings.blob_dir)),
        rp=RelyingParty(id=settings.rp_id, name="Amanat", origin=settings.origin),
        policy=SessionPolicy(
            idle=dt.timedelta(minutes=settings.session_idle_minutes),
            absolute=dt.timedelta(hours=settings.session_absolute_hours),
        ),
        clock=clock,
    )

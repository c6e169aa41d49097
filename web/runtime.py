"""What a process builds once from the settings: engine, session factory, key store, blob store."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from amanat.db import create_engine, session_factory
from amanat.settings import Settings, SettingsError
from audit.keyring import bind_keystore
from identity.sessions import SessionPolicy
from identity.webauthn import RelyingParty
from keys.pki import PkiError, load_certs_file
from keys.stores import KeyStore, open_keystore
from signing.issuance import IssuanceContext
from signing.pki import PkiMaterial, load_pki
from vault.blobs import FileBlobStore
from vault.service import VaultContext
from web.memlimit import WindowLimiter


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
    api_limiter: WindowLimiter = field(default_factory=WindowLimiter, repr=False)
    # When this process last looked whether the ledger needs a new signed tree head (monotonic).
    last_head_check: float = field(default=-1e9, repr=False)
    _issuance: IssuanceContext | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def issuance(self, session: Callable[[], Session] | None = None) -> IssuanceContext:
        """PKI material and the TSA, loaded and decrypted once per process, on first use.

        Pass a getter of the caller's session when there is one (it is called only for the first
        load): on SQLite a second connection would wait for the first one's write lock.
        """
        with self._lock:
            if self._issuance is None:
                if session is None:
                    with self.sessions() as own:
                        material = self._load(own)
                else:
                    material = self._load(session())
                self._issuance = IssuanceContext(
                    keystore=self.keystore,
                    material=material,
                    vault=self.vault,
                    tsa_url=self.settings.tsa_url,
                    tsa_roots=tsa_roots(self.settings),
                )
            return self._issuance

    def _load(self, session: Session) -> PkiMaterial:
        return load_pki(session, keystore=self.keystore, base_url=self.settings.public_base_url)


def tsa_roots(settings: Settings) -> tuple[bytes, ...]:
    """Trust anchors of an external TSA (AMANAT_TSA_TRUST: a PEM or DER file), if configured."""
    if not settings.tsa_trust:
        return ()
    try:
        data = Path(settings.tsa_trust).read_bytes()
    except OSError as exc:
        raise SettingsError(
            f"AMANAT_TSA_TRUST: cannot read {settings.tsa_trust}: {exc.strerror}"
        ) from None
    try:
        return tuple(load_certs_file(data))
    except PkiError as exc:
        raise SettingsError(f"AMANAT_TSA_TRUST: {exc}") from None


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
        sessions=bind_keystore(session_factory(engine), keystore),
        keystore=keystore,
        vault=VaultContext(keystore=keystore, blobs=FileBlobStore(settings.blob_dir)),
        rp=RelyingParty(id=settings.rp_id, name="Amanat", origin=settings.origin),
        policy=SessionPolicy(
            idle=dt.timedelta(minutes=settings.session_idle_minutes),
            absolute=dt.timedelta(hours=settings.session_absolute_hours),
        ),
        clock=clock,
    )

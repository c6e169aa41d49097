"""What a process builds once from the settings: engine, session factory, key store, blob store."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from amanat.db import create_engine, read_only_engine, session_factory, transaction
from amanat.settings import Settings, SettingsError
from audit.keyring import bind_keystore
from audit.ledger import publish_tree_head
from audit.service import LEDGER_APPENDED, LEDGER_PENDING
from identity import passwords
from identity.sessions import SessionPolicy
from identity.webauthn import AttestationPolicy, RelyingParty, load_attestation_policy
from keys.pki import PkiError, load_certs_file
from keys.stores import KeyStore, open_keystore
from signing.issuance import IssuanceContext
from signing.pki import PkiMaterial, load_pki
from signing.recording import VerificationRecorder
from vault.blobs import open_blobstore
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
    # Requests that only read: no writer lock on SQLite, READ ONLY on PostgreSQL.
    read_engine: Engine | None = None
    read_sessions: sessionmaker[Session] | None = None
    recorder: VerificationRecorder | None = field(default=None, repr=False)
    api_limiter: WindowLimiter = field(default_factory=WindowLimiter, repr=False)
    head_signer: HeadSigner | None = field(default=None, repr=False)
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
                    status_capacity=self.settings.status_list_capacity,
                )
            return self._issuance

    def _load(self, session: Session) -> PkiMaterial:
        return load_pki(session, keystore=self.keystore, base_url=self.settings.public_base_url)

    def readers(self) -> sessionmaker[Session]:
        """The session factory for transactions that only read."""
        return self.read_sessions or self.sessions

    def after_fork(self) -> None:
        """In a new worker process: never reuse the parent's database connections."""
        self.engine.dispose(close=False)
        if self.read_engine is not None and self.read_engine is not self.engine:
            self.read_engine.dispose(close=False)

    def close(self) -> None:
        """A clean stop: write the buffered verifications, then sign what is unsigned."""
        if self.recorder is not None:
            self.recorder.close()
        if self.head_signer is not None:
            self.head_signer.close()
        if self.read_engine is not None and self.read_engine.pool is not self.engine.pool:
            self.read_engine.dispose()  # the readers' own engine (SQLite); the caller owns engine


class HeadSigner:
    """Signs a tree head a bounded delay after this process committed events.

    The first commit that appends events starts a timer of ``delay`` seconds; commits during it
    join it, and when it fires one head covers them all (so a busy worker signs at most once per
    delay, and a quiet one still signs its last event). A failed signing is logged and retried
    after another delay; ``amanat audit publish`` from cron is the backstop.
    """

    RETRIES = 3

    def __init__(self, sign: Callable[[], None], *, delay: float) -> None:
        self._sign = sign
        self.delay = delay
        self._failures = 0
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def appended(self) -> None:
        """Events were committed: make sure a head is due within the delay."""
        with self._lock:
            if self._timer is None:
                self._timer = threading.Timer(self.delay, self._fire)
                self._timer.daemon = True
                self._timer.start()

    def close(self) -> None:
        """Sign now what a pending timer would have signed (a stopping worker's last events)."""
        with self._lock:
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
            try:
                self._sign()
            except Exception as exc:
                logging.getLogger("amanat.web").warning(
                    "tree head not signed: %s", type(exc).__name__
                )

    def _fire(self) -> None:
        with self._lock:
            self._timer = None
        try:
            self._sign()
            self._failures = 0
        except Exception as exc:  # a failure never reaches a request; try again later
            logging.getLogger("amanat.web").warning("tree head not signed: %s", type(exc).__name__)
            self._failures += 1
            if self._failures <= self.RETRIES:  # then the next commit (or cron) tries again
                self.appended()


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


def staff_attestation(settings: Settings, *, now: dt.datetime) -> AttestationPolicy | None:
    """The attestation staff passkeys must carry (AMANAT_MDS_BLOB, _MDS_ROOT, _STAFF_AAGUIDS)."""
    if not settings.mds_blob:
        return None
    if not settings.mds_root or not settings.staff_aaguids:
        raise SettingsError("AMANAT_MDS_BLOB needs AMANAT_MDS_ROOT and AMANAT_STAFF_AAGUIDS")
    try:
        blob = Path(settings.mds_blob).read_bytes()
        roots = load_certs_file(Path(settings.mds_root).read_bytes())
    except OSError as exc:
        raise SettingsError(f"the FIDO metadata cannot be read: {exc.strerror}") from None
    except PkiError as exc:
        raise SettingsError(f"AMANAT_MDS_ROOT: {exc}") from None
    return load_attestation_policy(
        blob, root_der=roots[0], allowed=settings.staff_aaguids.split(","), now=now
    )


def build_runtime(
    settings: Settings,
    *,
    engine: Engine | None = None,
    keystore: KeyStore | None = None,
    clock: Callable[[], dt.datetime] = utcnow,
) -> Runtime:
    """Build the runtime; the key store and engine may be handed in (tests, CLI)."""
    passwords.use_profile(settings.password_profile)
    engine = engine or create_engine(settings.database_url)
    keystore = keystore or open_keystore(settings)
    read_engine = read_only_engine(engine)
    sessions = bind_keystore(session_factory(engine), keystore)
    runtime = Runtime(
        settings=settings,
        engine=engine,
        sessions=sessions,
        read_engine=read_engine,
        read_sessions=bind_keystore(session_factory(read_engine), keystore),
        keystore=keystore,
        vault=VaultContext(
            keystore=keystore,
            blobs=open_blobstore(settings.blobstore, default_dir=settings.blob_dir),
        ),
        rp=RelyingParty(
            id=settings.rp_id,
            name="Amanat",
            origin=settings.origin,
            staff_attestation=staff_attestation(settings, now=clock()),
        ),
        policy=SessionPolicy(
            idle=dt.timedelta(minutes=settings.session_idle_minutes),
            absolute=dt.timedelta(hours=settings.session_absolute_hours),
        ),
        clock=clock,
    )
    signer = HeadSigner(lambda: _sign_head(runtime), delay=float(settings.tree_head_seconds))
    runtime.head_signer = signer
    _sign_after_commits(sessions, signer)
    runtime.recorder = VerificationRecorder(
        sessions,
        interval=float(max(settings.verification_flush_seconds, 1)),
        committed=signer.appended,
    )
    return runtime


def _sign_after_commits(sessions: sessionmaker[Session], signer: HeadSigner) -> None:
    """Every commit of this runtime's sessions that appended events (a request, a task-engine
    job, a command) has a signed tree head within the delay: not only the web's requests."""

    def committed(session: Session) -> None:
        flags = [session.info.pop(LEDGER_APPENDED, None), session.info.pop(LEDGER_PENDING, None)]
        if any(flags):
            signer.appended()

    event.listen(sessions, "after_commit", committed)


def _sign_head(rt: Runtime) -> None:
    with transaction(rt.sessions) as s:
        publish_tree_head(s, keystore=rt.keystore, now=rt.clock())

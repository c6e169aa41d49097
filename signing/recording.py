"""Verifications written to the holder's ledger, off the request path.

A verification only reads: the answer does not wait for the ledger. The web tier hands each check
to a :class:`VerificationRecorder`, which folds repeats in memory (the same certificate, verifier
and UTC day is one entry with a count, as :mod:`audit.tally` folds them in the database) and a
background thread writes them in one transaction about once a second.

What can be lost, and what cannot:

- a clean shutdown (SIGTERM, gunicorn's graceful stop, the interpreter exiting) flushes the buffer
  first, so nothing is lost;
- a crash (kill -9, power loss) loses what arrived since the last flush: at most
  ``interval`` seconds of verifications, and at most ``capacity`` distinct (certificate, verifier,
  day) entries, since a full buffer is flushed on the request that filled it (back-pressure);
- when the database refuses the flush, the entries stay in the buffer and the next flush retries
  them; when the buffer is full and still cannot be written, the verification is refused
  (:class:`VerificationNotRecorded`): an access the citizen cannot be shown is not answered.
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import os
import threading
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from amanat.db import transaction
from audit import EventTag, record_event, tally
from signing.check import CertificateCheck
from signing.errors import SigningError

log = logging.getLogger("amanat.signing.recording")


class VerificationNotRecorded(SigningError):
    """The ledger cannot take the verification now (the service is unavailable)."""


@dataclass(frozen=True)
class Verification:
    """One check of a certificate the register knows, as the holder's ledger records it."""

    serial: str
    holder_id: int | None
    title: str
    indication: str
    actor: str
    channel: str
    at: dt.datetime
    organisation: str | None = None
    type_code: str = ""
    organisation_ur: str | None = None

    @classmethod
    def of(
        cls,
        check: CertificateCheck,
        *,
        actor: str,
        channel: str,
        now: dt.datetime,
        organisation: str | None = None,
        organisation_ur: str | None = None,
    ) -> Verification | None:
        """The record of ``check`` (None when the register has no such certificate)."""
        entry = check.certificate
        if entry is None:
            return None
        return cls(
            serial=entry.serial,
            holder_id=entry.holder_id,
            title=entry.type_title,
            indication=check.verdict.indication.value,
            actor=actor,
            channel=channel,
            at=now,
            organisation=organisation,
            type_code=entry.type_code,
            organisation_ur=organisation_ur,
        )

    @property
    def tally_key(self) -> str:
        """What repeats fold under (with the UTC day)."""
        return f"verified:{self.serial}:{self.actor}"


def record_verifications(session: Session, *, items: Iterable[tuple[Verification, int]]) -> int:
    """Count each verification ``n`` times; the first of its day is a ledger event for the
    holder (no file is kept). Returns how many events were written."""
    written = 0
    for item, n in items:
        if item.holder_id is None:
            continue  # the holder's account was erased: nobody's activity to tell
        if tally.count(session, key=item.tally_key, now=item.at, by=n) > n:
            continue  # already in today's ledger: only the count grew
        record_event(
            session,
            tag=EventTag.CERTIFICATE_VERIFIED,
            actor=item.actor,
            subject_id=item.holder_id,
            now=item.at,
            object_type="certificate",
            object_id=item.serial,
            details={
                "serial": item.serial,
                "title": item.title,
                # The type lets the activity page name the certificate in the reader's language.
                **({"type": item.type_code} if item.type_code else {}),
                "channel": item.channel,
                "indication": item.indication,
                "tally": item.tally_key,
                **({"organisation": item.organisation} if item.organisation else {}),
                **({"organisation_ur": item.organisation_ur} if item.organisation_ur else {}),
            },
        )
        written += 1
    return written


_Key = tuple[str, str, dt.date]


def _call(ref: weakref.ref[VerificationRecorder], method: Callable[[Any], None]) -> None:
    target = ref()
    if target is not None:
        method(target)


class VerificationRecorder:
    """A bounded buffer of verifications, written by a background thread (see the module)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        interval: float = 1.0,
        capacity: int = 1000,
        committed: Callable[[], None] | None = None,
    ) -> None:
        self._sessions = sessions
        self.interval = interval
        self.capacity = capacity
        self._committed = committed
        self._reset()
        # A forked worker starts with an empty buffer, a fresh lock and no thread; an exiting
        # process writes what waits. (Weak references: a recorder that is gone is skipped.)
        me = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _call(me, VerificationRecorder._reset))
        atexit.register(lambda: _call(me, VerificationRecorder.close))

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._pending: dict[_Key, tuple[Verification, int]] = {}
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def add(self, item: Verification | None) -> None:
        """Queue one verification (None: nothing to record). Never waits for the database,
        unless the buffer is full."""
        if item is None:
            return
        key = (item.serial, item.actor, tally.day_of(item.at))
        with self._lock:
            first, n = self._pending.get(key, (item, 0))
            self._pending[key] = (first, n + 1)
            full = len(self._pending) >= self.capacity
            self._start()
        if full and not self.flush():
            raise VerificationNotRecorded("ledger_unavailable")

    def _start(self) -> None:
        if self._thread is None and not self._stop.is_set():
            self._thread = threading.Thread(
                target=self._run, name="amanat-verifications", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()

    def pending(self) -> int:
        """How many distinct entries wait to be written."""
        with self._lock:
            return len(self._pending)

    def flush(self) -> bool:
        """Write what waits, in one transaction; False (and everything kept) when it failed."""
        with self._flushing:
            with self._lock:
                batch, self._pending = self._pending, {}
            if not batch:
                return True
            try:
                with transaction(self._sessions) as session:
                    written = record_verifications(session, items=batch.values())
            except Exception as exc:  # kept for the next flush; the request already has its answer
                log.warning("verifications not recorded yet: %s", type(exc).__name__)
                self._merge_back(batch)
                return False
        if written and self._committed is not None:
            self._committed()
        return True

    def _merge_back(self, batch: dict[_Key, tuple[Verification, int]]) -> None:
        with self._lock:
            for key, (first, n) in batch.items():
                _, later = self._pending.get(key, (first, 0))
                self._pending[key] = (first, n + later)

    def close(self) -> None:
        """Stop the thread and write what waits (a clean shutdown loses nothing)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=self.interval + 5)
        self.flush()

"""Working on a batch, as a task-engine job: row after row, each on its own.

A row is leased in one short transaction, read and checked in a second, signed with no transaction
open (the slow part: on SQLite an open transaction holds the write lock) and recorded in a third.
A broken row never touches the good ones; a worker killed mid-row leaves the lease to run out.
Every query lives in ``signing/batches.py``; this module only orders the transactions. The task
engine (``web/tasks.py``) hands it the process's sessions, issuance material and clock.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from amanat.db import transaction
from amanat.errors import AmanatError
from identity.errors import IdentityError
from keys import KeysError
from signing.batches import Claimed, claim_row, close_if_done, finish_row, issued_by_key
from signing.errors import SigningError
from signing.issuance import IssuanceContext, prepare_issue, record_issue, sign_certificate
from signing.models import IssuedCertificate
from vault.errors import VaultError

_ERRORS = (SigningError, VaultError, IdentityError, KeysError)


class BatchWorker:
    """What a worker process brings to a batch: its sessions, its issuance material (loaded once
    per process) and its clock."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        issuance: Callable[[], IssuanceContext],
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.sessions, self.issuance, self.clock = sessions, issuance, clock


def work_on_batch(
    rt: BatchWorker, *, batch_id: uuid.UUID, lease: dt.timedelta, budget: float
) -> bool:
    """Take a batch's rows one after the other for about ``budget`` seconds.

    True when rows may be left (the caller puts the job back on the queue, so that one long batch
    does not keep a worker from everything else); False when no row was left to take.
    """
    deadline = time.monotonic() + budget
    while time.monotonic() < deadline:
        with transaction(rt.sessions) as s:
            claimed = claim_row(s, batch_id=batch_id, now=rt.clock(), lease=lease)
            if claimed is None:
                close_if_done(s, batch_id=batch_id, now=rt.clock())
        if claimed is None:
            return False
        serial, error = _issue(rt, claimed)
        with transaction(rt.sessions) as s:
            finish_row(s, item_id=claimed.item_id, now=rt.clock(), serial=serial, error=error)
    return True


def _issue(rt: BatchWorker, claimed: Claimed) -> tuple[str | None, AmanatError | None]:
    """Issue one leased row: its serial, or the refusal that stopped it."""
    request = claimed.request
    if request is None:
        return None, claimed.refusal
    ctx = rt.issuance()
    try:
        with transaction(rt.sessions) as s:
            prepared = prepare_issue(s, ctx=ctx, request=request, now=rt.clock())
        if isinstance(prepared, IssuedCertificate):  # issued before the worker died
            return prepared.serial, None
        signed = sign_certificate(ctx, prepared)
        try:
            with transaction(rt.sessions) as s:
                issued = record_issue(
                    s, ctx=ctx, signed=signed, now=rt.clock(), actor=claimed.actor
                )
                return issued.serial, None
        except IntegrityError:
            # A worker whose lease ran out issued this row meanwhile: report the one that exists.
            with rt.sessions() as s:
                serial = issued_by_key(s, key=request.batch_key or "")
            if serial is None:
                raise
            return serial, None
    except _ERRORS as exc:
        return None, exc

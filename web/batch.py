"""Running a batch: each row on its own, so a broken row never touches the good ones.

A row reads what it needs in one short transaction, signs with no transaction open (the slow part:
on SQLite an open transaction holds the write lock), and records the result in a second short
transaction. :func:`run_batch_parallel` spreads rows over one process per core.
"""

from __future__ import annotations

import datetime as dt
import logging
import multiprocessing
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from amanat.db import transaction
from amanat.settings import Settings
from identity.errors import IdentityError
from keys import KeysError
from signing.batch import BatchRow
from signing.errors import SigningError
from signing.issuance import prepare_issue, record_issue, sign_certificate
from signing.models import IssuedCertificate
from vault.errors import VaultError
from web.messages import refusal_text
from web.runtime import Runtime, build_runtime, utcnow

_ERRORS = (SigningError, VaultError, IdentityError, KeysError)


@dataclass(frozen=True)
class RowResult:
    """What happened to one row."""

    line: int
    citizen: str
    serial: str | None
    error: str | None


def issue_row(
    rt: Runtime, row: BatchRow, *, actor: str, clock: Callable[[], dt.datetime]
) -> RowResult:
    """Issue one checked row (or report why not)."""
    if row.request is None:
        return RowResult(
            row.line, row.citizen, None, refusal_text(row.error) if row.error else None
        )
    ctx = rt.issuance()
    try:
        with transaction(rt.sessions) as s:
            prepared = prepare_issue(s, ctx=ctx, request=row.request, now=clock())
        if isinstance(prepared, IssuedCertificate):
            return RowResult(row.line, row.citizen, prepared.serial, None)
        signed = sign_certificate(ctx, prepared)
        serial: str | None
        try:
            with transaction(rt.sessions) as s:
                issued = record_issue(s, ctx=ctx, signed=signed, now=clock(), actor=actor)
                serial = issued.serial
        except IntegrityError:
            # Another worker issued this batch row meanwhile: report the one that exists.
            with rt.sessions() as s:
                serial = s.scalar(
                    select(IssuedCertificate.serial).where(
                        IssuedCertificate.batch_key == row.request.batch_key
                    )
                )
            if serial is None:
                raise
    except _ERRORS as exc:
        return RowResult(row.line, row.citizen, None, refusal_text(exc))
    return RowResult(row.line, row.citizen, serial, None)


def run_batch(
    rt: Runtime, rows: list[BatchRow], *, actor: str, clock: Callable[[], dt.datetime]
) -> Iterator[RowResult]:
    """Issue the rows one after the other in this process, yielding each result."""
    for row in rows:
        yield issue_row(rt, row, actor=actor, clock=clock)


_worker_runtime: Runtime | None = None
_worker_actor = ""


def _init_worker(settings: Settings, actor: str) -> None:
    global _worker_runtime, _worker_actor
    logging.getLogger("pyhanko").setLevel(logging.ERROR)
    _worker_runtime = build_runtime(settings)
    _worker_actor = actor


def _work(row: BatchRow) -> RowResult:
    assert _worker_runtime is not None
    return issue_row(_worker_runtime, row, actor=_worker_actor, clock=utcnow)


def run_batch_parallel(
    settings: Settings, rows: list[BatchRow], *, actor: str, workers: int | None = None
) -> Iterator[RowResult]:
    """Issue the rows on ``workers`` processes (default: one per core); results as they finish."""
    count = max(1, min(workers or os.cpu_count() or 1, len(rows) or 1))
    context = multiprocessing.get_context("spawn")  # fresh processes: no inherited connections
    with context.Pool(count, initializer=_init_worker, initargs=(settings, actor)) as pool:
        yield from pool.imap_unordered(_work, rows, chunksize=4)

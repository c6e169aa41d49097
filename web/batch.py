"""Running a batch: one transaction per row, so a broken row never touches the good ones."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from amanat.db import transaction
from identity.errors import IdentityError
from keys import KeysError
from signing.batch import BatchRow
from signing.errors import SigningError
from signing.issuance import issue_certificate
from vault.errors import VaultError
from web.runtime import Runtime


@dataclass(frozen=True)
class RowResult:
    """What happened to one row."""

    line: int
    citizen: str
    serial: str | None
    error: str | None


def run_batch(
    rt: Runtime, rows: list[BatchRow], *, actor: str, clock: Callable[[], dt.datetime]
) -> Iterator[RowResult]:
    """Issue each good row in its own transaction; yield a result per row as it completes."""
    ctx = rt.issuance()
    for row in rows:
        if row.request is None:
            yield RowResult(row.line, row.citizen, None, row.error)
            continue
        try:
            with transaction(rt.sessions) as s:
                issued = issue_certificate(
                    s, ctx=ctx, request=row.request, now=clock(), actor=actor
                )
                serial = issued.serial
        except (SigningError, VaultError, IdentityError, KeysError) as exc:
            yield RowResult(row.line, row.citizen, None, str(exc))
            continue
        yield RowResult(row.line, row.citizen, serial, None)

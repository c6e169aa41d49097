"""Batches worked on by the task engine: a batch and its rows kept in the database.

The rows are the durable state; the task engine (``web/tasks.py``) only carries "work on batch B".
A worker claims the next waiting row with a lease, signs it with no transaction open and records
the outcome. A worker killed in the middle of a row leaves its lease to run out; the row is then
taken again, and its batch key (``signing/batch.py``) makes sure it is never issued twice.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from amanat.errors import AmanatError
from audit.actors import Actor
from signing.batch import BatchRow, file_digest, parse_batch, parse_json_rows
from signing.errors import BatchNotFound, SigningError
from signing.issuance import IssueRequest
from signing.models import Batch, BatchItem, IssuedCertificate
from signing.pki import get_department

# A row whose worker died this many times is given up (it may be what kills them).
MAX_ATTEMPTS = 3


class ItemStatus(StrEnum):
    """Where a batch row stands."""

    PENDING = "pending"
    ISSUED = "issued"
    FAILED = "failed"


PENDING, ISSUED, FAILED = ItemStatus.PENDING, ItemStatus.ISSUED, ItemStatus.FAILED


class RowRefused(SigningError):
    """A row's refusal as it was recorded: its code and parameters, worded at the door."""


@dataclass(frozen=True)
class BatchProgress:
    """How far a batch has come."""

    id: uuid.UUID
    department: str
    name: str
    total: int
    issued: int
    failed: int
    created_at: dt.datetime
    finished_at: dt.datetime | None

    @property
    def left(self) -> int:
        """Rows neither issued nor failed yet."""
        return self.total - self.issued - self.failed

    @property
    def done(self) -> bool:
        """Every row has an outcome."""
        return self.left <= 0

    @property
    def percent(self) -> int:
        """Share of rows with an outcome, 0-100 (an empty batch is complete)."""
        return 100 if self.total == 0 else (100 * (self.issued + self.failed)) // self.total


@dataclass(frozen=True)
class RowOutcome:
    """One row of a batch's report."""

    line: int
    citizen: str
    status: str
    serial: str | None
    error: RowRefused | None


@dataclass(frozen=True)
class Claimed:
    """A row a worker now holds the lease of, with its request rebuilt (or why it cannot be)."""

    item_id: int
    line: int
    actor: str
    request: IssueRequest | None
    refusal: SigningError | None


def batch_key(*, department: str, digest: str) -> str:
    """The key of a batch: sending the same file again finds the same batch."""
    return f"{department}:{digest}"


def _request_json(request: IssueRequest) -> dict[str, Any]:
    return {
        "citizen": request.citizen,
        "type": request.ctype.code,
        "fields": {k: str(v) for k, v in request.fields.items()},
        "level": request.level,
        "batch_key": request.batch_key,
    }


def _refusal_json(error: AmanatError) -> dict[str, Any]:
    params = {k: v if isinstance(v, int | float) else str(v) for k, v in error.params.items()}
    return {"code": error.code, "params": params, "message": "" if error.code else str(error)}


def create_batch(
    session: Session,
    *,
    department: str,
    actor: str,
    name: str,
    digest: str,
    rows: Sequence[BatchRow],
    now: dt.datetime,
) -> tuple[Batch, bool]:
    """Record a batch and its rows, or find the one this file already made (``created`` False).

    Sending a finished file again takes its failed rows up again (a citizen may have registered
    since); issued rows are never touched.
    """
    key = batch_key(department=department, digest=digest)
    existing = session.scalar(select(Batch).where(Batch.key == key))
    if existing is not None:
        _retry_failed(session, existing, now=now)
        return existing, False
    batch = Batch(
        id=uuid.uuid4(), key=key, department_code=department, actor=actor,
        name=name[:200], total=len(rows), created_at=now,
    )  # fmt: skip
    try:
        with session.begin_nested():
            session.add(batch)
            session.flush()
    except IntegrityError:  # the same file sent twice at once: the other one made it
        return session.scalars(select(Batch).where(Batch.key == key)).one(), False
    if rows:
        session.execute(insert(BatchItem), [_item_values(batch.id, row, now) for row in rows])
    if not any(row.request is not None for row in rows):
        batch.finished_at = now
    session.flush()
    return batch, True


def submit_file(
    session: Session,
    *,
    department: str,
    actor: str | None,
    name: str,
    data: bytes,
    now: dt.datetime,
) -> BatchProgress:
    """Check a batch file and record it (or find the batch it already made): the caller commits,
    then puts unfinished batches on the task engine's queue."""
    code = get_department(session, code=department).code
    rows = parse_batch(data, department=code)
    batch, _created = create_batch(
        session, department=code, actor=actor or str(Actor.department(code)), name=name,
        digest=file_digest(data), rows=rows, now=now,
    )  # fmt: skip
    return batch_progress(session, batch_id=batch.id)


def submit_rows(
    session: Session,
    *,
    department: str,
    actor: str,
    name: str,
    rows: object,
    now: dt.datetime,
) -> BatchProgress:
    """Check rows sent as JSON and record them as a batch (or find the batch they already
    made), as :func:`submit_file` does for a CSV file."""
    code = get_department(session, code=department).code
    digest, checked = parse_json_rows(rows, department=code)
    batch, _created = create_batch(
        session, department=code, actor=actor, name=name, digest=digest, rows=checked, now=now
    )
    return batch_progress(session, batch_id=batch.id)


def _item_values(batch_id: uuid.UUID, row: BatchRow, now: dt.datetime) -> dict[str, Any]:
    values: dict[str, Any] = {
        "batch_id": batch_id, "line": row.line, "citizen": row.citizen[:40], "attempts": 0,
        "updated_at": now, "status": PENDING, "error": None,
        "request": None if row.request is None else _request_json(row.request),
    }  # fmt: skip
    if row.request is None:
        values["status"] = FAILED
        values["error"] = _refusal_json(row.error or SigningError(code="batch_row_invalid"))
    return values


def _retry_failed(session: Session, batch: Batch, *, now: dt.datetime) -> None:
    retried = session.execute(
        update(BatchItem)
        .where(
            BatchItem.batch_id == batch.id,
            BatchItem.status == FAILED,
            BatchItem.request.is_not(None),
        )
        .values(status=PENDING, error=None, attempts=0, leased_until=None, updated_at=now)
    )
    if getattr(retried, "rowcount", 0):
        batch.finished_at = None
        session.flush()


def claim_row(
    session: Session, *, batch_id: uuid.UUID, now: dt.datetime, lease: dt.timedelta
) -> Claimed | None:
    """Lease the next waiting row of a batch (None when no row is left to take)."""
    claimable = and_(
        BatchItem.batch_id == batch_id,
        BatchItem.status == PENDING,
        or_(BatchItem.leased_until.is_(None), BatchItem.leased_until < now),
    )
    # Two workers may pick the same row: the outer condition is checked again on the locked row
    # (PostgreSQL) or under the writer lock (SQLite), so only one of them gets it.
    pick = (
        select(BatchItem.id).where(claimable).order_by(BatchItem.line).limit(1)
        .with_for_update(skip_locked=True).scalar_subquery()
    )  # fmt: skip
    claimed = session.execute(
        update(BatchItem)
        .where(BatchItem.id == pick, claimable)
        .values(leased_until=now + lease, attempts=BatchItem.attempts + 1, updated_at=now)
        .returning(BatchItem.id, BatchItem.line, BatchItem.attempts, BatchItem.request)
    ).first()
    if claimed is None:
        return None
    item_id, line, attempts, raw = claimed
    department, actor = session.execute(
        select(Batch.department_code, Batch.actor).where(Batch.id == batch_id)
    ).one()
    if raw is None:
        return Claimed(item_id, line, actor, None, SigningError(code="batch_row_invalid"))
    if attempts > MAX_ATTEMPTS:
        gave_up = SigningError(code="batch_row_gave_up", n=MAX_ATTEMPTS)
        return Claimed(item_id, line, actor, None, gave_up)
    try:
        return Claimed(item_id, line, actor, _rebuild(raw, department), None)
    except SigningError as exc:
        return Claimed(item_id, line, actor, None, exc)


def _rebuild(raw: dict[str, Any], department: str) -> IssueRequest:
    return IssueRequest.build(
        department=department,
        citizen=raw["citizen"],
        type_code=raw["type"],
        fields=raw["fields"],
        level=raw["level"],
        batch_key=raw["batch_key"],
    )


def finish_row(
    session: Session,
    *,
    item_id: int,
    now: dt.datetime,
    serial: str | None = None,
    error: AmanatError | None = None,
) -> None:
    """Record a row's outcome (a serial or a refusal), and the batch's end with its last row."""
    item = session.get(BatchItem, item_id)
    if item is None:
        return
    item.status, item.leased_until, item.updated_at = (ISSUED if serial else FAILED), None, now
    item.serial = serial
    item.error = _refusal_json(error) if error is not None and not serial else None
    if serial:
        item.request = None  # the registry keeps what was issued
    session.flush()
    waiting = session.scalar(
        select(func.count()).where(BatchItem.batch_id == item.batch_id, BatchItem.status == PENDING)
    )
    if not waiting:
        batch = session.get(Batch, item.batch_id)
        if batch is not None and batch.finished_at is None:
            batch.finished_at = now
            session.flush()


def close_if_done(session: Session, *, batch_id: uuid.UUID, now: dt.datetime) -> bool:
    """Mark a batch finished when no row waits (two workers finishing its last rows at once each
    saw the other's row still waiting); True when it is finished."""
    batch = session.get(Batch, batch_id)
    if batch is None or batch.finished_at is not None:
        return batch is not None
    waiting = session.scalar(
        select(func.count()).where(BatchItem.batch_id == batch_id, BatchItem.status == PENDING)
    )
    if waiting:
        return False
    batch.finished_at = now
    session.flush()
    return True


def issued_by_key(session: Session, *, key: str) -> str | None:
    """The serial a batch row's key already issued (a worker racing this one may have)."""
    query = select(IssuedCertificate.serial).where(IssuedCertificate.batch_key == key)
    return session.scalar(query)


def batch_progress(
    session: Session, *, batch_id: uuid.UUID, department: str | None = None
) -> BatchProgress:
    """Counts of a batch's rows by outcome; ``department`` limits it to that department's."""
    batch = session.get(Batch, batch_id)
    if batch is None or (department is not None and batch.department_code != department):
        raise BatchNotFound("No such batch.", code="batch_not_found", id=str(batch_id))
    counted = session.execute(
        select(BatchItem.status, func.count())
        .where(BatchItem.batch_id == batch_id)
        .group_by(BatchItem.status)
    )
    counts: dict[str, int] = {status: n for status, n in counted}
    return BatchProgress(
        id=batch.id, department=batch.department_code, name=batch.name, total=batch.total,
        issued=counts.get(ISSUED, 0), failed=counts.get(FAILED, 0),
        created_at=batch.created_at, finished_at=batch.finished_at,
    )  # fmt: skip


def batch_outcomes(
    session: Session, *, batch_id: uuid.UUID, status: str | None = None, limit: int | None = None
) -> list[RowOutcome]:
    """A batch's rows in file order (only those with ``status``, at most ``limit``), each with
    its serial or refusal."""
    query = select(BatchItem).where(BatchItem.batch_id == batch_id)
    if status is not None:
        query = query.where(BatchItem.status == status)
    items = session.scalars(query.order_by(BatchItem.line).limit(limit))
    return [RowOutcome(i.line, i.citizen, i.status, i.serial, _refusal(i.error)) for i in items]


def _refusal(error: dict[str, Any] | None) -> RowRefused | None:
    if not error:
        return None
    params, recorded = error.get("params") or {}, error.get("code")
    # The recorded code, whatever it is (tests/web/test_messages.py reads literal codes only).
    return RowRefused(error.get("message", ""), code=recorded or None, **params)


def recent_batches(session: Session, *, department: str, limit: int = 20) -> list[BatchProgress]:
    """A department's latest batches, newest first."""
    ids = session.scalars(
        select(Batch.id)
        .where(Batch.department_code == department)
        .order_by(Batch.created_at.desc())
        .limit(limit)
    ).all()
    return [batch_progress(session, batch_id=i) for i in ids]


def batches_to_resume(session: Session, *, now: dt.datetime, idle: dt.timedelta) -> list[uuid.UUID]:
    """Unfinished batches nobody has worked on for ``idle``: their worker died, or their job was
    lost before it reached a queue. Handing one out twice is harmless (rows are leased)."""
    busy = (
        select(BatchItem.batch_id)
        .where(or_(BatchItem.leased_until >= now, BatchItem.updated_at >= now - idle))
        .distinct()
    )
    waiting = select(BatchItem.batch_id).where(BatchItem.status == PENDING).distinct()
    return list(
        session.scalars(
            select(Batch.id).where(
                Batch.finished_at.is_(None),
                Batch.created_at < now - idle,
                Batch.id.in_(waiting),
                Batch.id.not_in(busy),
            )
        )
    )

"""The public record: for each department and organisation, what anyone may know — its registered
names, whether it is active, what it may do, and counts by month. Counts only, never a citizen.

"Horizontal checking" from the design study: a citizen asked for their documents can look up
whether the organisation asking is registered, and what it is allowed to do.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from identity.models import ApiKey, Organisation
from signing.disputes import dispute_counts
from signing.errors import SigningError
from signing.models import (
    Application,
    Department,
    DepartmentCert,
    DepartmentOffer,
    DocumentRequest,
    IssuedCertificate,
    KeyStatus,
)
from vault.models import Grant

MONTHS = 12


class NotInRecord(SigningError):
    """No department or organisation with this code."""

    code = "record_not_found"


@dataclass(frozen=True)
class MonthCount:
    """One month of a public record (``month`` is ``YYYY-MM``)."""

    month: str
    first: int  # issued / consents received
    second: int  # revoked / consents withdrawn
    third: int = 0  # applications received / requests for documents made


@dataclass(frozen=True)
class PublicRecord:
    """What the public page of one department or organisation says."""

    kind: str  # "department" | "organisation"
    code: str
    name: str
    name_ur: str | None
    registered_at: dt.datetime
    active: bool
    may: tuple[str, ...]  # certificate types offered or issued, or API scopes held
    months: tuple[MonthCount, ...]
    # Days from sending to decision of the applications decided in the window (departments).
    wait_median_days: float | None = None
    wait_p90_days: float | None = None
    # Disputes about it opened and closed in the window.
    disputes_opened: int = 0
    disputes_closed: int = 0


@dataclass(frozen=True)
class Listed:
    """One line of the public list."""

    kind: str
    code: str
    name: str
    name_ur: str | None


def _month(session: Session, column: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


def _months(now: dt.datetime) -> list[str]:
    year, month, out = now.year, now.month, []
    for _ in range(MONTHS):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out


def _window(now: dt.datetime) -> tuple[list[str], dt.datetime]:
    """The record's months, newest first, and the first moment of the oldest."""
    months = _months(now)
    return months, dt.datetime.strptime(months[-1], "%Y-%m").replace(tzinfo=dt.UTC)


def _counted(session: Session, column: Any, *where: Any, since: dt.datetime) -> dict[str, int]:
    month = _month(session, column)
    rows = session.execute(
        select(month, func.count()).where(column >= since, *where).group_by(month)
    ).all()
    return {str(m): int(n) for m, n in rows}


def public_list(session: Session, *, query: str = "") -> list[Listed]:
    """Every department and organisation (matching ``query`` in a code or either name)."""
    text = query.strip()[:60]
    like = f"%{text}%"
    departments = select(Department).order_by(Department.name)
    organisations = select(Organisation).order_by(Organisation.name)
    if text:
        departments = departments.where(or_(Department.code.ilike(like),
                                            Department.name.ilike(like),
                                            Department.name_ur.ilike(like)))  # fmt: skip
        organisations = organisations.where(or_(Organisation.code.ilike(like),
                                                Organisation.name.ilike(like),
                                                Organisation.name_ur.ilike(like)))  # fmt: skip
    found = [Listed("department", d.code, d.name, d.name_ur) for d in session.scalars(departments)]
    found += [Listed("organisation", o.code, o.name, o.name_ur)
              for o in session.scalars(organisations)]  # fmt: skip
    return found


def department_record(session: Session, *, code: str, now: dt.datetime) -> PublicRecord:
    """A department's public record: names, active signing key, types issued, monthly counts."""
    department = session.get(Department, (code or "").strip().upper())
    if department is None:
        raise NotInRecord("Not in the record.", code="record_not_found")
    months, since = _window(now)
    mine = IssuedCertificate.department_code == department.code
    issued = _counted(session, IssuedCertificate.issued_at, mine, since=since)
    revoked = _counted(session, IssuedCertificate.revoked_at, mine, since=since)
    issued_types = session.scalars(select(IssuedCertificate.type_code).where(mine).distinct())
    offered = session.scalars(
        select(DepartmentOffer.type_code).where(DepartmentOffer.department_code == department.code)
    )
    types = sorted({*issued_types, *offered})
    applied = _counted(
        session, Application.submitted_at, Application.department_code == department.code,
        since=since,
    )  # fmt: skip
    median, p90 = _waits(session, department.code, since)
    active = session.scalar(
        select(func.count()).where(
            DepartmentCert.department_code == department.code,
            DepartmentCert.status == KeyStatus.ACTIVE,
        )
    )
    return PublicRecord(
        "department", department.code, department.name, department.name_ur,
        department.created_at, bool(active), tuple(types),
        tuple(MonthCount(m, issued.get(m, 0), revoked.get(m, 0), applied.get(m, 0))
              for m in months),
        median, p90, *dispute_counts(session, kind="department", code=department.code, since=since),
    )  # fmt: skip


def _waits(session: Session, code: str, since: dt.datetime) -> tuple[float | None, float | None]:
    """Median and 90th percentile, in days, from sending to decision (applications decided
    since ``since``)."""
    rows = session.execute(
        select(Application.submitted_at, Application.closed_at).where(
            Application.department_code == code, Application.closed_at >= since,
            Application.submitted_at.is_not(None),
        )
    ).all()  # fmt: skip
    days = sorted(
        (closed - sent).total_seconds() / 86400 for sent, closed in rows if sent and closed
    )
    if not days:
        return None, None
    p90 = days[min(len(days) - 1, math.ceil(0.9 * len(days)) - 1)]  # nearest rank
    return round(statistics.median(days), 1), round(p90, 1)


def organisation_record(session: Session, *, code: str, now: dt.datetime) -> PublicRecord:
    """An organisation's public record: names, API scopes it holds, consents received by month."""
    org = session.get(Organisation, (code or "").strip().upper())
    if org is None:
        raise NotInRecord("Not in the record.", code="record_not_found")
    months, since = _window(now)
    keys = session.scalars(
        select(ApiKey).where(ApiKey.organisation_code == org.code, ApiKey.revoked_at.is_(None))
    ).all()
    scopes = sorted({s for k in keys for s in k.scopes})
    mine = Grant.organisation_code == org.code
    received = _counted(session, Grant.created_at, mine, since=since)
    withdrawn = _counted(session, Grant.withdrawn_at, mine, since=since)
    asked = _counted(
        session, DocumentRequest.created_at, DocumentRequest.organisation_code == org.code,
        since=since,
    )  # fmt: skip
    return PublicRecord(
        "organisation", org.code, org.name, org.name_ur, org.created_at, True, tuple(scopes),
        tuple(MonthCount(m, received.get(m, 0), withdrawn.get(m, 0), asked.get(m, 0))
              for m in months),
        None, None, *dispute_counts(session, kind="organisation", code=org.code, since=since),
    )  # fmt: skip

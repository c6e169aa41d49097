"""Counting repeated events instead of writing each one: the ledger's growth stays bounded.

Anyone can verify a citizen's certificate, and anyone holding a link can fail at it; writing a
ledger event for each would let a stranger fill a citizen's ledger (a five-minute soak added
124,411 events). Instead the first such event per key (holder, what, who) and UTC day goes to the
ledger, and every later one only raises that day's count here. The citizen still sees who checked
and how often; the ledger holds at most one line per verifier, certificate and day.

The counts are not hash-chained (the first event of each day is); they say "how often", the ledger
says "who, and that it happened".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import Table, and_, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from amanat.db import is_postgresql
from audit.models import AuditTally

_TALLIES = cast(Table, AuditTally.__table__)


def day_of(when: dt.datetime) -> dt.date:
    """The UTC day a moment belongs to (the unit the counts are kept in)."""
    return when.astimezone(dt.UTC).date()


def count(session: Session, *, key: str, now: dt.datetime, by: int = 1) -> int:
    """Count ``by`` more under ``key`` today; return today's count including them (``by`` =
    these are the first today).

    One statement (an upsert), so two workers counting at once never both see themselves first.
    """
    if by < 1:
        raise ValueError("a tally counts at least one")
    insert: Any = postgresql.insert if is_postgresql(session) else sqlite.insert
    statement = (
        insert(_TALLIES)
        .values(key=key[:200], day=day_of(now), count=by)
        .on_conflict_do_update(
            index_elements=[_TALLIES.c.key, _TALLIES.c.day],
            set_={"count": _TALLIES.c.count + by},
        )
        .returning(_TALLIES.c.count)
    )
    return int(session.execute(statement).scalar_one())


def counts(
    session: Session, *, wanted: Iterable[tuple[str, dt.date]]
) -> dict[tuple[str, dt.date], int]:
    """The counts of several (key, day) pairs, in one query (missing pairs are left out)."""
    pairs = sorted(set(wanted))
    if not pairs:
        return {}
    rows = session.execute(
        select(_TALLIES.c.key, _TALLIES.c.day, _TALLIES.c.count).where(
            or_(*(and_(_TALLIES.c.key == k, _TALLIES.c.day == d) for k, d in pairs))
        )
    ).all()
    # Row.count is a tuple method: read the column by position.
    return {(r[0], r[1]): int(r[2]) for r in rows}

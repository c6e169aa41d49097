"""Fixed-window rate limits kept in the database, so every worker process shares them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from identity.errors import RateLimited
from identity.models import RateCounter


def hit(session: Session, *, key: str, limit: int, window: dt.timedelta, now: dt.datetime) -> None:
    """Count one attempt under ``key``; RateLimited once ``limit`` attempts fill the window.

    Callers commit this in its own transaction, before the attempt, so that a failed attempt
    (whose transaction rolls back) still counts.
    """
    row = session.scalar(select(RateCounter).where(RateCounter.key == key).with_for_update())
    if row is None:
        session.add(RateCounter(key=key[:128], window_start=now, count=1))
        session.flush()
        return
    if now - row.window_start >= window:
        row.window_start, row.count = now, 1
    elif row.count >= limit:
        # The real wait (a lock-out may last an hour), for the reader and Retry-After.
        wait = row.window_start + window - now
        raise RateLimited("Too many attempts.", code="rate_limited", wait=wait)
    else:
        row.count += 1
    session.flush()

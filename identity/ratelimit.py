"""Fixed-window rate limits kept in the database, so every worker process shares them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from identity.errors import RateLimited
from identity.models import RateCounter


def _locked(session: Session, key: str) -> RateCounter | None:
    return session.scalar(select(RateCounter).where(RateCounter.key == key).with_for_update())


def hit(session: Session, *, key: str, limit: int, window: dt.timedelta, now: dt.datetime) -> None:
    """Count one attempt under ``key``; RateLimited once ``limit`` attempts fill the window.

    Callers commit this in its own transaction, before the attempt, so that a failed attempt
    (whose transaction rolls back) still counts.
    """
    key = key[:128]
    row = _locked(session, key)
    if row is None:
        try:
            # Two workers may create the same counter at once: the loser's insert is undone
            # (to a savepoint, the rest of its transaction kept) and it counts on the winner's row.
            with session.begin_nested():
                session.add(RateCounter(key=key, window_start=now, count=1))
            return
        except IntegrityError:
            row = _locked(session, key)
            assert row is not None  # the row the other worker committed
    if now - row.window_start >= window:
        row.window_start, row.count = now, 1
    elif row.count >= limit:
        # The real wait (a lock-out may last an hour), for the reader and Retry-After.
        wait = row.window_start + window - now
        raise RateLimited("Too many attempts.", code="rate_limited", wait=wait)
    else:
        row.count += 1
    session.flush()

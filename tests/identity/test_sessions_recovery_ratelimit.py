"""Sessions (idle and absolute expiry), recovery codes, rate limits."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select

from identity import ratelimit, recovery
from identity.accounts import create_account
from identity.errors import AuthenticationFailed, RateLimited
from identity.models import AuthSession, RateCounter, Role
from identity.sessions import (
    SessionPolicy,
    end_session,
    list_sessions,
    resolve_session,
    start_session,
)

POLICY = SessionPolicy(idle=dt.timedelta(minutes=30), absolute=dt.timedelta(hours=12))


@pytest.fixture
def citizen(session, now):
    return create_account(
        session, role=Role.CITIZEN, display_name="A", login="35202-1234567-1", now=now
    )


def test_session_token_is_stored_hashed(session, citizen, now) -> None:
    token = start_session(session, account=citizen, method="passkey", user_agent="UA", now=now)
    row = session.query(AuthSession).one()
    assert token.encode() not in row.token_hash
    assert len(row.token_hash) == 32
    assert resolve_session(session, token=token, policy=POLICY, now=now) is row


def test_idle_session_expires(session, citizen, now) -> None:
    token = start_session(session, account=citizen, method="passkey", user_agent="", now=now)
    assert resolve_session(session, token=token, policy=POLICY, now=now + dt.timedelta(minutes=29))
    assert (
        resolve_session(session, token=token, policy=POLICY, now=now + dt.timedelta(minutes=61))
        is None
    )


def test_active_session_still_ends_at_the_absolute_limit(session, citizen, now) -> None:
    token = start_session(session, account=citizen, method="passkey", user_agent="", now=now)
    t = now
    for _ in range(48):  # a request every 20 minutes keeps it from going idle...
        t += dt.timedelta(minutes=20)
        if resolve_session(session, token=token, policy=POLICY, now=t) is None:
            break
    assert t - now <= dt.timedelta(hours=12, minutes=20)  # ...but not past 12 hours
    assert resolve_session(session, token=token, policy=POLICY, now=t) is None


def test_ended_session_is_dead_and_unknown_token_is_none(session, citizen, now) -> None:
    token = start_session(session, account=citizen, method="passkey", user_agent="", now=now)
    row = resolve_session(session, token=token, policy=POLICY, now=now)
    end_session(session, account=citizen, session_id=row.id, now=now)
    assert resolve_session(session, token=token, policy=POLICY, now=now) is None
    assert resolve_session(session, token="nope", policy=POLICY, now=now) is None
    assert list_sessions(session, account=citizen, policy=POLICY, now=now) == []


def test_recovery_code_works_once(session, citizen, now) -> None:
    codes = recovery.generate_codes(session, account=citizen, now=now)
    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert (
        recovery.redeem_code(session, login=citizen.login, code=codes[0].lower(), now=now)
        is citizen
    )
    with pytest.raises(AuthenticationFailed):
        recovery.redeem_code(session, login=citizen.login, code=codes[0], now=now)
    assert recovery.remaining_codes(session, account=citizen) == 9


def test_new_codes_replace_old_ones(session, citizen, now) -> None:
    old = recovery.generate_codes(session, account=citizen, now=now)
    recovery.generate_codes(session, account=citizen, now=now)
    with pytest.raises(AuthenticationFailed):
        recovery.redeem_code(session, login=citizen.login, code=old[1], now=now)


def test_recovery_code_of_unknown_account_fails(session, now) -> None:
    with pytest.raises(AuthenticationFailed):
        recovery.redeem_code(session, login="35202-9999999-9", code="AAAA-BBBB-CCCC", now=now)


def test_rate_limit_window(session, now) -> None:
    window = dt.timedelta(minutes=1)
    for _ in range(3):
        ratelimit.hit(session, key="login:1.2.3.4", limit=3, window=window, now=now)
    with pytest.raises(RateLimited):
        ratelimit.hit(session, key="login:1.2.3.4", limit=3, window=window, now=now)
    ratelimit.hit(session, key="login:5.6.7.8", limit=3, window=window, now=now)  # other client
    ratelimit.hit(
        session, key="login:1.2.3.4", limit=3, window=window, now=now + window
    )  # next window


def test_two_workers_creating_one_counter_both_count(sessions, engine, now) -> None:
    """The first attempt from two workers at once: the second's insert meets the first's row
    (a unique violation on PostgreSQL once the first commits); it counts on that row instead."""
    window = dt.timedelta(minutes=15)
    first = sessions()
    ratelimit.hit(first, key="password:race", limit=5, window=window, now=now)
    done = threading.Event()

    def second() -> None:
        with sessions() as s:
            ratelimit.hit(s, key="password:race", limit=5, window=window, now=now)
            s.commit()
        done.set()

    worker = threading.Thread(target=second)
    worker.start()
    # On PostgreSQL the second waits on the first's uncommitted row; on SQLite on its lock.
    assert not done.wait(0.5)
    first.commit()
    first.close()
    worker.join(timeout=30)
    assert done.is_set()
    with sessions() as s:
        counter = s.scalars(select(RateCounter).where(RateCounter.key == "password:race")).one()
    assert counter.count == 2

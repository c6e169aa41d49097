"""Every event a web worker commits is covered by a signed tree head within a bounded delay."""

from __future__ import annotations

import datetime as dt
import threading
import time

from sqlalchemy import func, select

from amanat.db import transaction
from audit import EventTag, record_event
from audit.models import AuditEvent, AuditTreeHead
from tests.web.helpers import register
from web.app import create_app
from web.runtime import HeadSigner, build_runtime


def _wait(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_commits_during_the_delay_share_one_signing() -> None:
    signed = threading.Event()
    calls: list[float] = []
    signer = HeadSigner(lambda: (calls.append(time.monotonic()), signed.set()), delay=0.2)
    for _ in range(5):
        signer.appended()
    assert signed.wait(5)
    assert _wait(lambda: len(calls) == 1)
    time.sleep(0.3)
    assert len(calls) == 1  # nothing new was appended: no second head


def test_a_failed_signing_is_tried_again() -> None:
    attempts: list[int] = []

    def sign() -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("database away")

    HeadSigner(sign, delay=0.05).appended()
    assert _wait(lambda: len(attempts) >= 2)


def test_a_quiet_service_still_signs_its_last_event(settings, engine, file_keystore) -> None:
    """No later request, no cron: the head still comes, within the configured delay."""
    rt = build_runtime(
        settings.with_overrides(tree_head_seconds=1), engine=engine, keystore=file_keystore
    )
    client = create_app(runtime_=rt, test_config={"TESTING": True}).test_client()
    register(client)

    def covered() -> bool:
        with rt.sessions() as s:
            events = s.scalar(select(func.count()).select_from(AuditEvent))
            newest = s.scalar(select(func.max(AuditTreeHead.tree_size)))
            return bool(events) and newest == events

    assert _wait(covered)


def test_a_task_engine_job_is_covered_within_the_delay(settings, engine, file_keystore) -> None:
    """A job of the task engine commits through the runtime's sessions, with no request around
    it: its events get a signed head within the delay too, not at the next minute's job."""


    rt = build_runtime(
        settings.with_overrides(tree_head_seconds=1), engine=engine, keystore=file_keystore
    )
    try:
        with transaction(rt.sessions) as s:  # as web/tasks.py's jobs write
            record_event(
                s,
                tag=EventTag.ACCOUNT_SIGNED_IN,
                actor="job",
                subject_id=1,
                now=dt.datetime.now(dt.UTC),
            )

        def covered() -> bool:
            with rt.sessions() as s:
                events = s.scalar(select(func.count()).select_from(AuditEvent))
                newest = s.scalar(select(func.max(AuditTreeHead.tree_size)))
                return bool(events) and newest == events

        assert _wait(covered, seconds=5)
    finally:
        rt.close()

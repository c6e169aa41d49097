"""The task engine: where its queue lives, JSON (never pickle) on it, the schedule that replaced
the cron lines, and each periodic job doing its work."""

from __future__ import annotations

import datetime as dt
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner
from flask import Flask
from huey.registry import Message

from amanat.settings import Settings, load_settings
from audit import EventTag, record_event
from audit.ledger import verify_ledger
from signing.pki import ensure_pki
from web.cli import main
from web.tasks import (
    TaskEngineError,
    _JsonSerializer,
    drain,
    queue_location,
    renew_crl,
    settle_consents,
    sign_tree_head,
    task_engine,
)

REDIS = "redis://127.0.0.1:6379/15"


def _message(**changes: object) -> Message:
    fields = dict.fromkeys(Message._fields)
    fields.update(id="j1", name="queuecmd_issue_batch", retries=0, retry_delay=0,
                  args=("9ef78ac4-459f-4f1b-93a2-365bb1819738",), kwargs={})  # fmt: skip
    fields.update(changes)
    return Message(**fields)


@pytest.mark.parametrize(
    "message",
    [
        _message(),
        _message(eta=dt.datetime(2026, 12, 1, 14, 0, tzinfo=dt.UTC)),
        _message(kwargs={"n": [1, 2]}),
    ],
    ids=["plain", "with-eta", "nested-kwargs"],
)
def test_a_job_goes_on_the_queue_as_json_and_comes_back_the_same(message: Message) -> None:
    serializer = _JsonSerializer()
    data = serializer.serialize(message)
    assert data.startswith(b'{"$message":')
    back = serializer.deserialize(data)
    assert back.args == message.args
    assert back.eta == message.eta
    assert back.name == message.name


def test_a_pickled_job_on_the_queue_is_refused_not_run() -> None:
    planted = pickle.dumps(_message())
    with pytest.raises(ValueError):  # json.JSONDecodeError: nothing was unpickled
        _JsonSerializer().deserialize(planted)


@pytest.mark.parametrize("value", [{1, 2}, object(), b"raw"], ids=["set", "object", "bytes"])
def test_only_plain_values_go_on_the_queue(value: object) -> None:
    with pytest.raises(TypeError):
        _JsonSerializer().serialize(value)


def test_a_locks_marker_goes_on_the_queue_as_json() -> None:
    assert _JsonSerializer().deserialize(_JsonSerializer().serialize("1")) == "1"


def test_the_queue_is_a_file_beside_a_sqlite_database(tmp_path: Path) -> None:
    settings = Settings(instance=tmp_path, database_url=f"sqlite:///{tmp_path / 'amanat.db'}")
    assert queue_location(settings) == f"sqlite:{tmp_path / 'tasks.db'}"


def test_the_queue_is_in_the_same_postgresql_database() -> None:
    url = "postgresql+psycopg://amanat@db/amanat"
    assert queue_location(Settings(instance=Path("/x"), database_url=url)) == url


def test_an_unusable_queue_setting_is_a_clear_error(tmp_path: Path) -> None:
    settings = Settings(instance=tmp_path, database_url="sqlite:///x.db", tasks="amqp://rabbit")
    with pytest.raises(TaskEngineError) as caught:
        task_engine(settings)
    assert caught.value.code == "tasks_setting"


EVERY_MINUTE = {"renew_status_list"}


@pytest.mark.parametrize(
    ("at", "jobs"),
    [
        (
            dt.datetime(2026, 12, 1, 12, 0),
            {
                "resume_batches_every_minute",
                "sign_tree_head",
                "settle_consents",
                "erase_due_accounts",
                *EVERY_MINUTE,
            },
        ),
        (
            dt.datetime(2026, 12, 1, 12, 7),
            {"resume_batches_every_minute", "sign_tree_head", "renew_crl", *EVERY_MINUTE},
        ),
        (
            dt.datetime(2026, 12, 1, 12, 23),
            {"resume_batches_every_minute", "sign_tree_head", "renew_archives", *EVERY_MINUTE},
        ),
        (
            dt.datetime(2026, 12, 1, 12, 8),
            {"resume_batches_every_minute", "sign_tree_head", *EVERY_MINUTE},
        ),
    ],
    ids=["on-the-ten", "at-seven", "at-twenty-three", "any-minute"],
)
def test_the_engine_schedules_what_were_cron_lines(
    settings: Settings, at: dt.datetime, jobs: set[str]
) -> None:
    due = task_engine(settings).huey.read_periodic(at)
    assert {task.name for task in due} == jobs


def test_the_tree_head_job_covers_every_committed_event(app: Flask) -> None:

    rt = app.extensions["amanat"]
    with rt.sessions() as s:
        record_event(s, tag=EventTag.ACCOUNT_CREATED, actor="test", subject_id=None, now=rt.clock())
        s.commit()
    assert sign_tree_head(rt) >= 1
    with rt.sessions() as s:
        report = verify_ledger(s, keystore=rt.keystore)
    assert report.intact
    assert report.heads >= 1
    assert report.waiting == 0


def test_the_crl_job_renews_only_a_crl_near_its_next_update(app: Flask) -> None:

    rt = app.extensions["amanat"]
    with rt.sessions() as s:
        ensure_pki(s, keystore=rt.keystore, now=rt.clock())
        s.commit()
    first = renew_crl(rt)
    assert renew_crl(rt) == first  # fresh: kept
    rt.clock.value = rt.clock() + dt.timedelta(hours=23)
    assert renew_crl(rt) == first + 1


def test_the_consent_job_records_nothing_when_nothing_ended(app: Flask) -> None:
    assert settle_consents(app.extensions["amanat"]) == 0


def test_redis_carries_the_queue_for_several_machines(tmp_path: Path) -> None:
    """A job put on a real Redis is taken off it and run (Redis on 127.0.0.1:6379)."""

    try:
        redis.Redis.from_url(REDIS).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is not reachable at {REDIS} ({exc}); start it (.ci/run does)")
    settings = Settings(instance=tmp_path, database_url="sqlite:///x.db", tasks=REDIS)
    engine = task_engine(settings)
    engine.huey.flush()
    engine.resume_batches()
    assert engine.pending() == 1
    raw = redis.Redis.from_url(REDIS).lrange("huey.redis.amanat", 0, -1)
    assert raw
    assert raw[0].startswith(b'{"$message":')
    engine.huey.flush()
    assert drain(engine) == 0


def test_the_notices_round_runs_again_and_a_replaced_round_stops(app: Flask) -> None:
    rt = app.extensions["amanat"]
    engine = task_engine(rt.settings)
    drain(engine, app=app)  # this process's jobs run on the app's runtime
    engine.start_notices()
    first = engine.huey.dequeue()  # a worker takes it, and runs it at its time:
    when = first.eta + dt.timedelta(seconds=1)
    # Run here, so that an error inside the round fails the test (Huey would only log it).
    engine.send_notices.call_local(task=first)  # sends what is due, then plans the next round
    following = engine.huey.dequeue()
    assert following.name == "send_notices"
    assert following.id != first.id
    engine.huey.execute(first, timestamp=when)  # the replaced round again: it ends, no more
    assert engine.huey.dequeue() is None


def test_a_starting_worker_clears_a_notices_lock_a_killed_one_left(tmp_path: Path) -> None:
    """kill -9 inside a notices round leaves its lock (no expiry on SQLite): the next worker
    clears it, or notices would stop for good."""



    env = {**os.environ, "AMANAT_INSTANCE": str(tmp_path / "inst"), "HOME": str(tmp_path)}
    env.pop("AMANAT_DATABASE_URL", None)
    env.pop("AMANAT_TASKS", None)
    assert CliRunner().invoke(main, ["init"], env=env).exit_code == 0
    engine = task_engine(load_settings(env))
    engine.huey.lock_task("notices").__enter__()  # held by a worker that then died
    assert engine.huey.is_locked("notices")
    worker = subprocess.Popen(
        [sys.executable, "-c", "from web.cli import main; main()", "worker", "--workers", "1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while engine.huey.is_locked("notices") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not engine.huey.is_locked("notices")
    finally:
        os.killpg(worker.pid, 9)
        worker.wait(10)

"""The task engine: Huey, on a SQLite file by default, on PostgreSQL or Redis across machines.

Why Huey: it is maintained, small, has no dependency of its own, and runs on the embedded default
with no server (a SQLite file beside the database) as well as on the PostgreSQL a deployment
already has, or on Redis; it schedules periodic jobs itself (no cron lines) and runs workers as
processes. Its one weakness for us: a job leaves the queue when a worker takes it, so a worker
killed mid-job loses that job. Amanat therefore never keeps work only in the queue: a batch's rows
live in the database with leases (``signing/batches.py``), every job is idempotent, and the
periodic ``resume_batches`` (also run when a worker starts) puts any batch nobody works on back.

Jobs are JSON on the queue, never pickle: whoever can write to a shared Redis or queue table must
not be able to run code on the workers. This module is the only one that imports Huey.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import huey
from huey import crontab
from huey.exceptions import TaskLockedException
from huey.registry import Message
from huey.serializer import Serializer

from amanat.db import transaction
from amanat.settings import Settings, SettingsError

_log = logging.getLogger("amanat.tasks")

QUEUE = "amanat"
# Jobs put on the queue for one batch: as many workers as this can share it.
BATCH_JOBS = 8
# A batch job gives its worker back this often, so periodic jobs and other batches get a turn.
SLICE_SECONDS = 15.0
# Notices go out this many seconds after what they tell of, at most (grouped when many come).
NOTICE_SECONDS = 5.0
_NOTICES_NEXT = "amanat:notices:next"


class TaskEngineError(SettingsError):
    """The task engine's setting cannot be used."""


class _JsonSerializer(Serializer):  # type: ignore[misc]
    """Huey's messages, and the plain values it keeps beside them (a lock's marker), as JSON:
    plain values and datetimes only, nothing that runs on loading."""

    def _serialize(self, data: Any) -> bytes:
        return json.dumps(_encode(data), separators=(",", ":")).encode()

    def _deserialize(self, data: bytes) -> Any:
        return _decode(json.loads(data))


def _encode(value: Any) -> Any:
    if isinstance(value, Message):
        return {"$message": {k: _encode(v) for k, v in value._asdict().items()}}
    if isinstance(value, dt.datetime):
        return {"$time": value.isoformat()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"{type(value).__name__} cannot go on the queue")


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "$message" in value:
            return Message(**{k: _decode(v) for k, v in value["$message"].items()})
        if "$time" in value:
            return dt.datetime.fromisoformat(value["$time"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(_decode(v) for v in value)
    return value


def queue_location(settings: Settings) -> str:
    """Where the queue lives, with the embedded default resolved."""
    if settings.tasks:
        return settings.tasks
    if settings.database_url.startswith("postgresql"):
        return settings.database_url
    return f"sqlite:{settings.instance / 'tasks.db'}"


def _storage(settings: Settings) -> huey.Huey:
    where = queue_location(settings)
    common: dict[str, Any] = {"results": False, "serializer": _JsonSerializer(), "utc": True}
    if where.startswith("sqlite:"):
        path = Path(where.removeprefix("sqlite:").removeprefix("///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return huey.SqliteHuey(QUEUE, filename=str(path), timeout=30, **common)
    if where.startswith(("postgresql://", "postgresql+psycopg://")):
        dsn = "postgresql://" + where.split("://", 1)[1]
        return huey.PostgresHuey(QUEUE, dsn=dsn, table_prefix="amanat_tasks", **common)
    if where.startswith(("redis://", "rediss://", "unix://")):
        return huey.RedisHuey(QUEUE, url=where, **common)
    raise TaskEngineError(
        "AMANAT_TASKS must be sqlite:<file>, postgresql://... or redis://...",
        code="tasks_setting",
    )


@dataclass(frozen=True)
class TaskEngine:
    """The queue of one deployment and its jobs."""

    huey: huey.Huey
    issue_batch: Any
    resume_batches: Any
    send_notices: Any

    def start_notices(self) -> None:
        """Start the notices round (every NOTICE_SECONDS); an earlier round's chain stops."""
        following = uuid.uuid4().hex
        self.huey.storage.put_data(_NOTICES_NEXT, following.encode())
        self.send_notices.schedule(delay=1.0, id=following)

    def enqueue_batch(self, batch_id: uuid.UUID, *, jobs: int = BATCH_JOBS) -> bool:
        """Put a batch on the queue, for up to ``jobs`` workers at once; False when the queue
        could not be reached (the batch is safe in the database: ``resume_batches`` puts it on
        the queue once it is back, so the caller carries on)."""
        try:
            for _ in range(jobs):
                self.issue_batch(str(batch_id))
        except Exception:  # sqlite3, psycopg or redis errors alike: the queue is away
            _log.warning("batch %s: the task queue is unreachable", batch_id, exc_info=True)
            return False
        return True

    def pending(self) -> int:
        """Jobs waiting on the queue."""
        return int(self.huey.pending_count())


_engines: dict[str, TaskEngine] = {}
_engines_lock = threading.Lock()
_runtime_for_jobs: dict[tuple[int, str], Any] = {}


def task_engine(settings: Settings) -> TaskEngine:
    """This process's engine for these settings (built once; jobs registered on it)."""
    key = f"{queue_location(settings)}|{settings.instance}"
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = _register(_storage(settings), settings)
        return engine


def _job_runtime(settings: Settings) -> Any:
    """One runtime per worker process, made on its first job (after the fork, never before)."""
    from web.runtime import build_runtime

    key = (os.getpid(), f"{settings.instance}|{settings.database_url}")
    rt = _runtime_for_jobs.get(key)
    if rt is None:
        logging.getLogger("pyhanko").setLevel(logging.ERROR)
        rt = _runtime_for_jobs[key] = build_runtime(settings)
    return rt


def _job_app(settings: Settings) -> Any:
    """The web app on this worker's runtime: notices are worded as pages are (language, dates).
    Made by the factory ``run_worker`` was given (this module never imports web.app, which
    imports the views, which import this module)."""
    rt = _job_runtime(settings)
    app = _apps.get(id(rt))
    if app is None:
        if _app_factory is None:
            raise RuntimeError("no web app for the notices: run_worker(app_factory=...)")
        app = _apps[id(rt)] = _app_factory(rt)
    return app


_apps: dict[int, Any] = {}
_app_factory: Callable[[Any], Any] | None = None


def _register(h: huey.Huey, settings: Settings) -> TaskEngine:
    lease = dt.timedelta(seconds=settings.batch_lease_seconds)

    def issue_batch(batch_id: str) -> None:
        from signing.batch_work import BatchWorker, work_on_batch

        rt = _job_runtime(settings)
        worker = BatchWorker(rt.sessions, issuance=rt.issuance, clock=rt.clock)
        if work_on_batch(worker, batch_id=uuid.UUID(batch_id), lease=lease, budget=SLICE_SECONDS):
            issue_batch_task(batch_id)  # more rows: back of the queue, behind what waits

    def resume_batches() -> None:
        from signing.batches import batches_to_resume

        rt = _job_runtime(settings)
        with rt.sessions() as s:
            stalled = batches_to_resume(s, now=rt.clock(), idle=lease)
        for batch_id in stalled:
            _log.warning("batch %s: nobody worked on it, back on the queue", batch_id)
            for _ in range(BATCH_JOBS):
                issue_batch_task(str(batch_id))

    def send_notices(task: Any = None) -> None:
        """The outbox round: notices to citizens, then webhooks to organisations."""
        from web.notices import send_due_notices
        from web.webhooks import deliver_due_webhooks

        expected = h.storage.peek_data(_NOTICES_NEXT)
        if task is None or expected != task.id.encode():
            return  # a chain that a newer start replaced: it ends here
        try:
            with h.lock_task("notices"):
                send_due_notices(_job_app(settings))
                deliver_due_webhooks(_job_runtime(settings))
        except TaskLockedException:
            pass  # another worker's round is on it
        finally:
            following = uuid.uuid4().hex
            h.storage.put_data(_NOTICES_NEXT, following.encode())
            notices_task.schedule(delay=NOTICE_SECONDS, id=following)

    notices_task = h.task(name="send_notices", context=True)(send_notices)
    issue_batch_task = h.task(name="issue_batch")(issue_batch)
    resume_task = h.task(name="resume_batches")(resume_batches)
    h.periodic_task(crontab(minute="*"), name="resume_batches_every_minute")(resume_batches)
    for name, schedule, job in _periodic_jobs():
        h.periodic_task(schedule, name=name)(_with_runtime(settings, job))
    return TaskEngine(
        huey=h, issue_batch=issue_batch_task, resume_batches=resume_task,
        send_notices=notices_task,
    )  # fmt: skip


def _with_runtime(settings: Settings, job: Callable[[Any], object]) -> Callable[[], None]:
    def run() -> None:
        job(_job_runtime(settings))

    return run


def _periodic_jobs() -> list[tuple[str, Any, Callable[[Any], object]]]:
    """What used to be the README's cron lines, scheduled by the engine."""
    return [
        ("sign_tree_head", crontab(minute="*"), sign_tree_head),
        ("renew_crl", crontab(minute="7"), renew_crl),
        ("settle_consents", crontab(minute="*/10"), settle_consents),
        ("renew_status_list", crontab(minute="*"), renew_status_list),
        ("renew_archives", crontab(minute="23"), renew_archives),
        ("erase_due_accounts", crontab(minute="*/10"), erase_due_accounts),
    ]


def sign_tree_head(rt: Any) -> int:
    """Sign a tree head over every event committed so far (by any node or command)."""
    from audit.ledger import publish_tree_head

    with transaction(rt.sessions) as s:
        return int(publish_tree_head(s, keystore=rt.keystore, now=rt.clock()).tree_size)


def renew_crl(rt: Any) -> int:
    """Issue the root's CRL again when it nears its next update (it is valid for a day)."""
    from signing.models import CrlState
    from signing.pki import current_crl

    material = rt.issuance().material
    with transaction(rt.sessions) as s:
        current_crl(s, material=material, now=rt.clock())
        state = s.get(CrlState, "root")
        return int(state.number) if state else 0


def renew_status_list(rt: Any) -> int:
    """Sign the status list again when it is an hour old or older than a revocation."""
    from signing import status_list

    settings = rt.settings
    material = rt.issuance().material
    with transaction(rt.sessions) as s:
        row = status_list.renew_status_list(
            s,
            material=material,
            now=rt.clock(),
            valid_for=dt.timedelta(hours=settings.status_list_hours),
            capacity=settings.status_list_capacity,
            keystore=rt.keystore,
        )
        return int(row.id)


def renew_archives(rt: Any) -> int:
    """Add archive time-stamps to the B-LTA certificates whose newest one nears its end, a
    batch per transaction until none is due (each run is safe to repeat: a renewed file is no
    longer due)."""
    from signing import archive

    margin = dt.timedelta(days=rt.settings.archive_margin_days)
    renewed = 0
    while True:
        with transaction(rt.sessions) as s:
            done = archive.renew_archives(s, ctx=rt.issuance(), now=rt.clock(), margin=margin)
        renewed += done.renewed
        if done.checked < archive.BATCH:
            return renewed


def erase_due_accounts(rt: Any) -> int:
    """Erase each account whose grace period is over, one transaction each (a failure leaves
    that one pending for the next run, and the others erased)."""
    from signing.erasure import ERASED, due_erasures, erase_account

    erased = 0
    with transaction(rt.sessions) as s:
        due = due_erasures(s, now=rt.clock())
    for erasure_id in due:
        with transaction(rt.sessions) as s:
            row = erase_account(s, ctx=rt.vault, erasure_id=erasure_id,
                                service=rt.settings.public_base_url, now=rt.clock())  # fmt: skip
            if row is not None and row.status == ERASED:
                erased += 1
    return erased


def settle_consents(rt: Any) -> int:
    """Record the consents that ended by time or download count, and the requests that expired
    unanswered, since the last run."""
    from signing.requests import settle_expired_requests
    from vault.shares import settle_ended

    with transaction(rt.sessions) as s:
        return settle_ended(s, now=rt.clock()) + settle_expired_requests(s, now=rt.clock())


def run_worker(
    settings: Settings, *, workers: int, periodic: bool, app_factory: Callable[[Any], Any]
) -> None:
    """Run a consumer: ``workers`` processes taking jobs, and (with ``periodic``) the schedule.
    ``app_factory(runtime)`` makes the web app that words notices."""
    global _app_factory
    _app_factory = app_factory
    engine = task_engine(settings)
    engine.resume_batches()  # a worker that starts takes up what a dead one left
    if periodic:
        engine.start_notices()
    consumer = engine.huey.create_consumer(
        workers=workers,
        worker_type="process",
        periodic=periodic,
        initial_delay=0.05,
        max_delay=1.0,
        check_worker_health=True,
        # A worker killed with kill -9 inside a notices round leaves its lock behind (SQLite and
        # PostgreSQL locks have no expiry in Huey): a starting worker clears it.
        extra_locks="notices",
    )
    consumer.run()


def drain(engine: TaskEngine, *, app: Any = None, limit: int = 10_000) -> int:
    """Run the waiting jobs in this process, one after the other, until none is left (for tests,
    and commands that must not wait for a worker), on ``app``'s runtime if given; how many ran."""
    if app is not None:
        runtime = app.extensions["amanat"]
        settings = runtime.settings
        _runtime_for_jobs[(os.getpid(), f"{settings.instance}|{settings.database_url}")] = runtime
        _apps[id(runtime)] = app
    ran = 0
    while ran < limit:
        task = engine.huey.dequeue()
        if task is None:
            return ran
        engine.huey.execute(task)
        ran += 1
    return ran

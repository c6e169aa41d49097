"""Declarative base, engine and session factory.

SQLite (the embedded default) runs in WAL mode with foreign keys on, and every transaction starts
with ``BEGIN IMMEDIATE``: SQLite has one writer at a time anyway, and taking the write lock up front
means a transaction that read first never fails later with a stale snapshot. PostgreSQL is reached
through psycopg 3.

Requests that only read (a QR check, a landing page) use :func:`read_only_engine`: each statement
is its own snapshot (autocommit: no BEGIN, no ROLLBACK, no writer lock; WAL readers never wait for
the writer). So a reader's two queries may see two moments of the request, never a state that did
not exist; a reader that needs one snapshot across queries uses the normal engine. On SQLite
``PRAGMA query_only`` makes a write by mistake fail loudly.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, MetaData, TypeDecorator, event, text
from sqlalchemy import create_engine as _sa_create_engine
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every database.

    SQLite keeps no offset and hands back naive datetimes; PostgreSQL hands back aware ones. Values
    are returned aware (UTC) either way, so no caller has to patch them up.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """Base class of every mapped table; table names carry their package prefix."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Row ids that outgrow 32 bits on PostgreSQL; SQLite's INTEGER PRIMARY KEY is already 64-bit and
# autoincrements only under that exact type name.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def create_engine(url: str | URL, *, read_only: bool = False, **kwargs: Any) -> Engine:
    """Build an engine for ``url`` with the per-dialect settings Amanat relies on.

    ``read_only`` (SQLite files only) builds the readers' engine of :func:`read_only_engine`.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        connect_args = kwargs.pop("connect_args", {})
        connect_args.setdefault("timeout", 30)
        connect_args.setdefault("check_same_thread", False)
        memory = _in_memory(parsed)
        if read_only and not memory:
            kwargs["isolation_level"] = "AUTOCOMMIT"
            # Nothing to undo on a connection that never opens a transaction.
            kwargs["pool_reset_on_return"] = None
        engine = _sa_create_engine(parsed, connect_args=connect_args, **kwargs)
        if read_only and not memory:
            _configure_sqlite_reader(engine)
        else:
            _configure_sqlite(
                engine, in_memory=memory, lock_path=None if memory else f"{parsed.database}.lock"
            )
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("", "psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    kwargs.setdefault("pool_pre_ping", True)
    return _sa_create_engine(parsed, **kwargs)


def _in_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:") or "mode=memory" in str(url.query)


def read_only_engine(engine: Engine) -> Engine:
    """An engine for requests that only read, on the same database as ``engine`` (autocommit).

    SQLite file: a second engine that never takes the writer lock. PostgreSQL: the same pool. An
    in-memory SQLite database has no second connection to the same data, so there it is
    ``engine`` itself.
    """
    if engine.dialect.name == "sqlite":
        if _in_memory(engine.url):
            return engine
        return create_engine(engine.url, read_only=True)
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def _configure_sqlite_reader(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA query_only=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


def _configure_sqlite(engine: Engine, *, in_memory: bool, lock_path: str | None) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        if lock_path is not None:
            # One lock file descriptor per connection: flock() locks belong to it.
            record.info["lock_fd"] = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        fd = conn.connection.info.get("lock_fd")
        if fd is not None:
            _acquire(fd)
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
            raise

    def _release(conn: Any) -> None:
        fd = conn.connection.info.get("lock_fd")
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)

    event.listen(engine, "commit", _release)
    event.listen(engine, "rollback", _release)

    @event.listens_for(engine, "close")
    def _on_close(dbapi_connection: Any, record: Any) -> None:
        fd = record.info.pop("lock_fd", None)
        if fd is not None:
            os.close(fd)


def _acquire(fd: int, timeout: float = 30.0) -> None:
    """Take the writers' file lock, waiting at most ``timeout`` seconds.

    Writers queue here before BEGIN IMMEDIATE: polling in steps of at most 0.5 ms hands the lock on
    quickly, where SQLite's own busy handler sleeps in steps of up to 100 ms (tail latency).
    """
    deadline = time.monotonic() + timeout
    pause = 0.00005
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise sqlite3.OperationalError("database is locked") from None
            time.sleep(pause)
            pause = min(pause * 2, 0.0005)


def ping(engine: Engine) -> None:
    """Ask the database for nothing: raises when it does not answer (health and readiness)."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def is_postgresql(session_or_engine: Session | Engine) -> bool:
    """Whether the bound database is PostgreSQL."""
    bind = (
        session_or_engine.get_bind()
        if isinstance(session_or_engine, Session)
        else session_or_engine
    )
    return bind.dialect.name == "postgresql"


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()

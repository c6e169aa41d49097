"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL comes from ``AMANAT_TEST_DATABASE_URL`` (``.ci/run`` sets it; default: the local
trust-auth server, database ``test``). Each test gets its own schema, dropped afterwards. A test
that needs a component that is missing fails and says what is missing; nothing is skipped.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

import audit.models  # noqa: F401 - registers tables
import identity.models  # noqa: F401
import signing.models  # noqa: F401
import vault.models  # noqa: F401
from amanat.db import Base, create_engine, session_factory
from amanat.settings import Settings
from audit.keyring import bind_keystore
from identity import passwords
from keys.stores import FileKeyStore
from vault.s3 import S3BlobStore

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# Argon2's cheapest parameters in tests (the issue's "cheapest profile in tests"); the production
# profile has its own tests (tests/identity/test_passwords.py). The commands the tests run as
# child processes read it from the environment.
TEST_PASSWORD_PROFILE = "CHEAPEST"
os.environ["AMANAT_PASSWORD_PROFILE"] = TEST_PASSWORD_PROFILE
passwords.use_profile(TEST_PASSWORD_PROFILE)
SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
SOFTHSM_POOL = 40
_softhsm_next = 0


def pg_url() -> str:
    """The PostgreSQL server the tests use."""
    return os.environ.get("AMANAT_TEST_DATABASE_URL", DEFAULT_PG)


def _pg_engine(schema: str | None = None) -> Engine:
    kwargs = {}
    if schema:
        kwargs["connect_args"] = {"options": f"-csearch_path={schema}"}
    return create_engine(pg_url(), **kwargs)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL; the PostgreSQL one pins its own schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    with pg_schema_url() as (url, schema):
        request.node.pg_schema = schema
        yield url


@contextlib.contextmanager
def pg_schema_url() -> Iterator[tuple[str, str]]:
    """A fresh PostgreSQL schema of its own: (a URL pinned to it, its name); dropped after."""
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = _pg_engine()
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {pg_url()} ({type(exc).__name__}). Start it "
            "(.ci/run does) or set AMANAT_TEST_DATABASE_URL."
        )
    try:
        yield (
            pg_url() + ("&" if "?" in pg_url() else "?") + f"options=-csearch_path%3D{schema}",
            schema,
        )
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine with every table created."""
    eng = create_engine(db_url)
    Base.metadata.create_all(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def sessions(engine: Engine, file_keystore: FileKeyStore) -> sessionmaker[Session]:
    """The session factory of the test database (its ledger keys sealed by ``file_keystore``)."""
    return bind_keystore(session_factory(engine), file_keystore)


@pytest.fixture
def session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """One session, rolled back and closed at the end."""
    s = sessions()
    yield s
    s.rollback()
    s.close()


@pytest.fixture
def now() -> dt.datetime:
    """A fixed clock reading."""
    return dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def file_keystore(tmp_path: Path) -> FileKeyStore:
    """A file key store with one master key."""
    return FileKeyStore.create(tmp_path / "keys" / "master.keys")


@pytest.fixture(scope="session")
def softhsm_conf(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One SoftHSM2 configuration for the whole run.

    The PKCS#11 library reads its configuration once per process, so every token of the run lives
    in one temporary token directory; each test still gets a token of its own.
    """
    util = shutil.which("softhsm2-util")
    if util is None or not Path(SOFTHSM_MODULE).exists():
        pytest.fail("SoftHSM2 is missing: install the Debian package softhsm2 (make test does)")
    base = tmp_path_factory.mktemp("softhsm")
    (base / "tokens").mkdir()
    conf = base / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {base / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    # The library sees only tokens that exist when it initialises: make the pool up front.
    for i in range(SOFTHSM_POOL):
        subprocess.run(
            [
                util,
                "--init-token",
                "--free",
                "--label",
                f"amanat-test-{i}",
                "--so-pin",
                "12345678",
                "--pin",
                "87654321",
            ],
            check=True,
            capture_output=True,
        )
    yield conf
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous


@pytest.fixture
def softhsm(softhsm_conf: Path) -> dict[str, str]:
    """An unused token of the run's SoftHSM2 (module path, token label, user PIN)."""
    global _softhsm_next
    if _softhsm_next >= SOFTHSM_POOL:
        pytest.fail(f"all {SOFTHSM_POOL} SoftHSM2 test tokens are used: raise SOFTHSM_POOL")
    label = f"amanat-test-{_softhsm_next}"
    _softhsm_next += 1
    return {"module": SOFTHSM_MODULE, "token": label, "pin": "87654321"}


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """Settings of a test instance."""
    instance = tmp_path / "instance"
    instance.mkdir()
    return Settings(
        instance=instance, database_url=db_url, public_base_url="http://localhost:8000",
        password_profile=TEST_PASSWORD_PROFILE,
    )  # fmt: skip


@pytest.fixture(autouse=True)
def _service_log_lines_stay_with_their_test() -> Iterator[None]:
    """The service log is written by a listener thread (web/logs.py); each test's lines are
    written before it ends, so they land in that test's captured output."""
    yield

    logs = sys.modules.get("web.logs")
    if logs is not None:
        logs.flush_logs()


@pytest.fixture(scope="session")
def swift_s3() -> Iterator[dict[str, str]]:
    """OpenStack Swift with s3api on this machine (deploy/swift-saio, Debian's packages): the
    boto3 variables that reach it. Started once for the run, left running for the next."""

    root = Path(__file__).resolve().parents[1]
    try:
        done = subprocess.run([str(root / "deploy" / "swift-saio"), "up"], capture_output=True,
                              text=True, timeout=120)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.fail(f"Swift could not be started ({exc}); `make deps` installs it")
    if done.returncode != 0:
        pytest.fail(f"Swift could not be started: {done.stderr.strip()[-400:]}")
    values = dict(
        line.removeprefix("export ").split("=", 1)
        for line in done.stdout.splitlines()
        if line.startswith("export ")
    )
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    yield values
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture
def s3_store(swift_s3: dict[str, str]) -> Any:
    """A blob store in the test bucket, under a prefix of its own."""

    store = S3BlobStore("amanat-tests", prefix=f"t-{uuid.uuid4().hex[:12]}")
    store.ensure_bucket()
    return store

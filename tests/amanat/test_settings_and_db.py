"""Settings from the environment and the instance file; SQLite pragmas."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy.exc
from sqlalchemy import text

from amanat.db import create_engine, read_only_engine
from amanat.settings import SettingsError, load_settings


def test_defaults(tmp_path: Path) -> None:
    s = load_settings({"AMANAT_INSTANCE": str(tmp_path)})
    assert s.database_url == f"sqlite:///{tmp_path}/amanat.db"
    assert s.public_base_url == "http://localhost:8000"
    assert s.origin == "http://localhost:8000"
    assert s.rp_id == "localhost"
    assert not s.https
    assert s.max_upload_bytes == 26214400
    assert s.keystore == "file"
    assert s.blob_dir == tmp_path / "blobs"


def test_environment_wins_over_the_instance_file(tmp_path: Path) -> None:
    (tmp_path / "amanat.toml").write_text(
        'max_upload_bytes = 1000\npublic_base_url = "https://a.example"\n'
    )
    s = load_settings({"AMANAT_INSTANCE": str(tmp_path), "AMANAT_MAX_UPLOAD_BYTES": "2000"})
    assert s.max_upload_bytes == 2000
    assert s.public_base_url == "https://a.example"
    assert s.https


@pytest.mark.parametrize(
    "env,message",
    [
        ({"AMANAT_MAX_UPLOAD_BYTES": "lots"}, "integer"),
        ({"AMANAT_MAX_UPLOAD_BYTES": "0"}, "positive"),
        ({"AMANAT_KEYSTORE": "vault"}, "file' or 'pkcs11"),
        ({"AMANAT_KEYSTORE": "pkcs11"}, "AMANAT_PKCS11_MODULE"),
        ({"AMANAT_PUBLIC_BASE_URL": "ftp://x"}, "http"),
        ({"AMANAT_ARCHIVE_MARGIN_DAYS": "3650"}, "under 3650"),
        ({"AMANAT_ERASURE_GRACE_DAYS": "91"}, "1 to 90"),
        ({"AMANAT_RECOVERY_WAIT_HOURS": "1"}, "24 to 720"),
        ({"AMANAT_STATUS_LIST_HOURS": "0"}, "positive"),
        ({"AMANAT_STATUS_LIST_CAPACITY": str(1 << 30)}, "at most"),
    ],
)
def test_bad_settings_are_clear_errors(tmp_path: Path, env: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings({"AMANAT_INSTANCE": str(tmp_path), **env})


def test_unknown_key_in_instance_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "amanat.toml").write_text("databse_url = 'x'\n")
    with pytest.raises(SettingsError, match="unknown setting"):
        load_settings({"AMANAT_INSTANCE": str(tmp_path)})


def test_malformed_instance_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "amanat.toml").write_text("= nope")
    with pytest.raises(SettingsError):
        load_settings({"AMANAT_INSTANCE": str(tmp_path)})


def test_pin_is_not_in_the_repr(tmp_path: Path) -> None:
    s = load_settings({"AMANAT_INSTANCE": str(tmp_path), "AMANAT_PKCS11_PIN": "123456"})
    assert "123456" not in repr(s)


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_a_sqlite_reader_never_waits_for_the_writer(tmp_path: Path) -> None:
    """While a writer holds the write lock (BEGIN IMMEDIATE), the readers' engine still reads."""

    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}", connect_args={"timeout": 0.2})
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
    reader = read_only_engine(engine)
    try:
        with engine.connect() as writer:
            writer.begin()
            writer.execute(text("INSERT INTO t VALUES (2)"))  # holds the lock, uncommitted
            with reader.connect() as conn:
                assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 1
            writer.rollback()
    finally:
        reader.dispose()
        engine.dispose()


def test_a_sqlite_reader_refuses_to_write(tmp_path: Path) -> None:


    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    reader = read_only_engine(engine)
    try:
        with reader.connect() as conn, pytest.raises(sqlalchemy.exc.OperationalError):
            conn.execute(text("INSERT INTO t VALUES (1)"))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 0
    finally:
        reader.dispose()
        engine.dispose()


def test_an_in_memory_database_reads_through_its_own_engine() -> None:

    engine = create_engine("sqlite://")
    assert read_only_engine(engine) is engine

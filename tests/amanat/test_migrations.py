"""Alembic migrations produce exactly the schema the models describe, on both databases."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

import audit.models  # noqa: F401
import identity.models  # noqa: F401
import signing.models  # noqa: F401
import vault.models  # noqa: F401
from amanat import migrate
from amanat.db import Base, create_engine


def test_upgrade_head_matches_the_models(db_url: str) -> None:
    engine = create_engine(db_url)
    migrate.upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    assert diff == [], diff
    assert migrate.current_revision(engine) is not None
    engine.dispose()


def test_upgrade_is_idempotent(db_url: str) -> None:
    engine = create_engine(db_url)
    migrate.upgrade(engine)
    migrate.upgrade(engine)
    tables = set(inspect(engine).get_table_names())
    assert {
        "audit_events",
        "identity_accounts",
        "vault_documents",
        "vault_document_versions",
    } <= tables
    engine.dispose()


def test_every_table_carries_its_package_prefix() -> None:
    prefixes = ("amanat_", "keys_", "audit_", "identity_", "verification_", "vault_", "signing_")
    assert all(name.startswith(prefixes) for name in Base.metadata.tables)


_AT_0015 = [
    "INSERT INTO identity_accounts (id, role, display_name, login, user_handle, created_at)"
    " VALUES (1, 'citizen', 'Ayesha', '35202-1234567-1', X'01', '2026-01-01 00:00:00')",
    "INSERT INTO signing_departments (code, name, created_at) VALUES ('UNI', 'U', '2026-01-01')",
    "INSERT INTO signing_pki_keys (id, label, kind, storage, created_at)"
    " VALUES (1, 'k', 'ec-p256', 'sealed', '2026-01-01')",
    "INSERT INTO signing_department_certs (id, department_code, cert_der, serial_hex, kid, key_id,"
    " status, created_at) VALUES (1, 'UNI', X'00', '01', X'01', 1, 'valid', '2026-01-01')",
    "INSERT INTO signing_certificates (serial, department_code, type_code, holder_id, holder_name,"
    " fields, level, pdf_sha256, department_cert_id, issued_at, status) VALUES"
    " ('AAAA-BBBB-CCCC', 'UNI', 'degree', 1, 'Ayesha', '{}', 'B-LTA', '00', 1, '2026-01-01',"
    " 'valid')",
    "INSERT INTO signing_certificate_copies (sha256, serial, version, created_at)"
    " VALUES ('11', 'AAAA-BBBB-CCCC', 2, '2026-01-01')",
]


def test_a_table_other_rows_point_at_changes_on_sqlite(tmp_path) -> None:
    """0016 copies the register's table to let holder_id be NULL, while renewed copies point at
    it: with SQLite's foreign keys on, dropping the old table failed (found on a real instance)."""
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate.upgrade(engine, "0015")
    with engine.begin() as conn:
        for statement in _AT_0015:
            conn.exec_driver_sql(statement)
    migrate.upgrade(engine)
    with engine.connect() as conn:
        kept = conn.exec_driver_sql("SELECT serial FROM signing_certificate_copies").all()
        checks = conn.exec_driver_sql("PRAGMA foreign_keys").scalar()
    assert (kept, checks) == ([("AAAA-BBBB-CCCC",)], 1)
    engine.dispose()


def test_a_migration_that_breaks_a_reference_is_rolled_back(tmp_path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate.upgrade(engine, "0015")
    with engine.begin() as conn:
        for statement in _AT_0015:
            conn.exec_driver_sql(statement)
    raw = engine.raw_connection()
    raw.execute("PRAGMA foreign_keys=OFF")
    raw.execute("DELETE FROM signing_certificates")  # the copy now points at nothing
    raw.commit()
    raw.close()
    with pytest.raises(migrate.ForeignKeysBroken):
        migrate.upgrade(engine)
    assert migrate.current_revision(engine) == "0015"
    engine.dispose()

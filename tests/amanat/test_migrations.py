"""Alembic migrations produce exactly the schema the models describe, on both databases."""

from __future__ import annotations

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

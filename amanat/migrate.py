"""Run the Alembic history programmatically (``amanat init`` / ``amanat db upgrade``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData
from sqlalchemy.engine import Engine

from amanat.errors import AmanatError

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: object, metadata: MetaData | None = None) -> Config:
    """An Alembic config bound to an open connection."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    cfg.attributes["target_metadata"] = metadata
    return cfg


class ForeignKeysBroken(AmanatError):
    """A migration left a row pointing at nothing (SQLite's foreign_key_check found it); the
    upgrade was rolled back."""


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (default: the newest)."""
    if engine.dialect.name != "sqlite":
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), revision)
        return
    # SQLite changes a column by copying its table and dropping the old one; with foreign keys
    # on, dropping a table that other rows point at fails. SQLite's own recipe: foreign keys off
    # (outside any transaction), the change, foreign_key_check inside it, foreign keys on again.
    with engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        assert raw is not None
        raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                command.upgrade(alembic_config(connection), revision)
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").first()
                if broken is not None:
                    raise ForeignKeysBroken("Broken reference.", code="migration_reference_broken",
                                            table=str(broken[0]))  # fmt: skip
        finally:
            raw.execute("PRAGMA foreign_keys=ON")


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None when it has never been migrated."""
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415 - Alembic only when the schema is migrated

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()

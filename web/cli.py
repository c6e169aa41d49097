"""The ``amanat`` command line (DESIGN 5.1)."""

from __future__ import annotations

import os
from typing import Any

import click

from amanat import migrate
from amanat.db import create_engine, session_factory, transaction
from amanat.settings import Settings, SettingsError, load_settings
from audit import EventTag, record_event
from identity import passwords, recovery
from identity.accounts import create_account, find_by_login
from identity.models import Role
from keys import KeysError
from keys.stores import open_keystore
from vault.blobs import FileBlobStore
from vault.service import rewrap_owner_keys, sweep_orphan_blobs
from web.runtime import utcnow

DEMO_CITIZEN = "35202-1234567-1"
DEMO_OFFICER = "demo-officer"


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def main() -> None:
    """Amanat: citizen e-file vault."""


@main.command()
@click.option("--demo", is_flag=True, help="Also create a demo citizen and officer.")
def init(demo: bool) -> None:
    """Create or upgrade the database, the master key and the secret key."""
    settings = _settings()
    settings.instance.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        open_keystore(settings, create=True)
    except KeysError as exc:
        raise click.ClickException(str(exc)) from None
    from web.app import _secret_key

    _secret_key(settings.secret_key_file)
    FileBlobStore(settings.blob_dir)
    engine = create_engine(settings.database_url)
    migrate.upgrade(engine)
    click.echo(f"Database ready at revision {migrate.current_revision(engine)}.")
    if demo:
        _demo(settings, engine)


def _demo(settings: Settings, engine: Any) -> None:
    sessions = session_factory(engine)
    now = utcnow()
    with transaction(sessions) as s:
        citizen = find_by_login(s, login=DEMO_CITIZEN) or create_account(
            s, role=Role.CITIZEN, display_name="Demo Citizen", login=DEMO_CITIZEN, now=now
        )
        officer = find_by_login(s, login=DEMO_OFFICER) or create_account(
            s,
            role=Role.OFFICER,
            display_name="Demo Officer",
            login=DEMO_OFFICER,
            affiliation="DEMO",
            now=now,
        )
        # Demo accounts get a fresh password each time, so `make run` can always print it.
        citizen_pw = _demo_password()
        officer_pw = _demo_password()
        passwords.set_password(s, account=citizen, password=citizen_pw, now=now)
        passwords.set_password(s, account=officer, password=officer_pw, now=now)
        codes = recovery.generate_codes(s, account=citizen, now=now)
    click.echo("")
    click.echo("Demo accounts (for trying Amanat out; never use --demo in production):")
    click.echo(f"  citizen  CNIC {DEMO_CITIZEN}  password {citizen_pw}")
    click.echo(f"           or a recovery code, e.g. {codes[0]}")
    click.echo(f"  officer  login {DEMO_OFFICER}  password {officer_pw}  (department DEMO)")
    click.echo(
        "  Sign in at /login ('Sign in with a password'), then add a passkey under Security."
    )


def _demo_password() -> str:
    import secrets

    return "-".join(secrets.token_hex(3) for _ in range(3))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=0, type=int, help="Worker processes (default: one per core).")
def run(host: str, port: int, workers: int) -> None:
    """Serve the web app with gunicorn."""
    from gunicorn.app.base import BaseApplication

    from web.app import create_app

    settings = _settings()
    app = create_app(settings)

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers or (os.cpu_count() or 1))
            self.cfg.set("timeout", 120)
            self.cfg.set("accesslog", None)
            # Connections must not be shared across fork: each worker opens its own.
            self.cfg.set(
                "post_fork",
                lambda _server, _worker: app.extensions["amanat"].engine.dispose(close=False),
            )

        def load(self) -> Any:
            return app

    click.echo(f"Amanat is running at {settings.public_base_url}  (Ctrl+C stops it)")
    _Server().run()


@main.group()
def db() -> None:
    """Database commands."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations."""
    engine = create_engine(_settings().database_url)
    migrate.upgrade(engine)
    click.echo(f"Database at revision {migrate.current_revision(engine)}.")


@main.group()
def keys() -> None:
    """Master-key commands."""


@keys.command("rotate")
def keys_rotate() -> None:
    """Add a master-key version and rewrap every owner key under it (blobs are untouched)."""
    settings = _settings()
    try:
        store = open_keystore(settings)
        engine = create_engine(settings.database_url)
        version = store.rotate()
        now = utcnow()
        with transaction(session_factory(engine)) as s:
            count = rewrap_owner_keys(s, keystore=store, now=now)
            record_event(
                s,
                tag=EventTag.KEYS_MASTER_KEY_ROTATED,
                actor="operator",
                subject_id=None,
                now=now,
                details={"version": version, "rewrapped": count},
            )
    except KeysError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Master key version {version} is now current; {count} owner keys rewrapped.")


@main.group("vault")
def vault_group() -> None:
    """Vault maintenance."""


@vault_group.command("sweep")
@click.option("--min-age", default=3600, show_default=True, help="Seconds a blob must be old.")
def vault_sweep(min_age: int) -> None:
    """Remove blobs no document references (left by a crash mid-upload)."""
    settings = _settings()
    engine = create_engine(settings.database_url)
    with transaction(session_factory(engine)) as s:
        removed = sweep_orphan_blobs(
            s, blobs=FileBlobStore(settings.blob_dir), min_age_seconds=min_age
        )
    click.echo(f"{removed} orphan blobs removed.")


if __name__ == "__main__":  # pragma: no cover
    main()

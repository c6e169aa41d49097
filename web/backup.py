"""``amanat backup`` and ``amanat restore``: the database, the encrypted blobs and the key material
in one folder, checked file by file before anything is restored.

The database is copied consistently while the service runs: SQLite through its online backup API,
PostgreSQL with ``pg_dump`` (custom format, restored with ``pg_restore``). Blobs are encrypted
already; the key material (``master.keys``, ``secret.key``) is what opens them, so ``--no-keys``
leaves it out for operators who keep it elsewhere (an HSM's keys are never copied: the token has
its own backup). The task engine's queue is not copied: every job is rebuilt from the database
(a batch's rows are in it; periodic jobs come back on their own).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from amanat.errors import AmanatError
from amanat.settings import Settings
from vault.blobs import BlobStore, open_blobstore

MANIFEST = "manifest.json"
FORMAT = 1


class BackupError(AmanatError):
    """A backup could not be made or restored; nothing was changed."""


@dataclass(frozen=True)
class Backup:
    """What a backup folder holds."""

    folder: Path
    database: str  # "sqlite" | "postgresql"
    files: int
    with_keys: bool


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _sqlite_path(settings: Settings) -> Path:
    return Path(settings.database_url.removeprefix("sqlite:///"))


def _libpq(settings: Settings) -> tuple[str, list[str]]:
    """The libpq URI of the database, and the pg_dump options naming its schema (when the URL
    pins one with ``options=-csearch_path=...``)."""
    parts = urlsplit(settings.database_url)
    query = parse_qs(parts.query)
    schema = []
    for option in query.get("options", []):
        option = unquote(option)
        if option.startswith("-csearch_path="):
            schema = [f"--schema={option.removeprefix('-csearch_path=')}"]
    uri = "postgresql://" + settings.database_url.split("://", 1)[1]
    if parts.password:  # to pg_dump through PGPASSWORD, never on a command line others can read
        uri = uri.replace(f":{parts.password}@", "@", 1)
    return uri, schema


def _run(command: list[str], *, password: str | None = None) -> None:
    env = {**os.environ, "PGPASSWORD": unquote(password)} if password else None
    try:
        done = subprocess.run(  # noqa: S603 (our own tools, no shell)
            command, capture_output=True, text=True, timeout=3600, env=env
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BackupError(
            f"{command[0]}: {exc}", code="backup_tool_failed", tool=command[0]
        ) from None
    if done.returncode != 0:
        raise BackupError(
            f"{command[0]} failed: {done.stderr.strip()[-300:]}",
            code="backup_tool_failed", tool=command[0],
        )  # fmt: skip


def _dump_database(settings: Settings, folder: Path) -> str:
    if settings.database_url.startswith("sqlite"):
        try:
            # Read-only: a missing database is an error, not a new empty one quietly backed up.
            source = sqlite3.connect(f"file:{_sqlite_path(settings)}?mode=ro", uri=True)
        except sqlite3.Error:
            raise BackupError("No database.", code="backup_tool_failed", tool="sqlite3") from None
        target = sqlite3.connect(folder / "database.sqlite")
        try:
            source.backup(target)  # a consistent copy while writers go on
        except sqlite3.Error:
            raise BackupError("Copy failed.", code="backup_tool_failed", tool="sqlite3") from None
        finally:
            target.close()
            source.close()
        return "sqlite"
    uri, schema = _libpq(settings)
    _run(["pg_dump", "--format=custom", "--no-owner", *schema,
          f"--file={folder / 'database.pgdump'}", uri],
         password=urlsplit(settings.database_url).password)  # fmt: skip
    return "postgresql"


def _store(settings: Settings) -> BlobStore:
    return open_blobstore(settings.blobstore, default_dir=settings.blob_dir)


def _copy_blobs_out(store: BlobStore, folder: Path) -> None:
    """Every blob of the store (a folder or a bucket) as a file ``ab/cd/<id>``."""
    for blob_id in store.ids():
        target = folder / blob_id[:2] / blob_id[2:4] / blob_id
        target.parent.mkdir(parents=True, exist_ok=True)
        with store.open(blob_id) as src, target.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1024 * 1024)


def _copy_blobs_in(folder: Path, store: BlobStore) -> None:
    """Every backed-up blob into the store; each must come back under its own id."""
    for path in sorted(folder.glob("??/??/*")):
        writer = store.writer()
        with path.open("rb") as src:
            for block in iter(lambda: src.read(1024 * 1024), b""):
                writer.write(block)
        if writer.publish() != path.name:
            raise BackupError(f"{path.name} is damaged.", code="backup_damaged", file=path.name)


def make_backup(settings: Settings, *, into: Path, keys: bool, now: dt.datetime) -> Backup:
    """Write a backup folder under ``into`` (created); its files' SHA-256 in its manifest."""
    folder = into / f"amanat-backup-{now:%Y%m%dT%H%M%SZ}"
    try:
        folder.mkdir(parents=True, mode=0o700)
    except OSError as exc:
        raise BackupError(f"{folder}: {exc}", code="backup_folder", path=str(folder)) from None
    database = _dump_database(settings, folder)
    _copy_blobs_out(_store(settings), folder / "blobs")
    with_keys = keys and settings.keystore == "file"
    if with_keys:
        (folder / "keys").mkdir(mode=0o700)
        for source in (settings.key_file, settings.secret_key_file):
            if source.exists():
                shutil.copy2(source, folder / "keys" / source.name)
    files = {
        str(p.relative_to(folder)): _sha256(p) for p in sorted(folder.rglob("*")) if p.is_file()
    }
    manifest = {"format": FORMAT, "created_at": now.isoformat(), "database": database,
                "keys": with_keys, "files": files}  # fmt: skip
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return Backup(folder, database, len(files), with_keys)


def _checked(folder: Path) -> dict[str, Any]:
    """The manifest, once every file it names is there with its SHA-256 (else BackupError)."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        raise BackupError("No readable manifest.", code="backup_no_manifest") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError("Unknown backup format.", code="backup_no_manifest")
    for name, digest in dict(manifest.get("files") or {}).items():
        path = folder / name
        if ".." in Path(name).parts or not path.is_file() or _sha256(path) != digest:
            raise BackupError(f"{name} is damaged.", code="backup_damaged", file=name)
    return manifest


def restore_backup(settings: Settings, *, source: Path) -> Backup:
    """Put a checked backup back into this instance: database, blobs, key material."""
    manifest = _checked(source)
    database = str(manifest["database"])
    if database != ("sqlite" if settings.database_url.startswith("sqlite") else "postgresql"):
        raise BackupError("Another kind of database.", code="backup_other_database", kind=database)
    settings.instance.mkdir(parents=True, exist_ok=True, mode=0o700)
    if database == "sqlite":
        target = _sqlite_path(settings)
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = target.with_suffix(".restoring")
        shutil.copyfile(source / "database.sqlite", staged)
        staged.replace(target)  # whole or not at all
    else:
        uri, _schema = _libpq(settings)
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", f"--dbname={uri}",
              str(source / "database.pgdump")],
             password=urlsplit(settings.database_url).password)  # fmt: skip
    if (source / "blobs").is_dir():
        _copy_blobs_in(source / "blobs", _store(settings))
    if manifest.get("keys"):
        for name in ("master.keys", "secret.key"):
            if (source / "keys" / name).exists():
                shutil.copy2(source / "keys" / name, settings.instance / name)
    return Backup(source, database, len(dict(manifest.get("files") or {})), bool(manifest["keys"]))

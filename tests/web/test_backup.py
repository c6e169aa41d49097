"""The backup and restore drill: back up, destroy the instance, restore; every document opens,
every certificate verifies, the ledger is intact. A damaged backup restores nothing."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from amanat.db import create_engine
from amanat.settings import Settings, load_settings
from vault.models import Document
from vault.service import open_document
from web.backup import _libpq
from web.cli import main
from web.runtime import build_runtime, utcnow

ISSUE = ["issue", "--department", "DEMO", "--citizen", "35202-1234567-1", "--type", "degree",
         "--field", "name=Ayesha Khan", "--field", "year=2024"]  # fmt: skip


def _env(tmp_path: Path, db_url: str) -> dict[str, str]:
    return {"AMANAT_INSTANCE": str(tmp_path / "inst"), "AMANAT_DATABASE_URL": db_url}


def _ok(env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(main, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.output


def _destroy(tmp_path: Path, db_url: str) -> None:
    """The machine is gone: instance folder, database and all."""
    shutil.rmtree(tmp_path / "inst")
    if db_url.startswith("sqlite"):
        Path(db_url.removeprefix("sqlite:///")).unlink()
        return
    schema = re.search(r"search_path%3D(\w+)", db_url).group(1)
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def _documents(env: dict[str, str]) -> dict[str, bytes]:
    """Every document of the instance, opened (decrypted and checked) by the vault."""
    rt = build_runtime(load_settings(env))
    opened = {}
    try:
        with rt.sessions() as s:
            for doc in s.scalars(select(Document)):
                got = open_document(s, ctx=rt.vault, owner_id=doc.owner_id, document_id=doc.id,
                                    purpose="download", now=utcnow())  # fmt: skip
                with got.file:
                    opened[str(doc.id)] = got.file.read()
            s.commit()
    finally:
        rt.close()
        rt.engine.dispose()
    return opened


@pytest.fixture
def backed_up(tmp_path: Path, db_url: str) -> tuple[dict[str, str], Path, dict[str, bytes]]:
    env = _env(tmp_path, db_url)
    _ok(env, "init", "--demo")
    for degree in ("BSc Physics", "MSc Physics"):
        _ok(env, *ISSUE, "--field", f"degree={degree}")
    before = _documents(env)
    out = _ok(env, "backup", str(tmp_path / "backups"))
    folder = Path(re.search(r"Backup written to (\S+) ", out).group(1))
    return env, folder, before


def test_a_destroyed_instance_comes_back_whole(
    tmp_path: Path, db_url: str, backed_up: tuple[dict[str, str], Path, dict[str, bytes]]
) -> None:
    env, folder, before = backed_up
    _destroy(tmp_path, db_url)
    restored = _ok(env, "restore", str(folder))
    assert "Ledger intact:" in restored
    after = _documents(env)
    assert after == before
    assert len(after) == 2
    for title, pdf in after.items():
        path = tmp_path / f"{title}.pdf"
        path.write_bytes(pdf)
        verdict = CliRunner().invoke(main, ["verify", str(path)], env=env)
        assert verdict.exit_code == 0, verdict.output  # TOTAL_PASSED, and in the register
    assert "Ledger intact" in _ok(env, "audit", "verify")


def test_a_damaged_backup_restores_nothing(
    tmp_path: Path, backed_up: tuple[dict[str, str], Path, dict[str, bytes]]
) -> None:
    env, folder, before = backed_up
    blob = next(p for p in (folder / "blobs").rglob("*") if p.is_file())
    data = bytearray(blob.read_bytes())
    data[-1] ^= 1
    blob.write_bytes(bytes(data))
    result = CliRunner().invoke(main, ["restore", "--replace", str(folder)], env=env)
    assert result.exit_code != 0
    assert "damaged" in result.output
    assert _documents(env) == before  # the instance is as it was


def test_a_restore_over_an_instance_with_data_needs_replace(
    backed_up: tuple[dict[str, str], Path, dict[str, bytes]],
) -> None:
    env, folder, _before = backed_up
    result = CliRunner().invoke(main, ["restore", str(folder)], env=env)
    assert result.exit_code != 0
    assert "--replace" in result.output


def test_the_database_password_never_goes_on_a_command_line() -> None:

    url = "postgresql+psycopg://amanat:s3cr%40t@db:5432/amanat?options=-csearch_path%3Dfoo"
    uri, schema = _libpq(Settings(instance=Path("/x"), database_url=url))
    assert "s3cr" not in uri
    assert uri.startswith("postgresql://amanat@db:5432/amanat")
    assert schema == ["--schema=foo"]


def test_a_backup_without_a_database_is_refused_and_makes_none(tmp_path: Path) -> None:
    env = _env(tmp_path, f"sqlite:///{tmp_path / 'missing.db'}")
    result = CliRunner().invoke(main, ["backup", str(tmp_path / "backups")], env=env)
    assert result.exit_code != 0
    assert "could not copy the database" in result.output
    assert not (tmp_path / "missing.db").exists()

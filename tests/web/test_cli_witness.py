"""`amanat witness` as a real HTTP server on this machine, and the ledger talking to it:
heads cosigned, then a truncated ledger (newest events and their heads deleted) caught."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete

from amanat.db import create_engine, session_factory, transaction
from audit.ledger import rebuild_tree_nodes
from audit.models import AuditEvent, AuditTreeHead, AuditTreeNode
from tests.web.test_cli_ledger import cli  # noqa: F401 - the fixture


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def ledger(cli):  # noqa: F811 - the imported fixture
    """The command line on an initialised instance (tests.web.test_cli_ledger's fixture)."""
    return cli


@pytest.fixture
def witness_url(ledger, tmp_path: Path) -> Iterator[str]:
    """A witness process configured with this ledger's origin and public key."""
    shown = ledger("audit", "checkpoint", "--key-out", str(tmp_path / "ledger.pem"))
    assert shown.exit_code == 0, shown.output
    origin = shown.output.splitlines()[0]
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from web.cli import main; main()",
            "witness",
            "--name",
            "auditor.example/w1",
            "--log",
            f"{origin}={tmp_path / 'ledger.pem'}",
            "--state-dir",
            str(tmp_path / "witness"),
            "--port",
            str(port),
        ],
        env={**os.environ, "HOME": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(url + "/", timeout=2) as res:
                    assert res.read().startswith(b"auditor.example/w1 ed25519 ")
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the witness did not start: " + server.stdout.read1().decode())
        yield url
    finally:
        server.terminate()
        server.communicate(timeout=30)


def test_heads_are_cosigned_as_the_ledger_grows(ledger, witness_url) -> None:
    ledger("org", "create", "BANK", "--name", "Example Bank")
    first = ledger("audit", "publish", "--witness", witness_url)
    assert first.exit_code == 0
    assert "Cosigned: \u2014 auditor.example/w1 " in first.output
    ledger("org", "create", "JOBS", "--name", "Example Employer")
    grown = ledger("audit", "publish", "--witness", witness_url)  # a consistency proof this time
    assert grown.exit_code == 0
    assert "Cosigned:" in grown.output
    checked = ledger("audit", "verify", "--witness", witness_url)
    assert checked.exit_code == 0
    assert "consistent with 1 witness" in checked.output


def test_a_truncated_ledger_with_its_heads_deleted_is_caught_by_the_witness(
    ledger, witness_url, db_url
) -> None:
    ledger("org", "create", "BANK", "--name", "Example Bank")
    assert ledger("audit", "publish", "--witness", witness_url).exit_code == 0
    with session_factory(create_engine(db_url))() as s:
        kept = max(
            s.scalars(AuditTreeHead.__table__.select().with_only_columns(AuditTreeHead.tree_size))
        )
    ledger("org", "create", "JOBS", "--name", "Example Employer")
    assert ledger("audit", "publish", "--witness", witness_url).exit_code == 0
    with transaction(session_factory(create_engine(db_url))) as s:  # the administrator's edit
        s.execute(delete(AuditEvent).where(AuditEvent.seq > kept))
        s.execute(delete(AuditTreeHead).where(AuditTreeHead.tree_size > kept))
        s.execute(delete(AuditTreeNode))
        rebuild_tree_nodes(s)
    alone = ledger("audit", "verify")
    assert alone.exit_code == 0  # nothing in the database shows it any more
    caught = ledger("audit", "verify", "--witness", witness_url)
    assert caught.exit_code == 1
    assert "events were removed" in caught.output


def test_an_unreachable_witness_could_not_be_checked(ledger) -> None:
    result = ledger("audit", "verify", "--witness", f"http://127.0.0.1:{_free_port()}")
    assert result.exit_code == 3
    assert "cannot be reached" in result.output

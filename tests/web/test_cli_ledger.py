"""The command line for organisations and the ledger: org create/keys/members, audit verify,
proof and publish — and `amanat audit verify` catching a tampered row."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, update

from amanat.db import create_engine, session_factory, transaction
from audit.models import AuditEvent
from tests.web.test_cli import _env
from web.cli import main


@pytest.fixture
def cli(tmp_path: Path, db_url: str):
    env = _env(tmp_path, db_url)
    runner = CliRunner()
    assert runner.invoke(main, ["init"], env=env).exit_code == 0

    def run(*args: str):
        return runner.invoke(main, list(args), env=env)

    return run


def _sessions(db_url: str):
    return session_factory(create_engine(db_url))


def test_organisation_commands(cli) -> None:
    assert "BANK registered" in cli("org", "create", "bank", "--name", "Example Bank").output
    again = cli("org", "create", "BANK", "--name", "Example Bank")
    assert again.exit_code == 1
    assert "already exists" in again.output
    member = cli("org", "add-member", "BANK", "--login", "ali.teller", "--name", "Ali")
    assert member.exit_code == 0
    assert "First password" in member.output
    key = cli("org", "create-key", "BANK", "--label", "loans", "--scope", "shares:read")
    token = key.output.strip().splitlines()[-1]
    assert key.exit_code == 0
    assert token.startswith("amanat_")
    assert "1 live API keys" in cli("org", "list").output
    revoked = cli("org", "revoke-key", token.split("_")[1])
    assert revoked.exit_code == 0
    assert "revoked" in revoked.output
    assert "0 live API keys" in cli("org", "list").output
    bad = cli("org", "create-key", "BANK", "--label", "x", "--scope", "everything")
    assert bad.exit_code == 1
    assert "Scopes are" in bad.output


def test_audit_verify_passes_then_names_an_edited_row(cli, db_url) -> None:
    cli("org", "create", "BANK", "--name", "Example Bank")
    cli("org", "create", "JOBS", "--name", "Example Employer")
    assert cli("audit", "publish").exit_code == 0
    ok = cli("audit", "verify")
    assert ok.exit_code == 0
    assert "Ledger intact" in ok.output
    with transaction(_sessions(db_url)) as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(actor="nobody"))
    bad = cli("audit", "verify")
    assert bad.exit_code == 1
    assert "at event 2" in bad.output


def test_audit_verify_names_a_deleted_row(cli, db_url) -> None:
    for code in ("AAA", "BBB", "CCC"):
        cli("org", "create", code, "--name", code)
    with transaction(_sessions(db_url)) as s:
        s.execute(delete(AuditEvent).where(AuditEvent.seq == 2))
    bad = cli("audit", "verify")
    assert bad.exit_code == 1
    assert "at event 2" in bad.output
    assert "missing" in bad.output


def test_audit_verify_names_reordered_rows(cli, db_url) -> None:
    for code in ("AAA", "BBB", "CCC"):
        cli("org", "create", code, "--name", code)
    with transaction(_sessions(db_url)) as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 1).values(seq=-1))
        s.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(seq=1))
        s.execute(update(AuditEvent).where(AuditEvent.seq == -1).values(seq=2))
    bad = cli("audit", "verify")
    assert bad.exit_code == 1
    assert "at event 1" in bad.output


def test_audit_proof_prints_checkable_json(cli) -> None:
    for code in ("AAA", "BBB", "CCC", "DDD", "EEE"):
        cli("org", "create", code, "--name", code)
    proof = json.loads(cli("audit", "proof", "--event", "3").output)
    head = proof["tree_head"]
    entry = base64.b64decode(proof["entry"])
    assert json.loads(entry[32:])["seq"] == 3
    # The check from docs/ledger.md, standard library only.
    fn, sn = proof["leaf_index"], head["tree_size"] - 1
    r = hashlib.sha256(b"\0" + entry).digest()
    for p in map(base64.b64decode, proof["path"]):
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\1" + p + r).digest()
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = hashlib.sha256(b"\1" + r + p).digest()
        fn, sn = fn >> 1, sn >> 1
    assert sn == 0
    assert r == base64.b64decode(head["root_hash"])
    cli("org", "create", "FFF", "--name", "FFF")
    cli("audit", "publish")
    size = json.loads(cli("audit", "proof", "--event", "6").output)["tree_head"]["tree_size"]
    consistency = cli("audit", "proof", "--from", str(head["tree_size"]), "--to", str(size))
    assert consistency.exit_code == 0
    assert "proof" in json.loads(consistency.output)


def test_audit_proof_bad_input_is_a_clear_error(cli) -> None:
    assert cli("audit", "proof").exit_code == 2
    missing = cli("audit", "proof", "--event", "999")
    assert missing.exit_code == 1
    assert "999" in missing.output
    assert cli("audit", "proof", "--from", "7", "--to", "3").exit_code == 1


@pytest.mark.parametrize(
    "commands",
    [
        [],
        [["init", "--demo"]],
        [["keys", "rotate"]],
        [["org", "create", "BANK", "--name", "Example Bank"]],
    ],
    ids=["init", "init-demo", "keys-rotate", "org-create"],
)
def test_every_command_leaves_its_events_under_a_signed_head(cli, commands) -> None:
    """Issue 11: no event written on the command line waits for a head (audit verify passes)."""
    for command in commands:
        assert cli(*command).exit_code == 0
    verified = cli("audit", "verify")
    assert verified.exit_code == 0
    assert "Ledger intact" in verified.output

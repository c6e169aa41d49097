"""Verification requests only read (issue 15): on SQLite they answer while a writer holds the
lock, their ledger lines are written off the request, and a clean stop of the server loses none."""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from tests.signing.test_issuance import _decode_qr
from tests.web.certificates import issue_degree
from tests.web.conftest import recorded
from web.cli import main


@pytest.fixture
def qr_link(app, client: FlaskClient, sessions, file_keystore, clock, tmp_path: Path) -> str:
    _row, pdf = issue_degree(app, client, sessions, file_keystore, clock)
    return _decode_qr(pdf, tmp_path)


# The writer lock is SQLite's; PostgreSQL readers never take one.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_qr_check_answers_while_a_writer_holds_the_lock(
    client: FlaskClient, qr_link: str, settings
) -> None:
    path = settings.database_url.removeprefix("sqlite:///")
    writer = sqlite3.connect(path, timeout=0.1, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # another process is in the middle of a write
        # A bank's scanner: no session cookie (a signed-in browser's session is touched).
        res = client.application.test_client().post("/api/v1/verify-qr", json={"payload": qr_link})
        assert res.status_code == 200
        assert res.get_json()["indication"] == "TOTAL_PASSED"
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    recorded(client)  # and its ledger line follows once the lock is free


def test_the_check_is_answered_before_it_is_recorded(client: FlaskClient, qr_link: str) -> None:
    recorder = client.application.extensions["amanat"].recorder
    res = client.post("/api/v1/verify-qr", json={"payload": qr_link})
    assert res.status_code == 200
    assert recorder.pending() == 1
    recorded(client)
    assert recorder.pending() == 0


def _free_port() -> int:

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_clean_stop_writes_every_buffered_check_and_signs_it(tmp_path: Path) -> None:
    """gunicorn stops (SIGTERM) long before the recorder's next flush: the worker writes the
    buffered checks on its way out and signs a head over them, so the ledger verifies."""
    env = {**os.environ, "AMANAT_INSTANCE": str(tmp_path / "inst"), "HOME": str(tmp_path)}
    env.pop("AMANAT_DATABASE_URL", None)
    runner = CliRunner()
    assert runner.invoke(main, ["init", "--demo"], env=env).exit_code == 0
    pdf = tmp_path / "c.pdf"
    issued = runner.invoke(
        main,
        ["issue", "--department", "DEMO", "--citizen", "35202-1234567-1", "--type", "degree",
         "--field", "name=Ayesha Khan", "--field", "degree=BSc", "--field", "year=2024",
         "-o", str(pdf)],
        env=env,
    )  # fmt: skip
    assert issued.exit_code == 0, issued.output
    link = _decode_qr(pdf.read_bytes(), tmp_path)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", "from web.cli import main; main()", "run", "--port", str(port),
         "--workers", "1"],
        env={**env, "AMANAT_PUBLIC_BASE_URL": f"http://localhost:{port}",
             "AMANAT_VERIFICATION_FLUSH_SECONDS": "3600", "AMANAT_TREE_HEAD_SECONDS": "3600"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        body = json.dumps({"payload": link}).encode()
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        for _ in range(3):
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/v1/verify-qr",
                data=body,
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(req, timeout=10) as res:
                assert json.loads(res.read())["indication"] == "TOTAL_PASSED"
    finally:
        server.terminate()
        assert server.wait(timeout=30) == 0
    db = sqlite3.connect(tmp_path / "inst" / "amanat.db")
    try:
        (events,) = db.execute(
            "SELECT count(*) FROM audit_events WHERE tag = 'certificate:verified'"
        ).fetchone()
        (count,) = db.execute(
            "SELECT sum(count) FROM audit_tallies WHERE key LIKE 'verified:%'"
        ).fetchone()
    finally:
        db.close()
    assert (events, count) == (1, 3)
    verified = runner.invoke(main, ["audit", "verify"], env=env)
    assert verified.exit_code == 0, verified.output
    assert re.search(r"Ledger intact", verified.output)

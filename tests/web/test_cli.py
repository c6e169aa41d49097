"""The amanat command line: init, demo, db upgrade, keys rotate, vault sweep."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import cbor2
import pytest
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from sqlalchemy import MetaData, Table, insert, select

from amanat import migrate
from amanat.db import create_engine, session_factory
from amanat.migrate import alembic_config
from audit import EventTag, record_event
from audit.keyring import bind_keystore
from identity import passwords
from identity.models import Account
from keys.stores import FileKeyStore
from signing.models import DepartmentCert, IssuedCertificate
from vault.blobs import FileBlobStore
from vault.models import OwnerKey
from vault.service import VaultContext, open_document, store_document
from vault.uploads import DocumentKind, Upload
from web.cli import main


def _head() -> str:
    """The newest migration's revision."""


    head = ScriptDirectory.from_config(alembic_config(None)).get_current_head()
    assert head is not None
    return head


_HEAD = _head()


def _env(tmp_path: Path, db_url: str) -> dict[str, str]:
    return {"AMANAT_INSTANCE": str(tmp_path / "inst"), "AMANAT_DATABASE_URL": db_url}


def test_init_creates_key_secret_and_schema(tmp_path: Path, db_url: str) -> None:
    result = CliRunner().invoke(main, ["init"], env=_env(tmp_path, db_url))
    assert result.exit_code == 0, result.output
    inst = tmp_path / "inst"
    assert (inst / "master.keys").stat().st_mode & 0o777 == 0o600
    assert (inst / "secret.key").stat().st_mode & 0o777 == 0o600
    assert inst.stat().st_mode & 0o777 == 0o700
    assert f"revision {_HEAD}" in result.output
    assert "Deployment PKI created" in result.output


def test_init_demo_prints_working_credentials_and_can_run_twice(
    tmp_path: Path, db_url: str
) -> None:
    runner = CliRunner()
    for _ in range(2):
        result = runner.invoke(main, ["init", "--demo"], env=_env(tmp_path, db_url))
        assert result.exit_code == 0, result.output
    password = re.search(r"CNIC 35202-1234567-1\s+password (\S+)", result.output).group(1)
    engine = create_engine(db_url)
    with session_factory(engine)() as s:
        account = passwords.authenticate_password(s, login="35202-1234567-1", password=password)
        assert account.role == "citizen"
        assert (
            s.scalar(select(Account).where(Account.login == "demo-officer")).affiliation == "DEMO"
        )
    engine.dispose()


def test_running_the_demo_again_prints_the_same_sign_ins(tmp_path: Path, db_url: str) -> None:
    """Issue 10: a newcomer running `make run` twice sees the same passwords and API key."""
    runner = CliRunner()
    first = runner.invoke(main, ["init", "--demo"], env=_env(tmp_path, db_url))
    again = runner.invoke(main, ["init", "--demo"], env=_env(tmp_path, db_url))
    assert first.exit_code == again.exit_code == 0
    shown = first.output[first.output.index("Demo accounts") :]
    assert shown == again.output[again.output.index("Demo accounts") :]
    kept = tmp_path / "inst" / "demo-sign-ins.json"
    assert kept.stat().st_mode & 0o077 == 0


def test_keys_rotate_keeps_documents_readable(tmp_path: Path, db_url: str, now) -> None:
    runner = CliRunner()
    env = _env(tmp_path, db_url)
    assert runner.invoke(main, ["init", "--demo"], env=env).exit_code == 0
    inst = tmp_path / "inst"
    engine = create_engine(db_url)
    keystore = FileKeyStore(inst / "master.keys")
    sessions = bind_keystore(session_factory(engine), keystore)
    ctx = VaultContext(keystore=keystore, blobs=FileBlobStore(inst / "blobs"))
    with sessions() as s:
        owner = s.scalar(select(Account.id).where(Account.login == "35202-1234567-1"))
        doc = store_document(
            s,
            ctx=ctx,
            owner_id=owner,
            max_bytes=10**6,
            now=now,
            src=io.BytesIO(b"%PDF-old"),
            upload=Upload(
                filename="a.pdf", media_type="application/pdf", title="a", kind=DocumentKind.OTHER
            ),
        )
        s.commit()
        doc_id = doc.id
    result = runner.invoke(main, ["keys", "rotate"], env=env)
    assert result.exit_code == 0, result.output
    assert (
        "version 2" in result.output
    )
    assert (
        "1 owner keys and 5 PKI keys rewrapped" in result.output
    )
    rotated = FileKeyStore(inst / "master.keys")  # a process started after the rotation
    ctx2 = VaultContext(keystore=rotated, blobs=FileBlobStore(inst / "blobs"))
    with bind_keystore(session_factory(engine), rotated)() as s:
        assert s.scalar(select(OwnerKey.master_version)) == 2
        opened = open_document(
            s, ctx=ctx2, owner_id=owner, document_id=doc_id, purpose="view", now=now
        )
        assert opened.file.read() == b"%PDF-old"
    engine.dispose()


def test_db_upgrade(tmp_path: Path, db_url: str) -> None:
    result = CliRunner().invoke(main, ["db", "upgrade"], env=_env(tmp_path, db_url))
    assert result.exit_code == 0
    assert f"revision {_HEAD}" in result.output


def test_keys_rotate_without_init_is_a_clear_error(tmp_path: Path, db_url: str) -> None:
    result = CliRunner().invoke(main, ["keys", "rotate"], env=_env(tmp_path, db_url))
    assert result.exit_code != 0
    assert "amanat init" in result.output


def test_bad_setting_is_a_clear_error(tmp_path: Path, db_url: str) -> None:
    env = {**_env(tmp_path, db_url), "AMANAT_MAX_UPLOAD_BYTES": "many"}
    result = CliRunner().invoke(main, ["init"], env=env)
    assert result.exit_code != 0
    assert "must be an integer" in result.output


def test_vault_sweep(tmp_path: Path, db_url: str) -> None:
    env = _env(tmp_path, db_url)
    assert CliRunner().invoke(main, ["init"], env=env).exit_code == 0
    writer = FileBlobStore(tmp_path / "inst" / "blobs").writer()
    writer.write(b"orphan")
    writer.publish()
    result = CliRunner().invoke(main, ["vault", "sweep", "--min-age", "0"], env=env)
    assert result.exit_code == 0
    assert "1 orphan blobs removed" in result.output


def test_amanat_run_serves_with_gunicorn(tmp_path: Path) -> None:
    """`amanat run` starts a production server that answers the health check."""

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    home = tmp_path / "home"
    home.mkdir()
    env = {**__import__("os").environ, "AMANAT_INSTANCE": str(tmp_path / "inst"), "HOME": str(home)}
    env.pop("AMANAT_DATABASE_URL", None)
    amanat = [sys.executable, "-c", "from web.cli import main; main()"]
    subprocess.run([*amanat, "init"], env=env, check=True, capture_output=True)
    server = subprocess.Popen(
        [*amanat, "run", "--port", str(port), "--workers", "2", "--no-task-worker"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        body = None
        # Up to 30 s: gunicorn's workers import the app, which takes seconds on a loaded CI core.
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as res:
                    body = res.read()
                break
            except OSError:
                time.sleep(0.1)
        assert body == b'{"database":"ok","keystore":"ok"}\n'
    finally:
        server.terminate()
        # A worker still booting under load is waited for at most the 10 s graceful timeout.
        out = server.communicate(timeout=60)[0].decode()
    assert "Amanat is running at" in out
    # No control socket shared by every instance under the home folder.
    assert not (home / ".gunicorn").exists()
    # Instance files are the service account's only.
    for path in ("inst/amanat.db", "inst/blobs", "inst/blobs/tmp", "inst/secret.key"):
        assert (tmp_path / path).stat().st_mode & 0o077 == 0, path


def test_run_starts_a_task_worker_that_issues_a_batch_and_stops_with_it(tmp_path: Path) -> None:
    """The embedded default needs nothing else: `amanat run` has a worker beside it, which takes
    a batch sent with `amanat issue-batch`; stopping the server stops the worker too."""

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**__import__("os").environ, "AMANAT_INSTANCE": str(tmp_path / "inst"),
           "HOME": str(tmp_path)}  # fmt: skip
    env.pop("AMANAT_DATABASE_URL", None)
    amanat = [sys.executable, "-c", "from web.cli import main; main()"]
    subprocess.run([*amanat, "init", "--demo"], env=env, check=True, capture_output=True)
    server = subprocess.Popen(
        [*amanat, "run", "--port", str(port), "--workers", "1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).close()
                break
            except OSError:
                time.sleep(0.1)
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        csv_path = tmp_path / "batch.csv"
        csv_path.write_text(
            "citizen,type,name,degree,year\n"
            "35202-1234567-1,degree,Ayesha Khan,BSc,2024\n"
            "35202-1234567-1,degree,Ayesha Khan,MSc,2026\n",
            encoding="utf-8",
        )
        batch = subprocess.run(
            [*amanat, "issue-batch", "--department", "DEMO", str(csv_path)],
            env=env, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
    finally:
        server.terminate()
        server.wait(60)
    assert batch.returncode == 0, batch.stderr
    assert "2 issued, 0 failed." in batch.stdout
    time.sleep(0.5)
    alive = [pid for pid in children if Path(f"/proc/{pid}").exists()]
    assert alive == [], "a child of the server outlived it"


def test_issue_revoke_and_department_commands(tmp_path: Path, db_url: str) -> None:
    """department create, issue -o, revoke and revoke-key work, after a key rotation too."""
    runner = CliRunner()
    env = _env(tmp_path, db_url)
    assert runner.invoke(main, ["init", "--demo"], env=env).exit_code == 0
    assert runner.invoke(main, ["keys", "rotate"], env=env).exit_code == 0
    made = runner.invoke(
        main,
        ["department", "create", "CRD", "--name", "Civil Registry", "--name-ur", "سول رجسٹری"],
        env=env,
    )
    assert made.exit_code == 0, made.output
    out_pdf = tmp_path / "birth.pdf"
    issued = runner.invoke(
        main,
        [
            "issue",
            "--department",
            "CRD",
            "--citizen",
            "35202-1234567-1",
            "--type",
            "birth",
            "--field",
            "name=Ayesha Khan",
            "--field",
            "name:ur=عائشہ خان",
            "--field",
            "father_name=Imran Khan",
            "--field",
            "date_of_birth=2001-03-14",
            "--field",
            "place_of_birth=Lahore",
            "--field",
            "gender=female",
            "-o",
            str(out_pdf),
        ],
        env=env,
    )
    assert issued.exit_code == 0, issued.output
    serial = issued.output.strip().splitlines()[-1]
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", serial)
    assert out_pdf.read_bytes().startswith(b"%PDF")
    assert out_pdf.read_bytes().count(b"%%EOF") == 4
    revoked = runner.invoke(main, ["revoke", serial, "--reason", "Issued in error"], env=env)
    assert revoked.exit_code == 0
    assert f"Certificate {serial} revoked." in revoked.output
    again = runner.invoke(main, ["revoke", serial, "--reason", "x"], env=env)
    assert again.exit_code != 0
    assert "already revoked" in again.output
    rolled = runner.invoke(main, ["department", "revoke-key", "CRD"], env=env)
    assert rolled.exit_code == 0
    assert "new signing certificate" in rolled.output


_DEMO_ISSUE = [
    "issue", "--department", "DEMO", "--citizen", "35202-1234567-1", "--type", "birth",
    "--field", "name=Ayesha Khan", "--field", "father_name=Imran Khan",
    "--field", "date_of_birth=2001-03-14", "--field", "place_of_birth=Lahore",
    "--field", "gender=female",
]  # fmt: skip


@pytest.mark.parametrize(
    ("since", "exit_code", "words"),
    [
        ("yesterday", 2, "is not a date and time"),
        ("2999-01-01T00:00", 1, "cannot be in the future"),
    ],
)
def test_revoke_key_refuses_a_bad_invalidity_date_and_changes_nothing(
    tmp_path: Path, db_url: str, since: str, exit_code: int, words: str
) -> None:

    runner, env = CliRunner(), _env(tmp_path, db_url)
    assert runner.invoke(main, ["init", "--demo"], env=env).exit_code == 0
    refused = runner.invoke(
        main, ["department", "revoke-key", "DEMO", "--compromised-since", since], env=env
    )
    assert refused.exit_code == exit_code, refused.output
    assert words in refused.output, refused.output
    with session_factory(create_engine(db_url))() as s:
        assert s.scalars(select(DepartmentCert.status)).all() == ["active"]


def test_revoke_key_with_an_invalidity_date_fails_what_was_recorded_since(
    tmp_path: Path, db_url: str
) -> None:
    """A compromise found late, on the command line: the certificate recorded before the
    invalidity date still verifies (exit 0), the one recorded after it fails (exit 1)."""

    runner, env = CliRunner(), _env(tmp_path, db_url)
    assert runner.invoke(main, ["init", "--demo"], env=env).exit_code == 0
    files = []
    for name in ("before", "after"):
        out = tmp_path / f"{name}.pdf"
        made = runner.invoke(main, [*_DEMO_ISSUE, "-o", str(out)], env=env)
        assert made.exit_code == 0, made.output
        files.append(out)
        if name == "before":
            time.sleep(1.1)
            since = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            time.sleep(1.1)
    rolled = runner.invoke(
        main, ["department", "revoke-key", "DEMO", "--compromised-since", since], env=env
    )
    assert rolled.exit_code == 0, rolled.output
    verdicts = [runner.invoke(main, ["verify", str(f)], env=env) for f in files]
    assert [v.exit_code for v in verdicts] == [0, 1], [v.output for v in verdicts]
    assert "held compromised from" in verdicts[1].output


def test_department_api_key_commands(tmp_path: Path, db_url: str) -> None:
    """create-key prints the key once; list-keys shows it without its secret; revoke-api-key
    ends it; a scope that does not exist is a clear error."""
    runner = CliRunner()
    env = _env(tmp_path, db_url)
    assert runner.invoke(main, ["init", "--demo"], env=env).exit_code == 0
    made = runner.invoke(
        main,
        ["department", "create-key", "DEMO", "--label", "registrar", "--scope", "issue",
         "--scope", "revoke"],
        env=env,
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    token = made.output.strip().splitlines()[-1]
    key_id = re.fullmatch(r"amanat_([0-9a-f]{16})_[A-Za-z0-9_-]{43}", token)
    assert key_id, made.output
    listed = runner.invoke(main, ["department", "list-keys", "DEMO"], env=env).output
    assert key_id.group(1) in listed
    assert "issue,revoke" in listed
    assert token not in listed
    revoked = runner.invoke(main, ["department", "revoke-api-key", key_id.group(1)], env=env)
    assert revoked.exit_code == 0
    assert "revoked" in revoked.output
    listed = runner.invoke(main, ["department", "list-keys", "DEMO"], env=env).output
    assert "revoked -" not in listed
    bad = runner.invoke(
        main, ["department", "create-key", "DEMO", "--label", "x", "--scope", "fly"], env=env
    )
    assert bad.exit_code != 0
    assert "applications, issue, revoke" in bad.output
    assert "Traceback" not in bad.output


def test_department_offer_sets_what_citizens_may_apply_for(tmp_path: Path, db_url: str) -> None:
    runner = CliRunner()
    env = _env(tmp_path, db_url)
    assert runner.invoke(main, ["init", "--demo"], env=env).exit_code == 0
    set_ = runner.invoke(main, ["department", "offer", "DEMO", "--type", "birth"], env=env)
    assert set_.exit_code == 0
    assert "applications for: birth." in set_.output
    bad = runner.invoke(main, ["department", "offer", "DEMO", "--type", "spaceship"], env=env)
    assert bad.exit_code != 0
    assert "Unknown certificate type" in bad.output
    assert "Traceback" not in bad.output


@pytest.mark.parametrize(
    ("group", "said", "role"),
    [("dpo", "Data-protection officer", "dpo"), ("recovery-officer", "Recovery officer",
                                                  "recovery")],
)  # fmt: skip
def test_staff_add_prints_a_first_password(
    tmp_path: Path, db_url: str, group: str, said: str, role: str
) -> None:
    runner = CliRunner()
    env = _env(tmp_path, db_url)
    assert runner.invoke(main, ["init"], env=env).exit_code == 0
    made = runner.invoke(main, [group, "add", "--login", "staff.one", "--name", "Office"], env=env)
    assert made.exit_code == 0
    assert f"{said} staff.one added" in made.output
    password = made.output.rsplit(": ", 1)[1].strip()
    engine = create_engine(db_url)
    with session_factory(engine)() as s:
        account = passwords.authenticate_password(s, login="staff.one", password=password)
        assert account.role == role
    engine.dispose()
    again = runner.invoke(main, [group, "add", "--login", "staff.one", "--name", "Office"], env=env)
    assert again.exit_code != 0
    assert "Traceback" not in again.output


def test_org_webhook_secret_prints_a_new_secret_each_time(tmp_path: Path, db_url: str) -> None:
    runner = CliRunner()
    env = _env(tmp_path, db_url)
    assert runner.invoke(main, ["init", "--demo"], env=env).exit_code == 0
    first = runner.invoke(main, ["org", "webhook-secret", "DEMOBANK"], env=env)
    second = runner.invoke(main, ["org", "webhook-secret", "DEMOBANK"], env=env)
    secrets = [r.output.strip().splitlines()[-1] for r in (first, second)]
    assert all(s.startswith("whsec_") for s in secrets)
    assert secrets[0] != secrets[1]
    unknown = runner.invoke(main, ["org", "webhook-secret", "NOPE"], env=env)
    assert unknown.exit_code != 0
    assert "Traceback" not in unknown.output


def test_issue_bad_input_is_a_clear_error(tmp_path: Path, db_url: str) -> None:
    runner = CliRunner()
    env = _env(tmp_path, db_url)
    assert runner.invoke(main, ["init", "--demo"], env=env).exit_code == 0
    base = ["issue", "--department", "DEMO", "--citizen", "35202-1234567-1"]
    cases = [
        (["--type", "passport"], "Unknown certificate type"),
        (["--type", "degree", "--field", "name=A"], "Missing required field"),
        (["--type", "degree", "--field", "nonsense"], "key=value"),
        (
            [
                "--type",
                "degree",
                "--field",
                "name=A",
                "--field",
                "degree=B",
                "--field",
                "year=1800",
            ],
            "year like",
        ),
    ]
    for extra, message in cases:
        result = runner.invoke(main, [*base, *extra], env=env)
        assert result.exit_code != 0, (extra, result.output)
        assert message in result.output, (extra, result.output)
    unknown = runner.invoke(
        main,
        [
            "issue",
            "--department",
            "NOPE",
            "--citizen",
            "35202-1234567-1",
            "--type",
            "degree",
            "--field",
            "name=A",
            "--field",
            "degree=B",
            "--field",
            "year=2020",
        ],
        env=env,
    )
    assert unknown.exit_code != 0
    assert "no department" in unknown.output
    nobody = runner.invoke(
        main,
        [
            "issue",
            "--department",
            "DEMO",
            "--citizen",
            "35202-9999999-9",
            "--type",
            "degree",
            "--field",
            "name=A",
            "--field",
            "degree=B",
            "--field",
            "year=2020",
        ],
        env=env,
    )
    assert nobody.exit_code != 0
    assert "No citizen" in nobody.output


def test_issue_batch_reports_broken_rows_and_resumes(tmp_path: Path, db_url: str) -> None:
    """Good rows are issued, broken ones reported; a second run issues nothing twice."""

    runner = CliRunner()
    env = _env(tmp_path, db_url)
    assert runner.invoke(main, ["init", "--demo"], env=env).exit_code == 0
    csv_path = tmp_path / "batch.csv"
    csv_path.write_text(
        "citizen,type,name,degree,year,grade\n"
        "35202-1234567-1,degree,Ayesha Khan,BSc Physics,2023,A\n"
        "35202-1234567-1,degree,Ayesha Khan,,2023,A\n"
        "35202-9999999-9,degree,Nobody,BSc,2023,\n"
        "35202-1234567-1,degree,Ayesha Khan,MSc Physics,2025,\n"
        "not-a-cnic,degree,X,Y,2020,\n",
        encoding="utf-8",
    )
    report = tmp_path / "report.csv"
    first = runner.invoke(
        main,
        [
            "issue-batch",
            "--department",
            "DEMO",
            "--workers",
            "1",
            "--report",
            str(report),
            str(csv_path),
        ],
        env=env,
    )
    assert first.exit_code == 1
    assert "2 issued, 3 failed." in first.output
    assert "line 3: Missing required field(s): Degree." in first.output
    assert "line 4: No citizen" in first.output
    assert "line 6:" in first.output
    lines = report.read_text().splitlines()
    assert len(lines) == 6
    assert lines[1].startswith("2,35202-1234567-1,")
    assert lines[1].split(",")[2]
    again = ["issue-batch", "--department", "DEMO", "--workers", "1", str(csv_path)]
    second = runner.invoke(main, again, env=env)
    assert "2 issued, 3 failed." in second.output
    engine = create_engine(db_url)
    with session_factory(engine)() as s:
        assert s.query(IssuedCertificate).count() == 2, "the re-run issued nothing twice"
    engine.dispose()


def test_issue_batch_refuses_a_file_without_header(tmp_path: Path, db_url: str) -> None:
    runner = CliRunner()
    env = _env(tmp_path, db_url)
    assert runner.invoke(main, ["init", "--demo"], env=env).exit_code == 0
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\xff\xfe not csv")
    result = runner.invoke(main, ["issue-batch", "--department", "DEMO", str(bad)], env=env)
    assert result.exit_code != 0
    assert "UTF-8" in result.output


def test_bad_tsa_trust_file_is_a_clear_error(tmp_path: Path, db_url: str) -> None:
    runner = CliRunner()
    env = _env(tmp_path, db_url)
    assert runner.invoke(main, ["init", "--demo"], env=env).exit_code == 0
    junk = tmp_path / "tsa-root.pem"
    junk.write_text("not a certificate")
    env = {**env, "AMANAT_TSA_URL": "http://localhost:1/tsa", "AMANAT_TSA_TRUST": str(junk)}
    result = runner.invoke(
        main,
        [
            "issue",
            "--department",
            "DEMO",
            "--citizen",
            "35202-1234567-1",
            "--type",
            "degree",
            "--field",
            "name=A",
            "--field",
            "degree=B",
            "--field",
            "year=2020",
        ],
        env=env,
    )
    assert result.exit_code != 0
    assert "AMANAT_TSA_TRUST: not a certificate file" in result.output


def test_pki_refresh_crl(tmp_path: Path, db_url: str) -> None:
    runner = CliRunner()
    env = _env(tmp_path, db_url)
    assert runner.invoke(main, ["init"], env=env).exit_code == 0
    first = runner.invoke(main, ["pki", "refresh-crl"], env=env)
    second = runner.invoke(main, ["pki", "refresh-crl"], env=env)
    assert first.exit_code == 0
    assert "CRL #1 issued" in first.output
    assert "CRL #2 issued" in second.output


def test_verify_and_verify_qr_commands(tmp_path: Path, db_url: str) -> None:
    """amanat verify and verify-qr (URL and --image) answer with exit codes 0, 1, 2."""

    runner = CliRunner()
    env = _env(tmp_path, db_url)
    assert runner.invoke(main, ["init", "--demo"], env=env).exit_code == 0
    out = tmp_path / "c.pdf"
    issued = runner.invoke(
        main,
        [
            "issue",
            "--department",
            "DEMO",
            "--citizen",
            "35202-1234567-1",
            "--type",
            "degree",
            "--field",
            "name=Ayesha Khan",
            "--field",
            "degree=BSc",
            "--field",
            "year=2024",
            "-o",
            str(out),
        ],
        env=env,
    )
    assert issued.exit_code == 0, issued.output
    good = runner.invoke(main, ["verify", str(out)], env=env)
    assert good.exit_code == 0
    assert "TOTAL_PASSED" in good.output
    as_json = runner.invoke(main, ["verify", str(out), "--json"], env=env)
    assert json.loads(as_json.output)["certificate"]["status"] == "valid"
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7 not really")
    assert runner.invoke(main, ["verify", str(broken)], env=env).exit_code == 1
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-singlefile", str(out), str(tmp_path / "page")],
        check=True,
    )
    scanned = runner.invoke(main, ["verify-qr", "--image", str(tmp_path / "page.png")], env=env)
    assert scanned.exit_code == 0, scanned.output
    assert "TOTAL_PASSED" in scanned.output, scanned.output
    junk = runner.invoke(main, ["verify-qr", "not a code"], env=env)
    assert junk.exit_code == 1
    assert "not an Amanat certificate code" in junk.output


def _cose_with_int_signature() -> str:


    protected = cbor2.dumps({1: -7, 4: b"12345678"})
    raw = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, cbor2.dumps({1: "X"}), 12345]))
    return "AM1." + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["verify", "/nonexistent/file.pdf"], "cannot read"),
        (["verify-qr"], "give the scanned URL"),
        (["verify-qr", "--image", "/nonexistent.png"], "cannot be read"),
    ],
)
def test_verify_commands_that_cannot_check_exit_3_without_a_traceback(
    tmp_path: Path, db_url: str, args: list[str], says: str
) -> None:
    result = CliRunner().invoke(main, args, env=_env(tmp_path, db_url))
    assert result.exit_code == 3
    assert says in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("args", [["verify-qr", "AM1.AAAA"], ["verify", __file__]])
def test_verify_on_an_instance_never_initialised_says_run_init(
    tmp_path: Path, db_url: str, args: list[str]
) -> None:
    result = CliRunner().invoke(main, args, env=_env(tmp_path, db_url))
    assert result.exit_code == 3
    assert "amanat init" in result.output
    assert isinstance(result.exception, SystemExit)


def test_verify_qr_with_a_signature_that_is_not_bytes_is_failed(
    tmp_path: Path, db_url: str
) -> None:
    env = _env(tmp_path, db_url)
    assert CliRunner().invoke(main, ["init"], env=env).exit_code == 0
    result = CliRunner().invoke(main, ["verify-qr", _cose_with_int_signature()], env=env)
    assert result.exit_code == 1
    assert result.output.startswith("TOTAL_FAILED / FORMAT_FAILURE")
    assert isinstance(result.exception, SystemExit)


def test_db_upgrade_authenticates_a_pre_0005_ledger_once(tmp_path: Path, db_url: str) -> None:
    """The real path of an instance from before ledger MACs: its database at revision 0004 with
    events in it, then ``amanat db upgrade`` (MACs for those events, once, and a signed head)
    and ``amanat audit verify`` intact. The events are written by today's code into a database
    of their own and copied into the 0004 schema, column by column, as 0004's code left them."""



    runner, env = CliRunner(), _env(tmp_path, db_url)
    source_url = f"sqlite:///{tmp_path / 'today.db'}"
    made = runner.invoke(main, ["init"], env={**env, "AMANAT_DATABASE_URL": source_url})
    assert made.exit_code == 0, made.output
    source = create_engine(source_url)
    keystore = FileKeyStore(tmp_path / "inst" / "master.keys")
    now = dt.datetime.now(dt.UTC)
    with bind_keystore(session_factory(source), keystore)() as s:
        for n in range(5):
            record_event(s, tag=EventTag.ACCOUNT_SIGNED_IN, actor=f"a{n}", subject_id=n, now=now)
        s.commit()
    target = create_engine(db_url)
    migrate.upgrade(target, "0004")
    with source.connect() as src, target.begin() as dst:
        for name in ("audit_keys", "audit_events"):
            old = Table(name, MetaData(), autoload_with=dst)
            rows = [
                {c.name: r[c.name] for c in old.columns}
                for r in src.execute(Table(name, MetaData(), autoload_with=src).select()).mappings()
            ]
            dst.execute(insert(old), rows)
    upgraded = runner.invoke(main, ["db", "upgrade"], env=env)
    assert upgraded.exit_code == 0, upgraded.output
    assert "Ledger: 5 events from before revision 0005 authenticated." in upgraded.output
    again = runner.invoke(main, ["db", "upgrade"], env=env)
    assert "authenticated" not in again.output  # once: a later run vouches for nothing
    verified = runner.invoke(main, ["audit", "verify"], env=env)
    assert verified.exit_code == 0, verified.output
    assert "Ledger intact" in verified.output, verified.output

"""kill -9 in the middle of an upload: afterwards no half-written blob stays once swept, no row
points at nothing, and the ledger verifies (the crash tests of issue 11)."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select, text

from amanat.db import create_engine
from signing.models import Batch
from web.cli import main


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _signed_in_cookies(port: int, password: str) -> tuple[str, str]:
    """(cookie header, CSRF token) of the demo citizen signed in with the password."""
    conn = http.client.HTTPConnection("localhost", port, timeout=10)
    conn.request("GET", "/login")
    res = conn.getresponse()
    page = res.read().decode()
    jar = "; ".join(c.split(";")[0] for c in res.headers.get_all("Set-Cookie") or [])
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    body = f"csrf_token={csrf}&login=35202-1234567-1&password={password}"
    conn.request(
        "POST",
        "/login/password",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": jar},
    )
    res = conn.getresponse()
    res.read()
    assert res.status == 302, res.status
    cookies = jar + "; " + "; ".join(c.split(";")[0] for c in res.headers.get_all("Set-Cookie"))
    conn.request("GET", "/vault", headers={"Cookie": cookies})
    page = conn.getresponse().read().decode()
    return cookies, re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def _slow_upload(port: int, cookies: str, csrf: str, started: threading.Event) -> None:
    """Send a 6 MiB PDF upload slowly; the server dies under it."""
    boundary = "amanat-crash-test"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{csrf}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    total = 6 * 1024 * 1024
    conn = http.client.HTTPConnection("localhost", port, timeout=30)
    try:
        conn.putrequest("POST", "/vault")
        conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        conn.putheader("Content-Length", str(len(head) + total + len(boundary) + 8))
        conn.putheader("Cookie", cookies)
        conn.putheader("X-CSRF-Token", csrf)
        conn.endheaders()
        conn.send(head + b"%PDF-1.7\n")
        for _ in range(total // 65536):
            conn.send(b"0" * 65536)
            started.set()
            time.sleep(0.01)
    except OSError:
        return  # the server is gone: that is the point


def test_kill_9_during_an_upload_leaves_nothing_behind(tmp_path: Path) -> None:
    env = {**os.environ, "AMANAT_INSTANCE": str(tmp_path / "inst"), "HOME": str(tmp_path)}
    env.pop("AMANAT_DATABASE_URL", None)
    runner = CliRunner()
    shown = runner.invoke(main, ["init", "--demo"], env=env)
    password = re.search(r"CNIC 35202-1234567-1\s+password (\S+)", shown.output).group(1)
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from web.cli import main; main()",
            "run",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        env={**env, "AMANAT_PUBLIC_BASE_URL": f"http://localhost:{port}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        for _ in range(100):
            try:
                cookies, csrf = _signed_in_cookies(port, password)
                break
            except OSError:
                time.sleep(0.1)
        started = threading.Event()
        sender = threading.Thread(target=_slow_upload, args=(port, cookies, csrf, started))
        sender.start()
        assert started.wait(10)
        time.sleep(0.5)  # well inside the upload
        os.killpg(server.pid, signal.SIGKILL)  # master and worker, no clean-up of any kind
        sender.join(30)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(10)
    tmp = tmp_path / "inst" / "blobs" / "tmp"
    swept = runner.invoke(main, ["vault", "sweep", "--min-age", "0"], env=env)
    assert swept.exit_code == 0, swept.output
    assert not list(tmp.glob("*.part"))
    assert not [p for p in (tmp_path / "inst" / "blobs").glob("??/??/*")]  # no orphan blob
    verified = runner.invoke(main, ["audit", "verify"], env=env)
    assert verified.exit_code == 0, verified.output


_CHILD = r"""
import io, os, signal, sys, datetime as dt
from amanat.settings import load_settings
from amanat.db import create_engine
from audit.keyring import bind_keystore
from amanat.db import session_factory
from identity.accounts import find_by_login
from keys.stores import open_keystore
from vault.blobs import FileBlobStore
from vault.service import VaultContext, store_document
from vault.uploads import DocumentKind, Upload

class DiesMidway(io.RawIOBase):
    # The process is killed (SIGKILL) once half of the file has gone into the blob.
    def __init__(self):
        self.sent = 0
    def readable(self):
        return True
    def readinto(self, buffer):
        if self.sent > 4 * 1024 * 1024:
            os.kill(os.getpid(), signal.SIGKILL)
        n = len(buffer)
        buffer[:n] = (b"%PDF-1.7\n" + b"0" * n)[:n]
        self.sent += n
        return n

settings = load_settings()
keystore = open_keystore(settings)
sessions = bind_keystore(session_factory(create_engine(settings.database_url)), keystore)
ctx = VaultContext(keystore=keystore, blobs=FileBlobStore(settings.blob_dir))
with sessions() as s:
    owner = find_by_login(s, login="35202-1234567-1").id
    store_document(s, ctx=ctx, owner_id=owner, max_bytes=20 * 1024 * 1024,
                   now=dt.datetime.now(dt.UTC), src=io.BufferedReader(DiesMidway()),
                   upload=Upload(filename="big.pdf", media_type="application/pdf", title="big",
                                 kind=DocumentKind.OTHER))
    s.commit()
sys.exit("the upload finished: the test did not crash it")
"""


def test_kill_9_while_the_blob_is_written_is_swept_and_verifies(tmp_path: Path) -> None:
    """The process dies inside the vault's blob writer: a .part is left, no row refers to it,
    'vault sweep' removes it, and the ledger verifies."""
    env = {**os.environ, "AMANAT_INSTANCE": str(tmp_path / "inst"), "HOME": str(tmp_path)}
    env.pop("AMANAT_DATABASE_URL", None)
    runner = CliRunner()
    assert runner.invoke(main, ["init", "--demo"], env=env).exit_code == 0
    child = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True)
    assert child.returncode == -signal.SIGKILL, child.stderr
    tmp = tmp_path / "inst" / "blobs" / "tmp"
    assert list(tmp.glob("blob.*.part")), "the crash left no half-written blob"
    swept = runner.invoke(main, ["vault", "sweep", "--min-age", "0"], env=env)
    assert swept.exit_code == 0
    assert swept.output.startswith("1 ")
    assert not list(tmp.glob("*.part"))
    verified = runner.invoke(main, ["audit", "verify"], env=env)
    assert verified.exit_code == 0, verified.output


def _issued_count(db_url: str) -> int:


    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM signing_certificates")).scalar_one())
    finally:
        engine.dispose()


def _batch_ids(db_url: str) -> list[str]:


    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return [str(i) for i in conn.execute(select(Batch.id)).scalars()]
    finally:
        engine.dispose()


def _worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`amanat worker` with two processes, in a process group of its own (killed as one)."""
    command = [sys.executable, "-c", "from web.cli import main; main()", "worker",
               "--workers", "2", "--no-periodic"]  # fmt: skip
    return subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip


def _wait_for(predicate: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_kill_9_of_a_worker_mid_batch_leaves_the_rest_to_another_worker_exactly_once(
    tmp_path: Path, db_url: str
) -> None:
    """A worker (all its processes) dies with kill -9 in the middle of a 50-row batch; a new
    worker finishes it: 50 certificates, no row twice, no blob without its row, ledger intact."""
    env = {**os.environ, "AMANAT_INSTANCE": str(tmp_path / "inst"), "HOME": str(tmp_path),
           "AMANAT_DATABASE_URL": db_url, "AMANAT_BATCH_LEASE_SECONDS": "2"}  # fmt: skip
    runner = CliRunner()
    assert runner.invoke(main, ["init", "--demo"], env=env).exit_code == 0
    rows = 50
    csv_path = tmp_path / "batch.csv"
    csv_path.write_text(
        "citizen,type,name,degree,year\n"
        + "".join(f"35202-1234567-1,degree,Ayesha Khan,BSc {n},2024\n" for n in range(rows)),
        encoding="utf-8",
    )
    sent = runner.invoke(
        main, ["issue-batch", "--department", "DEMO", "--no-wait", str(csv_path)], env=env
    )
    assert sent.exit_code == 0, sent.output
    batch_id = sent.output.strip()
    first = _worker(env)
    try:
        _wait_for(lambda: _issued_count(db_url) >= 5 or first.poll() is not None, 180, "5 rows")
        assert first.poll() is None, "the worker stopped before it could be killed"
        os.killpg(first.pid, signal.SIGKILL)  # the consumer and its processes, mid-row
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
    killed_at = _issued_count(db_url)
    assert 5 <= killed_at < rows
    time.sleep(2.5)  # the dead worker's leases run out
    second = _worker(env)
    try:
        _wait_for(lambda: _issued_count(db_url) >= rows, 300, "the rest of the batch")
        again = runner.invoke(
            main,
            [
                "issue-batch",
                "--department",
                "DEMO",
                "--report",
                str(tmp_path / "r.csv"),
                str(csv_path),
            ],
            env=env,
        )  # fmt: skip the same file again: the same batch, already done
    finally:
        os.killpg(second.pid, signal.SIGKILL)
        second.wait(10)
    assert again.exit_code == 0, again.output
    assert f"{rows} issued, 0 failed." in again.output
    assert _issued_count(db_url) == rows  # every row once: batch keys are unique
    report = (tmp_path / "r.csv").read_text().splitlines()
    assert len(report) == rows + 1
    assert len({line.split(",")[2] for line in report[1:]}) == rows
    assert _batch_ids(db_url) == [batch_id]  # sending the file again found the same batch
    swept = runner.invoke(main, ["vault", "sweep", "--min-age", "0"], env=env)
    assert swept.exit_code == 0, swept.output
    blobs = [p for p in (tmp_path / "inst" / "blobs").glob("??/??/*")]
    assert len(blobs) == rows  # one encrypted PDF per certificate, none orphaned
    verified = runner.invoke(main, ["audit", "verify"], env=env)
    assert verified.exit_code == 0, verified.output


_APPENDER = r"""
import datetime as dt, os, signal, sys
from amanat.settings import load_settings
from amanat.db import create_engine, session_factory
from audit import EventTag, record_event
from audit import service
from audit.keyring import bind_keystore
from keys.stores import open_keystore

settings = load_settings()
engine = create_engine(settings.database_url)
sessions = bind_keystore(session_factory(engine), open_keystore(settings))
kill_at = int(sys.argv[1])
real = service._append_one
calls = [0]

def dying(session, fields, mac_key):
    seq = real(session, fields, mac_key)
    calls[0] += 1
    if calls[0] == kill_at:  # chained, inside the locked transaction, not committed
        os.kill(os.getpid(), signal.SIGKILL)
    return seq

service._append_one = dying
for n in range(kill_at + 5):
    with sessions() as s:
        record_event(s, tag=EventTag.ACCOUNT_SESSION_ENDED, actor="test", subject_id=None,
                     now=dt.datetime.now(dt.UTC), details={"n": n})
        s.commit()
sys.exit("the appender was not killed")
"""


def test_kill_9_inside_a_ledger_append_leaves_it_whole_and_unlocked(
    tmp_path: Path, db_url: str
) -> None:
    """The process dies holding the ledger's lock (PostgreSQL's advisory lock, SQLite's write
    lock) with an event chained but not committed: the lock is free again, the event is gone
    whole, and after a head is signed the ledger verifies and grows."""
    env = {**os.environ, "AMANAT_INSTANCE": str(tmp_path / "inst"), "HOME": str(tmp_path),
           "AMANAT_DATABASE_URL": db_url}  # fmt: skip
    runner = CliRunner()
    assert runner.invoke(main, ["init", "--demo"], env=env).exit_code == 0
    child = subprocess.run(
        [sys.executable, "-c", _APPENDER, "4"], env=env, capture_output=True, text=True, timeout=120
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    published = runner.invoke(main, ["audit", "publish"], env=env)
    assert published.exit_code == 0, published.output
    verified = runner.invoke(main, ["audit", "verify"], env=env)
    assert verified.exit_code == 0, verified.output
    # The lock is free: another process appends (an org is an audited action) and it verifies.
    assert runner.invoke(main, ["org", "create", "BANK2", "--name", "Bank"], env=env).exit_code == 0
    again = runner.invoke(main, ["audit", "verify"], env=env)
    assert again.exit_code == 0, again.output

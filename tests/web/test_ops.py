"""Operators' endpoints: /readyz names what is not reachable, /metrics is for the scraper only
and adds up every web worker's counters."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import Engine

from amanat.settings import Settings
from keys.stores import FileKeyStore
from tests.web.conftest import Clock
from web.app import create_app
from web.runtime import build_runtime


def _app_with(
    settings: Settings, engine: Engine, keystore: FileKeyStore, clock: Clock, **changes: str
) -> Iterator[Flask]:
    rt = build_runtime(settings.with_overrides(**changes), engine=engine, keystore=keystore,
                       clock=clock)  # fmt: skip
    yield create_app(runtime_=rt, test_config={"TESTING": True})
    rt.close()


def test_a_ready_node_says_so_for_each_part(client: FlaskClient) -> None:
    res = client.get("/readyz")
    assert res.status_code == 200
    assert res.get_json() == {"database": "ok", "blobstore": "ok", "keystore": "ok", "tasks": "ok"}


def _not_ready(client: FlaskClient) -> list[str]:
    res = client.get("/readyz")
    assert res.status_code == 503
    return [part for part, state in res.get_json().items() if state != "ok"]


def test_a_node_whose_queue_is_away_is_not_ready_and_says_so(
    settings: Settings, engine: Engine, file_keystore: FileKeyStore, clock: Clock
) -> None:
    for app in _app_with(settings, engine, file_keystore, clock, tasks="redis://127.0.0.1:1/0"):
        assert _not_ready(app.test_client()) == ["tasks"]


def test_a_node_that_cannot_write_blobs_is_not_ready_and_says_so(
    app: Flask, client: FlaskClient
) -> None:

    spool = app.extensions["amanat"].settings.blob_dir / "tmp"
    shutil.rmtree(spool, ignore_errors=True)
    spool.write_text("a file where the blob store's spool folder should be")
    assert _not_ready(client) == ["blobstore"]


_HEALTHZ = r'amanat_http_requests_total\{endpoint="healthz",method="GET",status="200"\} (\S+)'
_QR = r'amanat_verifications_total\{channel="qr",indication="TOTAL_FAILED"\} (\S+)'


def _value(text: str, pattern: str) -> float:
    found = re.search(pattern, text, re.M)
    return float(found.group(1)) if found else 0.0


def test_metrics_count_requests_and_verdicts(client: FlaskClient) -> None:
    before = client.get("/metrics").get_data(as_text=True)  # counters live as long as the process
    for _ in range(3):
        client.get("/healthz")
    client.post("/api/v1/verify-qr", json={"payload": "AM1.not-a-code"})
    after = client.get("/metrics").get_data(as_text=True)
    assert _value(after, _HEALTHZ) - _value(before, _HEALTHZ) == 3
    assert _value(after, _QR) - _value(before, _QR) == 1


def test_metrics_read_the_ledger_and_the_queue_when_scraped(client: FlaskClient) -> None:
    text = client.get("/metrics").get_data(as_text=True)
    assert re.search(r"^amanat_ledger_events \d+", text, re.M)
    assert re.search(r"^amanat_task_queue_jobs 0\.0$", text, re.M)


@pytest.mark.parametrize(
    "environ",
    [
        {"REMOTE_ADDR": "10.0.0.5"},
        {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.9"},
    ],
    ids=["another-machine", "through-a-proxy"],
)
def test_metrics_without_a_token_are_for_this_machine_only(
    client: FlaskClient, environ: dict[str, str]
) -> None:
    assert client.get("/metrics", environ_base=environ).status_code == 404


@pytest.mark.parametrize(
    ("authorization", "status"),
    [("Bearer right-token", 200), ("Bearer wrong-token", 404), ("", 404)],
    ids=["right", "wrong", "none"],
)
def test_metrics_with_a_token_need_it(
    settings: Settings,
    engine: Engine,
    file_keystore: FileKeyStore,
    clock: Clock,
    authorization: str,
    status: int,
) -> None:
    for app in _app_with(settings, engine, file_keystore, clock, metrics_token="right-token"):
        res = app.test_client().get(
            "/metrics", headers={"Authorization": authorization},
            environ_base={"REMOTE_ADDR": "10.0.0.5"},
        )  # fmt: skip
        assert res.status_code == status


def test_metrics_add_up_every_web_workers_counts(tmp_path: Path) -> None:
    """Under gunicorn with two workers, a scrape counts every request, whichever worker took it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "AMANAT_INSTANCE": str(tmp_path / "inst"), "HOME": str(tmp_path)}
    env.pop("AMANAT_DATABASE_URL", None)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    amanat = [sys.executable, "-c", "from web.cli import main; main()"]
    subprocess.run([*amanat, "init"], env=env, check=True, capture_output=True)
    server = subprocess.Popen(
        [*amanat, "run", "--port", str(port), "--workers", "2", "--no-task-worker"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2).close()
                break
            except OSError:
                time.sleep(0.1)
        sent = 1
        folder = tmp_path / "inst" / "metrics"
        # New connections until both workers have answered some (each keeps its own file).
        while len(list(folder.glob("counter_*.db"))) < 2 or sent < 20:
            assert sent < 500, "one worker answered every request"
            urllib.request.urlopen(base + "/healthz", timeout=5).close()
            sent += 1
        with urllib.request.urlopen(base + "/metrics", timeout=5) as res:
            text = res.read().decode()
    finally:
        server.terminate()
        server.wait(60)
    assert _value(text, _HEALTHZ) == sent  # both workers' requests, in one scrape

"""Notices delivered to real servers started here: an SMTP server that demands STARTTLS
(aiosmtpd) and an HTTP stand-in for an SMS gateway. In the citizen's language, a link to the
activity line, told once; a gateway that is down loses nothing."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from flask import Flask
from sqlalchemy.engine import Engine

from amanat.settings import Settings, load_settings
from audit import EventTag, record_event
from identity.accounts import find_by_login
from keys.stores import FileKeyStore
from tests.web.conftest import Clock, csrf_of
from tests.web.helpers import register
from vault.notices import TOPICS, NoticeSettings, set_notice_settings
from web.app import create_app
from web.cli import main
from web.notices import send_due_notices
from web.runtime import build_runtime

EMAIL = "ayesha.khan@example.pk"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[tuple[_Mailbox, int, Path]]:
    cert, key = tmp_path / "smtp.crt", tmp_path / "smtp.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    mailbox, port = _Mailbox(), _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, tls_context=context,
                            require_starttls=True)  # fmt: skip
    controller.start()
    yield mailbox, port, cert
    controller.stop()


class _Gateway(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, dict[str, Any]]]]
    failing: ClassVar[bool]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if type(self).failing:
            self.send_response(503)
        else:
            type(self).received.append((self.headers.get("Authorization", ""), json.loads(body)))
            self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[tuple[type[_Gateway], int]]:
    class Gateway(_Gateway):
        pass

    Gateway.received, Gateway.failing = [], False

    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield Gateway, server.server_address[1]
    server.shutdown()


@pytest.fixture
def noticing_app(settings: Settings, engine: Engine, file_keystore: FileKeyStore, clock: Clock,
                 smtp: tuple, gateway: tuple) -> Iterator[Flask]:  # fmt: skip
    _mailbox, smtp_port, cert = smtp
    _gateway, sms_port = gateway
    configured = settings.with_overrides(
        smtp_host="127.0.0.1", smtp_port=smtp_port, smtp_ca_file=str(cert),
        sms_url=f"http://127.0.0.1:{sms_port}/sms", sms_token="gateway-token",
    )  # fmt: skip
    rt = build_runtime(configured, engine=engine, keystore=file_keystore, clock=clock)
    yield create_app(runtime_=rt, test_config={"TESTING": True})
    rt.close()


def _citizen_with_notices(app: Flask, language: str = "ur") -> int:
    client = app.test_client()
    register(client, cnic="35202-1234567-1")
    res = client.post("/security/notices", data={
        "csrf_token": csrf_of(client, "/security"), "by_email": "1", "email": EMAIL,
        "by_sms": "1", "phone": "+92 300 1234567", "topic": ["access", "certificates"],
        "language": language,
    })  # fmt: skip
    assert res.status_code == 302, res.get_data(as_text=True)[:300]
    rt = app.extensions["amanat"]
    with rt.sessions() as s:

        account = find_by_login(s, login="35202-1234567-1")
        assert account is not None
        return account.id


def _bank_fetches(app: Flask, citizen: int) -> int:
    rt = app.extensions["amanat"]
    with rt.sessions() as s:
        seq = record_event(s, tag=EventTag.CONSENT_USED, actor="organisation:DEMOBANK",
                           subject_id=citizen, now=rt.clock(),
                           details={"organisation": "Demo Bank"})  # fmt: skip
        s.commit()
    return int(seq) if isinstance(seq, int) else 0


def test_a_fetch_is_told_by_email_and_sms_in_urdu_once(
    noticing_app: Flask, smtp: tuple, gateway: tuple
) -> None:
    mailbox, _port, _cert = smtp
    sms, _sms_port = gateway
    citizen = _citizen_with_notices(noticing_app)
    _bank_fetches(noticing_app, citizen)
    assert send_due_notices(noticing_app) == 1
    (mail,) = mailbox.messages
    assert mail["To"] == EMAIL
    assert mail["Subject"] == "امانت: آپ کی والٹ میں نئی سرگرمی"
    body = mail.get_content()
    assert re.search(r"http://localhost:8000/activity#event-\d+", body)
    ((authorization, posted),) = sms.received
    assert authorization == "Bearer gateway-token"
    assert posted["to"] == "+923001234567"
    assert posted["text"].startswith("Amanat: ")
    assert "/activity#event-" in posted["text"]
    assert send_due_notices(noticing_app) == 0  # told once


def test_a_gateway_that_is_down_loses_nothing(
    noticing_app: Flask, smtp: tuple, gateway: tuple, clock: Clock
) -> None:

    mailbox, _port, _cert = smtp
    sms, _sms_port = gateway
    citizen = _citizen_with_notices(noticing_app, language="en")
    _bank_fetches(noticing_app, citizen)
    sms.failing = True
    assert send_due_notices(noticing_app) == 0
    assert send_due_notices(noticing_app) == 0  # not before its time
    sms.failing = False
    clock.value = clock.value + dt.timedelta(minutes=5)
    assert send_due_notices(noticing_app) == 1
    assert len(sms.received) == 1
    assert mailbox.messages[-1]["Subject"].startswith("Amanat:")


def test_a_retry_after_the_sms_failed_sends_no_second_email(
    noticing_app: Flask, smtp: tuple, gateway: tuple, clock: Clock
) -> None:

    mailbox, _port, _cert = smtp
    sms, _sms_port = gateway
    citizen = _citizen_with_notices(noticing_app, language="en")
    _bank_fetches(noticing_app, citizen)
    sms.failing = True
    assert send_due_notices(noticing_app) == 0
    assert len(mailbox.messages) == 1  # the e-mail went; the SMS did not
    sms.failing = False
    clock.value = clock.value + dt.timedelta(minutes=5)
    assert send_due_notices(noticing_app) == 1
    assert len(mailbox.messages) == 1
    assert len(sms.received) == 1
    _bank_fetches(noticing_app, citizen)  # a new event: both channels tell it, once each
    assert send_due_notices(noticing_app) == 1
    assert len(mailbox.messages) == 2
    assert len(sms.received) == 2


def test_unusable_settings_are_said_and_change_nothing(noticing_app: Flask) -> None:
    client = noticing_app.test_client()
    register(client, cnic="35202-7654321-1")
    res = client.post("/security/notices", data={
        "csrf_token": csrf_of(client, "/security"), "by_email": "1", "email": "nope",
        "topic": "access", "language": "en",
    })  # fmt: skip
    assert res.status_code == 400
    assert "name@example.pk" in res.get_data(as_text=True)
    page = client.get("/security").get_data(as_text=True)
    assert '<input name="by_email" type="checkbox" value="1" >' in page  # still off


def test_a_running_worker_sends_the_notice_within_seconds(
    tmp_path: Path, smtp: tuple, gateway: tuple
) -> None:
    """The whole path: `amanat worker` (the engine's schedule, its lock, its own web app for the
    words) reads the new event and the mail reaches the SMTP server."""



    mailbox, smtp_port, cert = smtp
    _sms, sms_port = gateway
    env = {**os.environ, "AMANAT_INSTANCE": str(tmp_path / "inst"), "HOME": str(tmp_path),
           "AMANAT_SMTP_HOST": "127.0.0.1", "AMANAT_SMTP_PORT": str(smtp_port),
           "AMANAT_SMTP_CA_FILE": str(cert),
           "AMANAT_SMS_URL": f"http://127.0.0.1:{sms_port}/"}  # fmt: skip
    env.pop("AMANAT_DATABASE_URL", None)
    env.pop("AMANAT_TASKS", None)
    assert CliRunner().invoke(main, ["init", "--demo"], env=env).exit_code == 0
    rt = build_runtime(load_settings(env))
    now = dt.datetime.now(dt.UTC)
    with rt.sessions() as s:
        account = find_by_login(s, login="35202-1234567-1")
        assert account is not None
        wanted = NoticeSettings(True, False, TOPICS, EMAIL, "", "en")
        set_notice_settings(s, ctx=rt.vault, account_id=account.id, wanted=wanted, now=now)
        record_event(s, tag=EventTag.CONSENT_USED, actor="organisation:DEMOBANK",
                     subject_id=account.id, now=now, details={})  # fmt: skip
        s.commit()
    rt.close()
    worker = subprocess.Popen(
        [sys.executable, "-c", "from web.cli import main; main()", "worker", "--workers", "1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not mailbox.messages and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.2)
    finally:
        os.killpg(worker.pid, 9)
        worker.wait(10)
    assert mailbox.messages, "no notice reached the SMTP server"
    assert mailbox.messages[0]["To"] == EMAIL

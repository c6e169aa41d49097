"""Logs are JSON lines and never carry national ID numbers, tokens or document content."""

from __future__ import annotations

import io
import json
import logging

import pytest
from flask import g
from flask.testing import FlaskClient

from tests.web.helpers import register, upload
from web.logs import JsonLogFormatter, RequestQueueHandler, _Writer, flush_logs


def test_logs_never_contain_cnic_tokens_or_content(client: FlaskClient) -> None:
    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.setFormatter(JsonLogFormatter())
    logger = logging.getLogger("amanat")
    logger.addHandler(handler)
    try:
        register(client, cnic="35202-5550123-9")
        doc = upload(client, b"%PDF-1.7 SECRET-CONTENT-XYZ", "x.pdf").get_json()["id"]
        client.get(f"/vault/{doc}/file")
        client.get("/vault/00000000-0000-0000-0000-000000000000")
    finally:
        logger.removeHandler(handler)
    cookie = client.get_cookie("amanat_session")
    assert cookie is not None
    lines = sink.getvalue().splitlines()
    assert len(lines) >= 5, "requests were logged"
    entries = [json.loads(line) for line in lines]  # one JSON object per line
    assert all(e.get("request_id") for e in entries if e["message"] == "request")
    text = sink.getvalue()
    assert "35202-5550123-9" not in text
    assert "3520255501239" not in text
    assert cookie.value not in text
    assert "SECRET-CONTENT-XYZ" not in text


def test_error_lines_carry_the_request_id(app, client: FlaskClient) -> None:
    """A line logged while handling a request (here an error) names that request."""
    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.setFormatter(JsonLogFormatter())
    logger = logging.getLogger("amanat")
    logger.addHandler(handler)

    @app.get("/boom-for-test")
    def boom() -> str:
        logging.getLogger("amanat.web").error("something broke")
        return "ok"

    try:
        res = client.get("/boom-for-test", headers={"X-Request-Id": "req-123"})
    finally:
        logger.removeHandler(handler)
    assert res.headers["X-Request-Id"] == "req-123"
    (line,) = [json.loads(x) for x in sink.getvalue().splitlines() if "something broke" in x]
    assert line["request_id"] == "req-123"


@pytest.mark.parametrize("path", ["/api/v1/shared", "/s/00000000-0000-0000-0000-000000000000"])
def test_answers_with_citizen_data_are_never_cached(client: FlaskClient, path: str) -> None:
    """Shared-document API and link-share answers say no-store even with no account signed in."""
    assert client.get(path).headers.get("Cache-Control") == "no-store"


def _record(message: str = "request %s", *args: object) -> logging.LogRecord:
    return logging.LogRecord("amanat.web.access", logging.INFO, __file__, 1, message, args, None)


def test_the_request_thread_queues_records_unformatted_with_their_request_id(app) -> None:
    """Formatting and writing happen on the writer thread, not on the request's."""

    handler = RequestQueueHandler(limit=10)
    with app.test_request_context("/"):

        g.request_id = "req-9"
        handler.emit(_record("request %s", "x"))
    (queued,) = handler.drain()
    assert queued.request_id == "req-9"
    assert queued.args == ("x",)
    assert not hasattr(queued, "message")


def test_a_full_buffer_drops_lines_and_the_next_batch_says_so(capsys) -> None:

    handler = RequestQueueHandler(limit=1)
    for _ in range(3):
        handler.emit(_record())
    assert handler.dropped == 2
    _Writer(handler).write(handler.drain())
    lines = [json.loads(x) for x in capsys.readouterr().err.splitlines()]
    assert lines[0]["message"] == "log lines dropped: 2"
    assert lines[1]["message"] == "request %s"
    assert handler.dropped == 0


def test_the_service_log_reaches_stderr_through_the_listener(app, client, capfd) -> None:

    client.get("/healthz", headers={"X-Request-Id": "req-listener"})
    flush_logs()
    lines = [json.loads(x) for x in capfd.readouterr().err.splitlines() if "req-listener" in x]
    assert lines
    assert lines[0]["path"] == "/healthz"
    assert lines[0]["status"] == 200

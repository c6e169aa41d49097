"""Operators' endpoints: is this node ready to serve, and its Prometheus metrics."""

from __future__ import annotations

import hmac
import ipaddress
from typing import Any

from flask import Blueprint, abort, jsonify, request
from werkzeug.wrappers import Response

from amanat.db import ping
from audit.ledger import tree_size
from signing.issuance import certificate_counts
from web.context import runtime
from web.metrics import exposition
from web.tasks import task_engine

bp = Blueprint("ops", __name__)


def _check(name: str, probe: Any, status: dict[str, str]) -> None:
    try:
        probe()
        status[name] = "ok"
    except Exception:  # any failure of a dependency means "not ready", said by name only
        status[name] = "unavailable"


def _database() -> None:
    ping(runtime().engine)


def _blobstore() -> None:
    # The file store writes and removes a file; the S3 store asks for its bucket.
    runtime().vault.blobs.check()


def _tasks() -> None:
    task_engine(runtime().settings).pending()


@bp.get("/readyz")
def readyz() -> Response:
    """Everything a request may need answers: database, blob store, key store, task queue (200),
    or which of them does not (503). ``/healthz`` only says the process is alive."""
    status: dict[str, str] = {}
    _check("database", _database, status)
    _check("blobstore", _blobstore, status)
    _check("keystore", runtime().keystore.check, status)
    _check("tasks", _tasks, status)
    response = jsonify(status)
    response.status_code = 200 if set(status.values()) == {"ok"} else 503
    response.headers["Cache-Control"] = "no-store"
    return response


def _may_scrape() -> bool:
    token = runtime().settings.metrics_token
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(given.encode(), token.encode())
    # No token: this machine only, and not a request that came through a proxy on it.
    if request.headers.get("X-Forwarded-For") or request.headers.get("Forwarded"):
        return False
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


def _state() -> dict[str, Any]:
    rt = runtime()
    with rt.readers()() as s:
        ledger, certificates = tree_size(s), certificate_counts(s)
    try:
        queued = task_engine(rt.settings).pending()
    except Exception:  # the queue away: the scrape still answers; /readyz names it
        queued = -1
    return {"ledger_events": ledger, "certificates": certificates, "queue_jobs": queued}


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus metrics, for the operators' scraper only (404 to anyone else)."""
    if not _may_scrape():
        abort(404)
    body, content_type = exposition(_state)
    return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})

"""The department API: a department's own record system issues and revokes certificates and
sends batches (``Authorization: Bearer`` with a department key, ``amanat department create-key``).

Every answer is JSON; errors are ``{"error": code, "message": text}`` as everywhere. Each key has
its own rate limit. ``Idempotency-Key`` on ``POST /certificates`` makes a retried request answer
with the first certificate instead of issuing a second one.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from flask import Blueprint, jsonify, request, url_for
from werkzeug.wrappers import Response

from audit.actors import Actor
from signing.apikeys import authenticate_department_api_key
from signing.applications import (
    ApplicationNotFound,
    application_json,
    approve,
    ask_for_information,
    department_application,
    department_queue,
    reject,
    supporting_documents,
    take_up,
)
from signing.batches import (
    BatchProgress,
    batch_outcomes,
    batch_progress,
    submit_file,
    submit_rows,
)
from signing.errors import BodyTooLarge, InvalidRequest
from signing.issuance import IssueRequest, issue_once, revoke_certificate
from signing.models import Application, DepartmentApiKey, IssuedCertificate
from web.context import db, now, runtime
from web.inputs import MAX_JSON_BYTES, older_than_days
from web.messages import refusal_text
from web.tasks import task_engine

bp = Blueprint("department_api", __name__, url_prefix="/api/v1")

# RFC draft-ietf-httpapi-idempotency-key-header: an opaque client string; printable ASCII here.
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,64}$")


def _key(scope: str) -> DepartmentApiKey:
    """The request's department key with ``scope`` (401 unknown, 403 without the scope), within
    its own per-minute limit."""
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""
    key = authenticate_department_api_key(db(), token=token, scope=scope, now=now())
    limit = runtime().settings.api_requests_per_minute
    runtime().api_limiter.hit(f"department-key:{key.key_id}", limit=limit)
    return key


def _actor(key: DepartmentApiKey) -> str:
    return str(Actor.department(key.department_code, api_key=key.key_id))


def _body() -> dict[str, Any]:
    if (request.content_length or 0) > MAX_JSON_BYTES:
        raise BodyTooLarge("Body too large.", code="api_body_too_large", kib=MAX_JSON_BYTES // 1024)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidRequest("Not a JSON object.", code="api_body_not_object")
    return body


def _strings(body: dict[str, Any], name: str) -> dict[str, str]:
    value = body.get(name, {})
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise InvalidRequest("Bad fields.", code="api_fields_not_strings", name=name)
    return {str(k): v for k, v in value.items() if v}


def _text(body: dict[str, Any], name: str, default: str = "") -> str:
    value = body.get(name, default)
    if not isinstance(value, str):
        raise InvalidRequest("Not a string.", code="api_field_not_string", name=name)
    return value


def _idempotency_key() -> str | None:
    raw = request.headers.get("Idempotency-Key")
    if raw is None:
        return None
    if not _IDEMPOTENCY_KEY.match(raw):
        raise InvalidRequest("Bad Idempotency-Key.", code="idempotency_key_format", n=64)
    return raw


def _certificate_json(row: IssuedCertificate) -> dict[str, Any]:
    base = runtime().settings.public_base_url.rstrip("/")
    return {
        "serial": row.serial,
        "status": row.status,
        "department": row.department_code,
        "type": row.type_code,
        "level": row.level,
        "holder": row.holder_name,
        "issued_at": row.issued_at.isoformat(),
        "expires_at": row.expires_at.isoformat() if row.expires_at else None,
        "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
        "revocation_reason": row.revocation_reason,
        "links": {
            "status": url_for("verify.api_certificate", serial=row.serial),
            "verify": f"{base}/v/{row.serial}",
        },
    }


@bp.post("/certificates")
def issue() -> tuple[Response, int]:
    """Issue one certificate into a citizen's vault (201), or answer a retry with the first one
    (200 with ``Idempotent-Replayed: true``)."""
    key = _key("issue")
    body = _body()
    idempotency = _idempotency_key()
    issue_request = IssueRequest.build(
        department=key.department_code,
        citizen=_text(body, "citizen"),
        type_code=_text(body, "type"),
        fields=_strings(body, "fields"),
        level=_text(body, "level", "B-LTA"),
        batch_key=f"api:{key.department_code}:{idempotency or uuid.uuid4().hex}",
    )
    row, created = issue_once(
        db(), ctx=runtime().issuance(db), request=issue_request, now=now(), actor=_actor(key)
    )
    response = jsonify(_certificate_json(row))
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return response, 201 if created else 200


@bp.post("/certificates/<serial>/revoke")
def revoke(serial: str) -> Response:
    """Revoke a certificate this department issued (``{"reason": "..."}``)."""
    key = _key("revoke")
    row = revoke_certificate(
        db(),
        serial=serial,
        reason=_text(_body(), "reason"),
        now=now(),
        actor=_actor(key),
        department=key.department_code,
    )
    return jsonify(_certificate_json(row))


def _batch_json(progress: BatchProgress, *, rows: bool) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "batch": str(progress.id),
        "name": progress.name,
        "total": progress.total,
        "issued": progress.issued,
        "failed": progress.failed,
        "waiting": progress.left,
        "done": progress.done,
        "created_at": progress.created_at.isoformat(),
        "finished_at": progress.finished_at.isoformat() if progress.finished_at else None,
        "href": url_for("department_api.batch", batch_id=progress.id),
    }
    if rows:
        answer["rows"] = [
            {
                "line": o.line,
                "citizen": o.citizen,
                "status": o.status,
                "serial": o.serial,
                "error": None
                if o.error is None
                else {"code": o.error.code, "message": refusal_text(o.error)},
            }
            for o in batch_outcomes(db(), batch_id=progress.id)
        ]
    return answer


@bp.post("/batches")
def submit_batch() -> tuple[Response, int]:
    """A batch as CSV (``text/csv``, the department page's format) or JSON rows; 202 with the
    batch to follow. The same rows sent again find the same batch (and retry its failed rows)."""
    key = _key("issue")
    name = (request.args.get("name") or "api").strip()[:200] or "api"
    if request.mimetype == "text/csv":
        progress = submit_file(
            db(), department=key.department_code, actor=_actor(key), name=name,
            data=request.get_data(cache=False), now=now(),
        )  # fmt: skip
    else:
        body = _body()
        progress = submit_rows(
            db(), department=key.department_code, actor=_actor(key),
            name=_text(body, "name", name)[:200] or name, rows=body.get("rows"), now=now(),
        )  # fmt: skip
    db().commit()  # the rows are in the database before any worker looks for them
    if not progress.done:
        task_engine(runtime().settings).enqueue_batch(progress.id)
    return jsonify(_batch_json(progress, rows=False)), 202


@bp.get("/batches/<uuid:batch_id>")
def batch(batch_id: uuid.UUID) -> Response:
    """A batch's progress and every row's outcome (serial, or refusal in the reader's words)."""
    key = _key("issue")
    progress = batch_progress(db(), batch_id=batch_id, department=key.department_code)
    return jsonify(_batch_json(progress, rows=True))


# -- the application queue (scope "applications") -------------------------------------------------


def _application(key: DepartmentApiKey, application_id: str) -> Application:
    try:
        app_id = uuid.UUID(application_id)
    except ValueError:
        raise ApplicationNotFound("No such application.", code="application_not_found") from None
    return department_application(db(), department=key.department_code, application_id=app_id)


def _application_json(app: Application) -> dict[str, Any]:
    answer = application_json(app)
    answer["documents"] = [
        {"grant": str(d.grant_id), "id": str(d.document_id), "title": d.title}
        for d in supporting_documents(db(), app=app)
    ]
    return answer


@bp.get("/applications")
def applications() -> Response:
    """The department's open applications, oldest first (``?status=``, ``?older_than=`` days)."""
    key = _key("applications")
    rows = department_queue(
        db(), department=key.department_code, status=request.args.get("status") or None,
        older_than_days=older_than_days(request.args.get("older_than")), now=now(),
    )  # fmt: skip
    return jsonify({"applications": [application_json(a) for a in rows]})


@bp.get("/applications/<application_id>")
def application(application_id: str) -> Response:
    """One application with its steps and supporting documents."""
    return jsonify(_application_json(_application(_key("applications"), application_id)))


@bp.post("/applications/<application_id>/<step>")
def application_step(application_id: str, step: str) -> Response:
    """A step: ``review`` (take it up), ``ask`` ({"note"}), ``approve`` ({"fields"?, "level"?},
    issues from the application's data or the fields sent), ``reject`` ({"reason"})."""
    key = _key("applications")
    app = _application(key, application_id)
    body, actor, code = _body(), _actor(key), key.department_code
    if step == "review":
        take_up(db(), department=code, application_id=app.id, officer_id=None, actor=actor,
                now=now())  # fmt: skip
    elif step == "ask":
        ask_for_information(db(), department=code, application_id=app.id,
                            note=_text(body, "note"), actor=actor, now=now())  # fmt: skip
    elif step == "approve":
        fields = _strings(body, "fields") if "fields" in body else None
        level = _text(body, "level", "B-LTA")
        approve(db(), ctx=runtime().issuance(db), department=code, application_id=app.id,
                fields=fields, level=level, actor=actor, now=now())  # fmt: skip
    elif step == "reject":
        reject(db(), department=code, application_id=app.id, reason=_text(body, "reason"),
               actor=actor, now=now())  # fmt: skip
    else:
        raise ApplicationNotFound("No such step.", code="application_not_found")
    return jsonify(_application_json(app))

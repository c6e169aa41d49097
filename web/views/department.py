"""Department pages (officers only): issue one, issue a batch from CSV, list and search, revoke."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Mapping

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from amanat.errors import AmanatError
from audit.actors import Actor
from identity.errors import InvalidInput
from identity.models import Role
from signing.applications import waiting
from signing.batches import (
    FAILED,
    ISSUED,
    batch_outcomes,
    batch_progress,
    recent_batches,
    submit_file,
)
from signing.errors import InvalidRequest
from signing.issuance import (
    IssueRequest,
    get_certificate,
    issue_certificate,
    list_issued,
    look_up_holder,
    registered_name,
    revoke_certificate,
    unconfirmed_name,
)
from signing.pades import LEVELS
from signing.pki import get_department
from signing.types import CertificateType, certificate_types, get_type
from web.context import current_account, db, login_required, now, runtime
from web.inputs import form_fields
from web.messages import refusal_text
from web.tasks import task_engine

bp = Blueprint("department", __name__, url_prefix="/department")


def _code() -> str:
    account = current_account()
    assert account is not None
    if not account.affiliation:
        abort(403)
    return account.affiliation


def _actor() -> str:
    account = current_account()
    assert account is not None
    return str(Actor.account(account.id))


@bp.get("")
@login_required(Role.OFFICER)
def index() -> str:
    """What the department issued (search by serial or holder name)."""
    department = get_department(db(), code=_code())
    query = request.args.get("q", "")
    return render_template(
        "department.html",
        department=department,
        query=query,
        types=certificate_types(),
        certificates=list_issued(db(), department=department.code, query=query),
        wait=waiting(db(), department=department.code, now=now()),
    )


def _issue_page(ctype: CertificateType, values: Mapping[str, str], **notes: str) -> str:
    """The issuance form, filled with ``values`` (what the officer typed, or looked up), and
    ``notes``: the registered name, a refusal, a name that differs from the registered one."""
    return render_template(
        "department_issue.html",
        department=get_department(db(), code=_code()),
        ctype=ctype,
        types=certificate_types(),
        levels=LEVELS,
        values=values,
        **notes,
    )


@bp.get("/issue")
@login_required(Role.OFFICER)
def issue_form() -> str:
    """The issuance form, built from the certificate type's fields."""
    return _issue_page(_form_type(request.args), {})


@bp.post("/issue/check")
@login_required(Role.OFFICER)
def check_holder() -> str:
    """The form again, with the name registered for the CNIC (the certificate starts with it);
    a POST, so the CNIC stays out of URLs and access logs, and the look-up (an event in the
    citizen's activity) is never made by a prefetch."""
    ctype = _form_type(request.form)
    cnic = request.form.get("citizen", "").strip()
    try:
        name = look_up_holder(db(), cnic=cnic, department=_code(), actor=_actor(), now=now())
    except AmanatError as exc:
        return _issue_page(ctype, {"citizen": cnic}, error=refusal_text(exc))
    return _issue_page(ctype, {"citizen": cnic, "f_name": name}, registered=name)


def _form_type(values: Mapping[str, str]) -> CertificateType:
    return get_type(values.get("type", "") or next(iter(certificate_types())))


@bp.post("/issue")
@login_required(Role.OFFICER)
def issue() -> Response | tuple[str, int]:
    """Issue one certificate into a citizen's vault; a refusal, or a name that differs from the
    registered one (until the officer confirms it), comes back on the filled form."""
    code = _code()
    ctype = get_type(request.form.get("type", ""))
    fields = form_fields(request.form)
    # A date comes back to the form as the ISO text its three boxes were joined into.
    values = {**request.form.to_dict(), **{f"f_{k}": v for k, v in fields.items()}}
    try:
        registered = registered_name(db(), cnic=request.form.get("citizen", ""))
        confirmed = request.form.get("name_confirmed", "")
        differs = unconfirmed_name(registered, fields, confirmed=confirmed)
        if differs is not None:
            return _issue_page(ctype, values, registered=registered, differs=differs), 200
        issue_request = IssueRequest.build(
            department=code,
            citizen=request.form.get("citizen", ""),
            type_code=ctype.code,
            fields=fields,
            level=request.form.get("level", "B-LTA"),
        )
        row = issue_certificate(
            db(), ctx=runtime().issuance(db), request=issue_request, now=now(), actor=_actor()
        )
    except (InvalidRequest, InvalidInput) as exc:
        return _issue_page(ctype, values, error=refusal_text(exc)), 400
    flash(_("Certificate %(serial)s was issued into the citizen's vault.", serial=row.serial))
    return redirect(url_for("department.certificate", serial=row.serial))


@bp.get("/certificates/<serial>")
@login_required(Role.OFFICER)
def certificate(serial: str) -> str:
    """One issued certificate, with the revoke form."""
    row = get_certificate(db(), serial=serial)
    if row.department_code != _code():
        abort(404)
    return render_template("department_certificate.html", row=row, ctype=get_type(row.type_code))


@bp.post("/certificates/<serial>/revoke")
@login_required(Role.OFFICER)
def revoke(serial: str) -> Response:
    """Revoke a certificate this department issued."""
    row = revoke_certificate(
        db(),
        serial=serial,
        reason=request.form.get("reason", ""),
        now=now(),
        actor=_actor(),
        department=_code(),
    )
    flash(_("Certificate %(serial)s was revoked.", serial=row.serial))
    return redirect(url_for("department.certificate", serial=row.serial))


@bp.get("/batch")
@login_required(Role.OFFICER)
def batch_form() -> str:
    """Upload a CSV of certificates to issue; the department's latest batches."""
    department = get_department(db(), code=_code())
    return render_template(
        "department_batch.html",
        department=department,
        types=certificate_types(),
        batches=recent_batches(db(), department=department.code),
    )


@bp.post("/batch")
@login_required(Role.OFFICER)
def batch() -> Response:
    """Put every row of a CSV on the task engine's queue and go to the batch's page. Uploading the
    same file again resumes it (and takes up rows that failed)."""
    file = request.files.get("file")
    if file is None or not file.filename:
        raise InvalidRequest(_("Please choose a CSV file."))
    progress = submit_file(
        db(), department=_code(), actor=_actor(), name=file.filename,
        data=file.stream.read(), now=now(),
    )  # fmt: skip
    db().commit()  # the rows are in the database before any worker looks for them
    if not progress.done:
        task_engine(runtime().settings).enqueue_batch(progress.id)
    return redirect(url_for("department.batch_status", batch_id=progress.id), code=303)


# Issued rows listed on the page; the CSV report has every row.
_ISSUED_SHOWN = 100


@bp.get("/batch/<uuid:batch_id>")
@login_required(Role.OFFICER)
def batch_status(batch_id: uuid.UUID) -> str:
    """A batch's progress (the page refreshes itself until it is done: no JavaScript needed) and
    its rows: every refused one, the first issued ones."""
    progress = batch_progress(db(), batch_id=batch_id, department=_code())
    return render_template(
        "department_batch_report.html",
        progress=progress,
        failed=batch_outcomes(db(), batch_id=batch_id, status=FAILED),
        issued=batch_outcomes(db(), batch_id=batch_id, status=ISSUED, limit=_ISSUED_SHOWN),
        refresh_seconds=None if progress.done else 3,
    )


@bp.get("/batch/<uuid:batch_id>/report.csv")
@login_required(Role.OFFICER)
def batch_report(batch_id: uuid.UUID) -> Response:
    """Every row of a batch as CSV: line, citizen, serial, refusal (in the reader's language)."""
    batch_progress(db(), batch_id=batch_id, department=_code())  # 404 for another department's
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["line", "citizen", "serial", "error"])
    for o in batch_outcomes(db(), batch_id=batch_id):
        error = refusal_text(o.error) if o.error else ""
        writer.writerow([o.line, o.citizen, o.serial or "", error])
    return Response(
        out.getvalue(), mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="batch-{batch_id}.csv"'},
    )  # fmt: skip

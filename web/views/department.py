"""Department pages (officers only): issue one, issue a batch from CSV, list and search, revoke."""

from __future__ import annotations

from collections.abc import Iterator

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_template,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from identity.models import Role
from signing.batch import parse_batch
from signing.errors import InvalidRequest
from signing.issuance import (
    IssueRequest,
    get_certificate,
    issue_certificate,
    list_issued,
    revoke_certificate,
)
from signing.pades import LEVELS
from signing.pki import get_department
from signing.types import certificate_types, get_type
from web.batch import RowResult, run_batch
from web.context import current_account, db, login_required, now, runtime

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
    return f"account:{account.id}"


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
    )


@bp.get("/issue")
@login_required(Role.OFFICER)
def issue_form() -> str:
    """The issuance form, built from the certificate type's fields."""
    department = get_department(db(), code=_code())
    ctype = get_type(request.args.get("type", "") or next(iter(certificate_types())))
    return render_template(
        "department_issue.html",
        department=department,
        ctype=ctype,
        types=certificate_types(),
        levels=LEVELS,
        values={},
    )


@bp.post("/issue")
@login_required(Role.OFFICER)
def issue() -> Response:
    """Issue one certificate into a citizen's vault."""
    code = _code()
    ctype = get_type(request.form.get("type", ""))
    fields = {
        key[len("f_") :]: value
        for key, value in request.form.items()
        if key.startswith("f_") and value.strip()
    }
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
    """Upload a CSV of certificates to issue."""
    department = get_department(db(), code=_code())
    return render_template(
        "department_batch.html", department=department, types=certificate_types()
    )


@bp.post("/batch")
@login_required(Role.OFFICER)
def batch() -> Response:
    """Issue every row, streaming the per-row report as each row completes (that is the progress
    display: it works without JavaScript). Re-uploading the same file resumes it."""
    code = get_department(db(), code=_code()).code
    file = request.files.get("file")
    if file is None or not file.filename:
        raise InvalidRequest(_("Please choose a CSV file."))
    rows = parse_batch(file.stream.read(), department=code)
    actor = _actor()
    rt = runtime()
    rt.issuance(db)
    # The rows commit one by one, each in its own transaction: end the request's own first
    # (committed, not rolled back, so that the page can still show the signed-in account).
    db().commit()
    counts = {"issued": 0, "failed": 0}

    def results() -> Iterator[tuple[int, RowResult]]:
        for number, result in enumerate(run_batch(rt, rows, actor=actor, clock=rt.clock), 1):
            counts["issued" if result.serial else "failed"] += 1
            yield number, result

    return Response(
        stream_with_context(
            stream_template(
                "department_batch_report.html", results=results(), total=len(rows), counts=counts
            )
        ),
        mimetype="text/html",
    )

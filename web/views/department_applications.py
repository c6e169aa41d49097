"""Applications, the officers' side: the department's queue (filter by state and age), one
application with its supporting documents, and its steps: take it up, ask for more information,
issue from its data (editable before signing) or reject with a reason."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from audit.actors import Actor
from identity.accounts import actor_of
from identity.models import Account, Role
from signing.applications import (
    STATUSES,
    approve,
    ask_for_information,
    department_application,
    department_queue,
    fetch_supporting,
    reject,
    supporting_documents,
    take_up,
    waiting,
)
from signing.pades import LEVELS
from signing.types import get_type
from web.context import current_account, db, login_required, now, runtime
from web.inputs import form_fields, older_than_days
from web.messages import APPLICATION_STATES, APPLICATION_STEPS
from web.responses import send_opened

bp = Blueprint("department_applications", __name__, url_prefix="/department/applications")


def _officer() -> tuple[Account, str]:
    account = current_account()
    assert account is not None
    if not account.affiliation:
        abort(403)
    return account, account.affiliation


@bp.get("")
@login_required(Role.OFFICER)
def queue() -> str:
    """Open applications, oldest first, or those in one state; how long they wait."""
    me, code = _officer()
    status = (request.args.get("status") or "").strip() or None
    rows = department_queue(
        db(),
        department=code,
        status=status,
        older_than_days=older_than_days(request.args.get("older_than")),
        now=now(),
    )
    return render_template(
        "department_applications.html", rows=rows, status=status, statuses=STATUSES,
        states=APPLICATION_STATES, older_than=request.args.get("older_than", ""),
        wait=waiting(db(), department=code, now=now()), me_id=me.id,
    )  # fmt: skip


@bp.get("/<uuid:application_id>")
@login_required(Role.OFFICER)
def detail(application_id: uuid.UUID) -> str:
    """One application: data (editable for issuing), documents, timeline, the next steps."""
    _me, code = _officer()
    app = department_application(db(), department=code, application_id=application_id)
    return render_template(
        "department_application.html", app=app, ctype=get_type(app.type_code),
        documents=supporting_documents(db(), app=app), states=APPLICATION_STATES,
        steps=APPLICATION_STEPS, levels=LEVELS,
    )  # fmt: skip


def _back(application_id: uuid.UUID) -> Response:
    return redirect(url_for(".detail", application_id=application_id), code=303)


@bp.post("/<uuid:application_id>/take")
@login_required(Role.OFFICER)
def take(application_id: uuid.UUID) -> Response:
    """Assign it to me and put it in review."""
    me, code = _officer()
    take_up(db(), department=code, application_id=application_id, officer_id=me.id,
            actor=actor_of(me), now=now())  # fmt: skip
    return _back(application_id)


@bp.post("/<uuid:application_id>/ask")
@login_required(Role.OFFICER)
def ask(application_id: uuid.UUID) -> Response:
    """Ask the citizen for more information."""
    me, code = _officer()
    ask_for_information(
        db(), department=code, application_id=application_id,
        note=request.form.get("note", ""), actor=actor_of(me), now=now(),
    )  # fmt: skip
    flash(_("Your question was sent to the citizen."))
    return _back(application_id)


@bp.post("/<uuid:application_id>/approve")
@login_required(Role.OFFICER)
def issue(application_id: uuid.UUID) -> Response:
    """Sign and issue the certificate from the (edited) data into the citizen's vault."""
    me, code = _officer()
    app = approve(
        db(), ctx=runtime().issuance(db), department=code,
        application_id=application_id, fields=form_fields(request.form),
        level=request.form.get("level", "B-LTA"), actor=actor_of(me), now=now(),
    )  # fmt: skip
    flash(_("Certificate %(serial)s was issued into the citizen's vault.", serial=app.serial))
    return _back(application_id)


@bp.post("/<uuid:application_id>/reject")
@login_required(Role.OFFICER)
def refuse(application_id: uuid.UUID) -> Response:
    """Reject with a reason the citizen reads."""
    me, code = _officer()
    reject(db(), department=code, application_id=application_id,
           reason=request.form.get("reason", ""), actor=actor_of(me), now=now())  # fmt: skip
    flash(_("The application was rejected; the citizen was told why."))
    return _back(application_id)


@bp.get("/<uuid:application_id>/documents/<uuid:grant_id>/<uuid:document_id>")
@login_required(Role.OFFICER)
def document(application_id: uuid.UUID, grant_id: uuid.UUID, document_id: uuid.UUID) -> Response:
    """A supporting document (counted and shown to the citizen)."""
    me, code = _officer()
    app = department_application(db(), department=code, application_id=application_id)
    opened = fetch_supporting(
        db(), ctx=runtime().vault, app=app, grant_id=grant_id,
        document_id=document_id, actor=str(Actor.department(code, account_id=me.id)), now=now(),
    )  # fmt: skip
    return send_opened(opened, download=True)

"""Applications, the citizen's side: apply to a department for a certificate it offers (/apply),
follow each application's timeline (/applications), answer when more information is asked."""

from __future__ import annotations

import datetime as dt
import json
import uuid

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from identity.models import Account, Role
from identity.passkeys import start_confirmation
from signing.applications import (
    answer,
    apply,
    citizen_application,
    citizen_applications,
    known_values,
    offers,
)
from signing.types import get_type
from vault.service import list_documents
from vault.shares import PendingGrant
from web.context import current_account, db, login_required, now, runtime
from web.inputs import form_fields
from web.messages import APPLICATION_STATES, APPLICATION_STEPS

bp = Blueprint("applications", __name__)


def _me() -> Account:
    account = current_account()
    assert account is not None
    return account


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        abort(404)


def _documents() -> list[uuid.UUID]:
    return [_uuid(v) for v in request.form.getlist("document")]


def _confirm_page(pending: PendingGrant, cancel: str) -> str:
    """The consent for the documents, to confirm with the passkey."""
    started = start_confirmation(
        db(), rp=runtime().rp, account=_me(), challenge=pending.challenge, payload=pending.terms,
        now=now(),
    )  # fmt: skip
    return render_template(
        "shares_confirm.html", terms=pending.terms,
        expires=dt.datetime.fromisoformat(pending.terms["expires_at"]), token=started.token,
        options=json.dumps(started.options), cancel=cancel,
    )  # fmt: skip


@bp.get("/apply")
@login_required(Role.CITIZEN)
def choose() -> str:
    """What the citizen can apply for, department by department."""
    return render_template("apply.html", offers=offers(db()))


@bp.get("/apply/<department>/<type_code>")
@login_required(Role.CITIZEN)
def form(department: str, type_code: str) -> str:
    """The type's form, and the vault's documents to attach."""
    offered = [(d, t) for d, t in offers(db()) if d.code == department and t.code == type_code]
    if not offered:
        abort(404)
    dept, ctype = offered[0]
    known = known_values(db(), account=_me(), ctype=ctype)
    return render_template(
        "apply_form.html", department=dept, ctype=ctype, known=known,
        values={k: v.value for k, v in known.items()},
        documents=list_documents(db(), owner_id=_me().id),
    )  # fmt: skip


@bp.post("/apply/<department>/<type_code>")
@login_required(Role.CITIZEN)
def submit(department: str, type_code: str) -> Response | str:
    """Send the application; with documents, first confirm the consent for them."""
    started = apply(
        db(), account=_me(), department=department, type_code=get_type(type_code).code,
        fields=form_fields(request.form), document_ids=_documents(), now=now(),
    )  # fmt: skip
    target = url_for("applications.detail", application_id=str(started.application.id))
    if started.consent is not None:
        return _confirm_page(started.consent, url_for("applications.choose"))
    flash(_("Your application was sent. You can follow it here."))
    return redirect(target, code=303)


@bp.get("/applications")
@login_required(Role.CITIZEN)
def index() -> str:
    """The citizen's applications and where each stands."""
    rows = citizen_applications(db(), account=_me())
    return render_template("applications.html", rows=rows, states=APPLICATION_STATES)


@bp.get("/applications/<application_id>")
@login_required(Role.CITIZEN)
def detail(application_id: str) -> str:
    """One application's timeline; the answer form when more information is asked."""
    app = citizen_application(db(), account=_me(), application_id=_uuid(application_id))
    return render_template(
        "application.html", app=app, ctype=get_type(app.type_code), states=APPLICATION_STATES,
        steps=APPLICATION_STEPS,
        documents=list_documents(db(), owner_id=_me().id),
    )  # fmt: skip


@bp.post("/applications/<application_id>/answer")
@login_required(Role.CITIZEN)
def reply(application_id: str) -> Response | str:
    """Answer the department's question (words, documents, or both)."""
    app_id = _uuid(application_id)
    pending = answer(
        db(), account=_me(), application_id=app_id, note=request.form.get("note"),
        document_ids=_documents(), now=now(),
    )  # fmt: skip
    target = url_for("applications.detail", application_id=application_id)
    if pending is not None:
        return _confirm_page(pending, target)
    flash(_("Your answer was sent."))
    return redirect(target, code=303)

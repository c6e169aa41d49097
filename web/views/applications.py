"""Applications, the citizen's side: apply to a department for a certificate it offers (/apply),
follow each application's timeline (/applications), answer when more information is asked."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from identity.models import Role
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
from web.consent import confirm_page
from web.context import db, login_required, now, signed_in
from web.inputs import form_fields, uuid_or_404
from web.messages import APPLICATION_STATES, APPLICATION_STEPS

bp = Blueprint("applications", __name__)


def _documents() -> list[uuid.UUID]:
    return [uuid_or_404(v) for v in request.form.getlist("document")]


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
    known = known_values(db(), account=signed_in(), ctype=ctype)
    return render_template(
        "apply_form.html", department=dept, ctype=ctype, known=known,
        values={k: v.value for k, v in known.items()},
        documents=list_documents(db(), owner_id=signed_in().id),
    )  # fmt: skip


@bp.post("/apply/<department>/<type_code>")
@login_required(Role.CITIZEN)
def submit(department: str, type_code: str) -> Response | str:
    """Send the application; with documents, first confirm the consent for them."""
    started = apply(
        db(), account=signed_in(), department=department, type_code=get_type(type_code).code,
        fields=form_fields(request.form), document_ids=_documents(), now=now(),
    )  # fmt: skip
    target = url_for("applications.detail", application_id=str(started.application.id))
    if started.consent is not None:
        return confirm_page(started.consent, cancel=url_for("applications.choose"))
    flash(_("Your application was sent. You can follow it here."))
    return redirect(target, code=303)


@bp.get("/applications")
@login_required(Role.CITIZEN)
def index() -> str:
    """The citizen's applications and where each stands."""
    rows = citizen_applications(db(), account=signed_in())
    return render_template("applications.html", rows=rows, states=APPLICATION_STATES)


@bp.get("/applications/<uuid:application_id>")
@login_required(Role.CITIZEN)
def detail(application_id: uuid.UUID) -> str:
    """One application's timeline; the answer form when more information is asked."""
    app = citizen_application(db(), account=signed_in(), application_id=application_id)
    return render_template(
        "application.html", app=app, ctype=get_type(app.type_code), states=APPLICATION_STATES,
        steps=APPLICATION_STEPS,
        documents=list_documents(db(), owner_id=signed_in().id),
    )  # fmt: skip


@bp.post("/applications/<uuid:application_id>/answer")
@login_required(Role.CITIZEN)
def reply(application_id: uuid.UUID) -> Response | str:
    """Answer the department's question (words, documents, or both)."""
    app_id = application_id
    pending = answer(
        db(), account=signed_in(), application_id=app_id, note=request.form.get("note"),
        document_ids=_documents(), now=now(),
    )  # fmt: skip
    target = url_for("applications.detail", application_id=application_id)
    if pending is not None:
        return confirm_page(pending, cancel=target)
    flash(_("Your answer was sent."))
    return redirect(target, code=303)

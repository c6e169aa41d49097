"""Assisted recovery: the service centre's desk (/recovery-desk, recovery officers), the citizen's
refusal (Security page), and the one-time link that adds a new passkey (/recover/<secret>)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from flask import (
    Blueprint,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from identity.assisted import (
    finish_enrolment,
    recovery_by_link,
    refuse_recovery,
    start_enrolment,
    start_recovery,
)
from identity.ceremonies import consume_ceremony
from identity.errors import PasskeyRejected, RecoveryRefused
from identity.models import Role
from web.context import db, login_required, now, runtime, side_transaction, signed_in
from web.messages import refusal_text

bp = Blueprint("recovery", __name__)


@bp.get("/recovery-desk")
@login_required(Role.RECOVERY)
def desk() -> str:
    """The officer's form: the CNIC of the person in front of them, and the card check."""
    return render_template("recovery_desk.html", started=None)


@bp.post("/recovery-desk")
@login_required(Role.RECOVERY)
def desk_start() -> tuple[str, int]:
    """Start a recovery; show the one-time link to hand over (it is shown once), or the form
    again saying what stops it."""
    try:
        started = start_recovery(
            db(), officer=signed_in(), cnic=request.form.get("cnic", ""),
            card_checked=request.form.get("card_checked") == "yes", now=now(),
            wait=dt.timedelta(hours=runtime().settings.recovery_wait_hours),
        )  # fmt: skip
    except RecoveryRefused as exc:
        return render_template("recovery_desk.html", started=None, problem=refusal_text(exc)), 409
    link = runtime().settings.public_base_url.rstrip("/") + url_for(
        "recovery.link", token=started.token
    )
    return render_template("recovery_desk.html", started=started.recovery, link=link), 200


@bp.post("/security/recoveries/<uuid:recovery_id>/refuse")
@login_required(Role.CITIZEN)
def refuse(recovery_id: uuid.UUID) -> Response:
    """The citizen did not ask for this recovery: its link never works."""
    refuse_recovery(db(), account_id=signed_in().id, recovery_id=recovery_id,
                    now=now())  # fmt: skip
    flash(_("Refused. The recovery link will never work; nobody got into your account."))
    return redirect(url_for("account.security") + "#recoveries")


@bp.get("/recover/<token>")
def link(token: str) -> str:
    """The person's page: add a new passkey when the link works, else why it does not (yet)."""
    problem = None
    try:
        recovery_by_link(db(), token=token, now=now())
    except RecoveryRefused as exc:
        problem = refusal_text(exc)
    return render_template("recover.html", token=token, problem=problem)


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise PasskeyRejected()
    return body


@bp.post("/recover/<token>/begin")
def begin(token: str) -> Response:
    """The new passkey's registration options."""
    started = start_enrolment(db(), rp=runtime().rp, token=token, now=now())
    return jsonify({"options": started.options, "token": started.token})


@bp.post("/recover/<token>/complete")
def complete(token: str) -> Response:
    """Store the new passkey, use the link up; the person then signs in with it."""
    body = _body()
    if not isinstance(body.get("credential"), dict):
        raise PasskeyRejected()
    with side_transaction() as s:
        ceremony = consume_ceremony(s, token=str(body.get("token", "")), kind="add-passkey",
                                    now=now())  # fmt: skip
    finish_enrolment(
        db(), rp=runtime().rp, token=token, ceremony=ceremony, response=body["credential"],
        passkey_name=str(body.get("passkey_name") or _("New passkey")), now=now(),
    )  # fmt: skip
    flash(_("Your new passkey is ready. Sign in with it now."))
    return jsonify({"redirect": url_for("auth.login")})

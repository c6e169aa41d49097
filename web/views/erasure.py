"""Closing an account (/security/close-account), confirmed and cancelled with the citizen's
passkey, and the citizen's link to what became of it (/erasure/<secret>), where the deletion
certificate waits once everything is erased."""

from __future__ import annotations

import datetime as dt

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    render_template,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from identity.models import Role
from signing.erasure import (
    ERASED,
    PENDING,
    action_terms,
    carry_out,
    certificate_file,
    erasure_by_token,
    erasure_token,
    pending_erasure,
)
from signing.models import Erasure
from web.consent import confirmed, passkey_step
from web.context import db, login_required, now, runtime, signed_in
from web.deletion import ERASED_LABELS, deletion_pdf
from web.messages import when_text

bp = Blueprint("erasure", __name__)


def _link(token: str) -> str:
    return runtime().settings.public_base_url.rstrip("/") + url_for("erasure.status", token=token)


@bp.get("/security/close-account")
@login_required(Role.CITIZEN)
def close_account() -> str:
    """What closing means, and the passkey button that asks for it (or, once asked, the day it
    happens, the citizen's link, and the passkey button that cancels)."""
    me = signed_in()
    terms, challenge = action_terms(db(), account_id=me.id)
    pending = pending_erasure(db(), account_id=me.id)
    link = None
    if pending is not None:
        link = _link(erasure_token(db(), ctx=runtime().vault, erasure=pending, now=now()))
    return render_template(
        "close_account.html", pending=pending, link=link,
        grace_days=runtime().settings.erasure_grace_days, **passkey_step(challenge, terms),
    )  # fmt: skip


@bp.post("/security/close-account/confirm")
@login_required(Role.CITIZEN)
def confirm() -> Response:
    """Check the passkey's signature, then close (or stop closing) the account."""
    me, done = confirmed()
    row = carry_out(
        db(), ctx=runtime().vault, account=me, confirmed=done.payload,
        language=str(get_locale() or "en"), now=now(),
        grace=dt.timedelta(days=runtime().settings.erasure_grace_days),
    )  # fmt: skip
    if row.status == PENDING:
        flash(_("Your account will be closed and everything in it erased on %(day)s. Keep the"
                " link on this page: your deletion certificate will be there.",
                day=when_text(row.due_at)))  # fmt: skip
    else:
        flash(_("Your account will not be closed. Nothing was erased."))
    return jsonify({"redirect": url_for("erasure.close_account")})


def _by_token(token: str) -> Erasure:
    found = erasure_by_token(db(), token=token)
    if found is None:
        abort(404)
    return found


@bp.get("/erasure/<token>")
def status(token: str) -> str:
    """Where the citizen's closing stands (no sign-in: the account may be gone); the deletion
    certificate once everything is erased."""
    return render_template("erasure.html", erasure=_by_token(token), token=token,
                           labels=ERASED_LABELS, erased=ERASED)  # fmt: skip


@bp.get("/erasure/<token>/certificate.<fmt>")
def certificate(token: str, fmt: str) -> Response:
    """The signed deletion certificate: canonical JSON, or the PDF with that JSON attached."""
    row = _by_token(token)
    if fmt not in ("json", "pdf") or row.status != ERASED or row.certificate is None:
        abort(404)
    if fmt == "pdf":
        response = Response(deletion_pdf(row.certificate), mimetype="application/pdf")
    else:
        response = Response(certificate_file(row.certificate), mimetype="application/json")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="deletion-certificate-{row.id}.{fmt}"'
    )
    return response

"""Emergency access (/emergency): the citizen names trusted contacts (confirmed with the
passkey), sees and refuses their requests; a contact asks, and reads once the wait is over."""

from __future__ import annotations

import uuid

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from identity.models import Role
from vault.emergency import (
    DEFAULT_DAYS,
    MAX_DAYS,
    MIN_DAYS,
    EmergencyState,
    access_from,
    ask_for_access,
    confirm_naming,
    end_naming,
    namings,
    owner_names,
    prepare_naming,
    read_document,
    refuse_access,
    state_of,
)
from vault.service import list_documents
from web.consent import confirmed, passkey_step
from web.context import db, login_required, now, runtime, signed_in
from web.inputs import uuid_or_404, whole_number
from web.messages import when_text
from web.responses import send_opened

bp = Blueprint("emergency", __name__, url_prefix="/emergency")


@bp.get("")
@login_required(Role.CITIZEN)
def index() -> str:
    """My trusted contacts (and their requests), the people who named me, and the form."""
    me = signed_in()
    rows = namings(db(), account_id=me.id)
    owners = owner_names(db(), rows)
    return render_template(
        "emergency.html", mine=[r for r in rows if r.owner_id == me.id],
        theirs=[r for r in rows if r.contact_id == me.id], owners=owners,
        state_of=lambda r: state_of(r, now()), access_from=access_from, states=EmergencyState,
        documents=list_documents(db(), owner_id=me.id), days=(MIN_DAYS, MAX_DAYS, DEFAULT_DAYS),
    )  # fmt: skip


@bp.post("/new")
@login_required(Role.CITIZEN)
def new() -> str:
    """The terms in words and the passkey button that confirms them."""
    days = whole_number(request.form.get("days"), high=MAX_DAYS)
    ids = [uuid_or_404(v) for v in request.form.getlist("document")]
    pending = prepare_naming(
        db(), owner=signed_in(), contact_cnic=request.form.get("cnic", ""),
        # Left empty: the default; anything else that is not 1 to 30 is refused in words.
        wait_days=days if days is not None else (0 if request.form.get("days") else DEFAULT_DAYS),
        document_ids=ids, now=now(),
    )  # fmt: skip
    return render_template("emergency_confirm.html", terms=pending.terms,
                           **passkey_step(pending.challenge, pending.terms))  # fmt: skip


@bp.post("/confirm")
@login_required(Role.CITIZEN)
def confirm() -> Response:
    """Check the passkey's signature over the terms and store the naming."""
    me, done = confirmed()
    row = confirm_naming(db(), owner_id=me.id, confirmation=done, now=now())
    flash(_("%(name)s is now your trusted contact.", name=row.contact_name))
    return jsonify({"redirect": url_for("emergency.index")})


def _act(naming: uuid.UUID, action: str) -> Response:
    me = signed_in().id
    if action == "end":
        end_naming(db(), owner_id=me, naming_id=naming, now=now())
        flash(_("Ended. This contact can no longer ask for access."))
    elif action == "refuse":
        refuse_access(db(), owner_id=me, naming_id=naming, now=now())
        flash(_("Refused. Your trusted contact gets nothing."))
    else:
        row = ask_for_access(db(), contact_id=me, naming_id=naming, now=now())
        until = access_from(row)
        assert until is not None  # just asked
        flash(_("You asked. The owner has been told; if they do not refuse, you can read the"
                " documents from %(day)s.", day=when_text(until)))  # fmt: skip
    return redirect(url_for("emergency.index"))


@bp.post("/<uuid:naming_id>/<action>")
@login_required(Role.CITIZEN)
def act(naming_id: uuid.UUID, action: str) -> Response:
    """End a naming or refuse its request (the citizen), or ask for access (the contact)."""
    if action not in ("end", "refuse", "ask"):
        abort(404)
    return _act(naming_id, action)


@bp.get("/<uuid:naming_id>/documents/<uuid:document_id>")
@login_required(Role.CITIZEN)
def document(naming_id: uuid.UUID, document_id: uuid.UUID) -> Response:
    """A document the owner chose, for their trusted contact, once access is active."""
    opened = read_document(db(), ctx=runtime().vault, contact_id=signed_in().id,
                           naming_id=naming_id,
                           document_id=document_id, now=now())  # fmt: skip
    return send_opened(opened, download=True)

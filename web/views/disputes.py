"""Disputes: the citizen's "I did not expect this" on an activity line (/disputes), and the inbox
of those who answer (/disputes/inbox): the organisation's members, the department's officers,
and the data-protection office, which sees every dispute and closes them."""

from __future__ import annotations

import datetime as dt
import uuid

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from audit import AuditEvent
from audit.service import MAX_SEQ
from identity.accounts import actor_of
from identity.models import Role
from signing.disputes import (
    OUTCOMES,
    add_note,
    citizen_dispute,
    citizen_disputes,
    close_dispute,
    open_dispute,
    party_dispute,
    party_disputes,
    party_name,
)
from signing.errors import InvalidRequest
from signing.models import Dispute
from web.activity_lines import describe
from web.context import db, login_required, now, signed_in
from web.inputs import whole_number
from web.messages import DISPUTE_OUTCOMES, DISPUTE_STATES

bp = Blueprint("disputes", __name__, url_prefix="/disputes")
ANSWERING = (Role.VERIFIER, Role.OFFICER, Role.DPO)


def access_line(dispute: Dispute) -> str:
    """The disputed activity line, worded for the reader as the activity page words it."""
    a = dispute.access
    event = AuditEvent(
        seq=dispute.event_seq, tag=a.get("tag", ""), actor=a.get("actor", ""),
        subject_id=dispute.citizen_id, details=a.get("details") or {},
    )  # fmt: skip
    return describe(event)


def _page(dispute: Dispute, *, inbox: bool) -> str:
    return render_template(
        "dispute.html", d=dispute, line=access_line(dispute), inbox=inbox,
        states=DISPUTE_STATES, outcomes=DISPUTE_OUTCOMES, outcome_codes=OUTCOMES,
        party=party_name(db(), dispute),
        access_at=dt.datetime.fromisoformat(str(dispute.access.get("at"))),
        may_close=inbox and signed_in().role == Role.DPO,
    )  # fmt: skip


# -- the citizen ----------------------------------------------------------------------------------


@bp.get("")
@login_required(Role.CITIZEN)
def index() -> str:
    """The citizen's disputes and where each stands."""
    rows = citizen_disputes(db(), account=signed_in())
    return render_template("disputes.html", rows=rows, states=DISPUTE_STATES, line=access_line)


@bp.get("/new")
@login_required(Role.CITIZEN)
def new() -> str:
    """The form: which line, and what the citizen did not expect."""
    seq = whole_number(request.args.get("event"), high=MAX_SEQ)
    if seq is None:
        abort(404)
    return render_template("dispute_new.html", event_seq=seq)


@bp.post("/new")
@login_required(Role.CITIZEN)
def create() -> Response:
    """Open the dispute; the organisation or department and the office are told."""
    seq = whole_number(request.form.get("event"), high=MAX_SEQ)
    if seq is None:
        raise InvalidRequest("No line.", code="dispute_line_not_found")
    dispute = open_dispute(
        db(), account=signed_in(), event_seq=seq, note=request.form.get("note", ""), now=now()
    )
    flash(_("Your dispute was sent. You will see each answer here."))
    return redirect(url_for(".detail", dispute_id=str(dispute.id)), code=303)


@bp.get("/<uuid:dispute_id>")
@login_required(Role.CITIZEN)
def detail(dispute_id: uuid.UUID) -> str:
    """One dispute's timeline, and the form to add to it while it is open."""
    return _page(
        citizen_dispute(db(), account=signed_in(), dispute_id=dispute_id), inbox=False
    )


@bp.post("/<uuid:dispute_id>/note")
@login_required(Role.CITIZEN)
def note(dispute_id: uuid.UUID) -> Response:
    """The citizen adds to the timeline."""
    me = signed_in()
    dispute = citizen_dispute(db(), account=me, dispute_id=dispute_id)
    add_note(db(), dispute=dispute, side="citizen", actor=actor_of(me),
             note=request.form.get("note", ""), now=now())  # fmt: skip
    return redirect(url_for(".detail", dispute_id=dispute_id), code=303)


# -- those who answer -----------------------------------------------------------------------------


def _party() -> tuple[str | None, str | None]:
    """Whose disputes this account answers: its organisation's, its department's, or (the
    office) every one."""
    me = signed_in()
    if me.role == Role.DPO:
        return None, None
    if not me.affiliation:
        abort(403)
    return ("organisation" if me.role == Role.VERIFIER else "department"), me.affiliation


def _side() -> str:
    return "office" if signed_in().role == Role.DPO else "party"


@bp.get("/inbox")
@login_required(*ANSWERING)
def inbox() -> str:
    """Disputes to answer, open ones first."""
    kind, code = _party()
    rows = party_disputes(db(), kind=kind, code=code)
    return render_template("disputes_inbox.html", rows=rows, states=DISPUTE_STATES,
                           line=access_line)  # fmt: skip


@bp.get("/inbox/<uuid:dispute_id>")
@login_required(*ANSWERING)
def inbox_detail(dispute_id: uuid.UUID) -> str:
    """One dispute, with the answer form (and, for the office, the closing form)."""
    kind, code = _party()
    return _page(party_dispute(db(), kind=kind, code=code, dispute_id=dispute_id),
                 inbox=True)  # fmt: skip


@bp.post("/inbox/<uuid:dispute_id>/answer")
@login_required(*ANSWERING)
def answer(dispute_id: uuid.UUID) -> Response:
    """Answer on the timeline; the citizen is told."""
    kind, code = _party()
    dispute = party_dispute(db(), kind=kind, code=code, dispute_id=dispute_id)
    me = signed_in()
    add_note(db(), dispute=dispute, side=_side(), actor=actor_of(me),
             note=request.form.get("note", ""), now=now())  # fmt: skip
    flash(_("Your answer was added; the citizen is told."))
    return redirect(url_for(".inbox_detail", dispute_id=dispute_id), code=303)


@bp.post("/inbox/<uuid:dispute_id>/close")
@login_required(Role.DPO)
def close(dispute_id: uuid.UUID) -> Response:
    """The office closes the dispute with its outcome and reasons."""
    dispute = party_dispute(db(), kind=None, code=None, dispute_id=dispute_id)
    close_dispute(db(), dispute=dispute, actor=actor_of(signed_in()),
                  outcome=request.form.get("outcome", ""), note=request.form.get("note", ""),
                  now=now())  # fmt: skip
    flash(_("The dispute was closed; the citizen is told."))
    return redirect(url_for(".inbox_detail", dispute_id=dispute_id), code=303)

"""The citizen's activity list: every event in the ledger about them, newest first, with
filters (who, what, when), export (JSON, CSV) and inclusion proofs for the browser's check."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, render_template, request, stream_with_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from audit import AuditEvent, EventTag, list_events, own_events, record_event, tally
from audit.actors import Actor
from audit.errors import AuditError
from audit.ledger import head_json, inclusion_proofs, publish_tree_head
from audit.service import MAX_SEQ
from identity.models import Account, Role
from web.activity_lines import describe
from web.context import db, login_required, now, runtime, signed_in
from web.inputs import joined_date, whole_number

bp = Blueprint("activity", __name__)

PAGE = 50
EXPORT_BATCH = 1000
MAX_PROOFS = 100

WHO = {
    "you": _l("You"),
    "organisation": _l("Organisations"),
    "link": _l("Link holders"),
    "department": _l("Departments"),
    "anonymous": _l("Public verification"),
    "system": _l("The system"),
}
WHAT = {
    "account": _l("Sign-ins and security"),
    "vault": _l("Documents"),
    "certificate": _l("Certificates"),
    "consent": _l("Consents and sharing"),
}


def _actor_prefix(who: str, account: Account) -> str | None:
    return {
        "you": str(Actor.account(account.id)),
        "organisation": "organisation:",
        "link": "link",
        "department": "department:",
        "anonymous": "anonymous",
        "system": "system",
    }.get(who)


def _date(name: str) -> dt.date | None:
    raw = joined_date(request.args, name)
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise AuditError(
            _("That is not a date: write the day, month and year in numbers.")
        ) from None


def _filters(account: Account) -> dict[str, Any]:
    """The list_events arguments the request's who/what/from/to ask for."""
    who = request.args.get("who", "")
    what = request.args.get("what", "")
    since, until = _date("from"), _date("to")
    return {
        "subject_id": account.id,
        "actor_prefix": _actor_prefix(who, account),
        "tag_prefix": f"{what}:" if what in WHAT else None,
        "since": dt.datetime.combine(since, dt.time(), dt.UTC) if since else None,
        "until": dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), dt.UTC)
        if until
        else None,
    }


def _filtered(account: Account, *, limit: int, before: int | None = None) -> list[AuditEvent]:
    return list(list_events(db(), limit=limit, before_seq=before, **_filters(account)))


@bp.get("/activity")
@login_required()
def activity() -> str:
    """Events about the signed-in person, newest first, 50 a page, filtered by who/what/when."""
    account = signed_in()
    before = request.args.get("before", type=int)
    events = _filtered(account, limit=PAGE + 1, before=before)
    more = len(events) > PAGE
    events = events[:PAGE]
    times = _times(events)
    filters = {k: request.args.get(k, "") for k in ("who", "what")}
    filters |= {k: joined_date(request.args, k) for k in ("from", "to")}
    return render_template(
        "activity.html",
        events=[(e, describe(e), times.get(e.seq, 1)) for e in events],
        next_before=events[-1].seq if more and events else None,
        filters=filters,
        who_options=WHO,
        what_options=WHAT,
        # Citizens may dispute what others did (not their own doings).
        own_actor=str(Actor.account(account.id)) if account.role == Role.CITIZEN else None,
    )


def _times(events: list[AuditEvent]) -> dict[int, int]:
    """How often each folded event happened that day (audit.tally), by event number."""
    keyed = {
        e.seq: (str(e.details["tally"]), tally.day_of(e.occurred_at))
        for e in events
        if isinstance(e.details, dict) and e.details.get("tally")
    }
    found = tally.counts(db(), wanted=keyed.values())
    return {seq: found.get(pair, 1) for seq, pair in keyed.items()}


def _export_row(e: AuditEvent) -> dict[str, Any]:
    return {
        "event": e.seq,
        "time": e.occurred_at.isoformat(),
        "what": e.tag,
        "who": e.actor,
        "description": describe(e),
        "object_type": e.object_type,
        "object_id": e.object_id,
        "details": e.details,
        "hash": e.hash.hex(),
    }


_COLUMNS = [
    "event",
    "time",
    "what",
    "who",
    "description",
    "object_type",
    "object_id",
    "details",
    "hash",
]


def _export_batches(filters: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
    """The filtered events in batches, newest first, each read in a short transaction of its own
    (constant memory, and no lock held while the reader's connection is slow)."""
    before: int | None = None
    while True:
        with runtime().sessions() as s:
            batch = list(list_events(s, limit=EXPORT_BATCH, before_seq=before, **filters))
            rows = [_export_row(e) for e in batch]
        if not rows:
            return
        yield rows
        before = batch[-1].seq


def _json_stream(filters: dict[str, Any]) -> Iterator[str]:
    yield '{"events": ['
    first = True
    for rows in _export_batches(filters):
        for row in rows:
            yield ("" if first else ",") + "\n" + json.dumps(row, ensure_ascii=False)
            first = False
    yield "\n]}\n"


def _csv_stream(filters: dict[str, Any]) -> Iterator[str]:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=_COLUMNS)
    writer.writeheader()
    # A BOM so that spreadsheet programs read the Urdu text as UTF-8.
    yield "\ufeff" + out.getvalue()
    for rows in _export_batches(filters):
        out.seek(0)
        out.truncate()
        for row in rows:
            writer.writerow({**row, "details": json.dumps(row["details"], ensure_ascii=False)})
        yield out.getvalue()


@bp.get("/activity/export.<fmt>")
@login_required()
def export(fmt: str) -> Response:
    """The (filtered) activity as JSON or CSV, streamed; the export itself is recorded."""
    if fmt not in ("json", "csv"):
        raise AuditError(_("Export as JSON or CSV."))
    account = signed_in()
    filters = _filters(account)
    record_event(
        db(),
        tag=EventTag.ACTIVITY_EXPORTED,
        actor=Actor.account(account.id),
        subject_id=account.id,
        details={"format": fmt},
        now=now(),
    )
    stamp = now().strftime("%Y%m%d")
    body = _json_stream(filters) if fmt == "json" else _csv_stream(filters)
    mimetype = "application/json" if fmt == "json" else "text/csv"
    response = Response(stream_with_context(body), mimetype=mimetype)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="amanat-activity-{stamp}.{fmt}"'
    )
    return response


@bp.get("/activity/proofs")
@login_required()
def proofs() -> Response:
    """Inclusion proofs of the citizen's own events under a freshly signed tree head."""
    account = signed_in()
    wanted = (whole_number(v, high=MAX_SEQ) for v in request.args.getlist("event"))
    seqs = sorted({seq for seq in wanted if seq is not None})[:MAX_PROOFS]
    own = own_events(db(), subject_id=account.id, seqs=seqs)
    if not seqs or own != set(seqs):
        raise AuditError(_("You can only ask for proofs of your own events."))
    head = publish_tree_head(db(), keystore=runtime().keystore, now=now())
    return Response(
        json.dumps(
            {
                "tree_head": head_json(db(), head, keystore=runtime().keystore),
                "proofs": inclusion_proofs(db(), seqs=seqs, head=head),
            }
        ),
        mimetype="application/json",
    )

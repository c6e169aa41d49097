"""The citizen's activity list: every event in the ledger about them, newest first, with
filters (who, what, when), export (JSON, CSV) and inclusion proofs for the browser's check."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.wrappers import Response

from audit import AuditEvent, EventTag, list_events, record_event
from audit.errors import AuditError
from audit.ledger import head_json, inclusion_proofs, publish_tree_head
from audit.service import MAX_SEQ
from identity.models import Account
from web.app import current_account, db, login_required, now, runtime

bp = Blueprint("activity", __name__)

PAGE = 50
EXPORT_LIMIT = 100_000
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
METHODS = {
    "passkey": _l("passkey"),
    "password": _l("password"),
    "recovery": _l("recovery code"),
}


def describe(event: AuditEvent) -> str:
    """One plain-language line for an event."""
    d: dict[str, Any] = event.details or {}
    title = d.get("title", "")
    method = str(METHODS.get(d.get("method", ""), d.get("method", "")))
    lines = {
        EventTag.ACCOUNT_CREATED: _("Your account was created."),
        EventTag.ACCOUNT_SIGNED_IN: _("You signed in (%(method)s).", method=method),
        EventTag.ACCOUNT_SIGN_IN_FAILED: _(
            "A sign-in to your account failed (%(method)s).", method=method
        ),
        EventTag.ACCOUNT_SIGNED_OUT: _("You signed out."),
        EventTag.ACCOUNT_SESSION_ENDED: _("You ended a session on another device."),
        EventTag.ACCOUNT_PASSKEY_ADDED: _(
            "Passkey \u201c%(name)s\u201d was added.", name=d.get("name", "")
        ),
        EventTag.ACCOUNT_PASSKEY_RENAMED: _(
            "A passkey was renamed to \u201c%(name)s\u201d.", name=d.get("name", "")
        ),
        EventTag.ACCOUNT_PASSKEY_REMOVED: _(
            "Passkey \u201c%(name)s\u201d was removed.", name=d.get("name", "")
        ),
        EventTag.ACCOUNT_PASSWORD_SET: _("Your password was set."),
        EventTag.ACCOUNT_PASSWORD_REMOVED: _("Your password was removed."),
        EventTag.ACCOUNT_RECOVERY_CODES_CREATED: _("New recovery codes were created."),
        EventTag.ACCOUNT_RECOVERY_CODE_USED: _("A recovery code was used to sign in."),
        EventTag.VAULT_DOCUMENT_UPLOADED: _("You uploaded \u201c%(title)s\u201d.", title=title),
        EventTag.VAULT_DOCUMENT_VERSION_ADDED: _(
            "You uploaded a new version of \u201c%(title)s\u201d.", title=title
        ),
        EventTag.VAULT_DOCUMENT_VIEWED: _("You viewed \u201c%(title)s\u201d.", title=title),
        EventTag.VAULT_DOCUMENT_DOWNLOADED: _("You downloaded \u201c%(title)s\u201d.", title=title),
        EventTag.VAULT_DOCUMENT_RENAMED: _(
            "You renamed \u201c%(old)s\u201d to \u201c%(new)s\u201d.",
            old=d.get("from", ""),
            new=d.get("to", ""),
        ),
        EventTag.VAULT_DOCUMENT_DELETED: _("You deleted \u201c%(title)s\u201d.", title=title),
    }
    if event.actor.startswith("department:"):
        by_department = {
            EventTag.VAULT_DOCUMENT_UPLOADED: _(
                "\u201c%(title)s\u201d was issued into your vault.", title=title
            ),
            EventTag.VAULT_DOCUMENT_DOWNLOADED: _(
                "The issuing department downloaded \u201c%(title)s\u201d.", title=title
            ),
            EventTag.CERTIFICATE_ISSUED: _(
                "%(department)s issued your %(title)s (serial %(serial)s).",
                department=d.get("department", ""),
                title=title,
                serial=d.get("serial", ""),
            ),
        }
        lines.update(by_department)
    lines[EventTag.CERTIFICATE_VERIFIED] = _(
        "Someone checked your %(title)s (serial %(serial)s) on the public verification service.",
        title=title,
        serial=d.get("serial", ""),
    )
    lines[EventTag.CERTIFICATE_REVOKED] = _(
        "Your %(title)s (serial %(serial)s) was revoked: %(reason)s",
        title=title,
        serial=d.get("serial", ""),
        reason=d.get("reason", ""),
    )
    who = str(d.get("recipient") or _("someone"))
    if event.actor == "link":
        who = str(_("Someone with your link"))
    purpose = d.get("purpose", "")
    reasons = {
        "withdrawn": _("you had withdrawn the consent"),
        "expired": _("the consent had expired"),
        "exhausted": _("the allowed number of downloads was used"),
        "other-recipient": _("the consent is not for them"),
        "bad-link-secret": _("the link was wrong"),
        "out-of-scope": _("that document is not part of the consent"),
        "api-key-refused": _("their API key was not accepted"),
        "document-gone": _("you had deleted the document"),
    }
    reason = str(reasons.get(d.get("reason", ""), d.get("reason", "")))
    lines.update(
        {
            EventTag.CONSENT_GRANTED: _(
                "You consented to share documents with %(who)s for \u201c%(purpose)s\u201d.",
                who=who,
                purpose=purpose,
            ),
            EventTag.CONSENT_USED: _(
                "%(who)s downloaded your %(title)s for \u201c%(purpose)s\u201d.",
                who=who,
                title=title,
                purpose=purpose,
            ),
            EventTag.SHARE_LISTED: _(
                "%(who)s looked at the list of documents you shared for \u201c%(purpose)s\u201d.",
                who=who,
                purpose=purpose,
            ),
            EventTag.CONSENT_WITHDRAWN: _(
                "You withdrew your consent for %(who)s (\u201c%(purpose)s\u201d).",
                who=who,
                purpose=purpose,
            ),
            EventTag.CONSENT_EXPIRED: _(
                "Your consent for %(who)s (\u201c%(purpose)s\u201d) ended: %(reason)s.",
                who=who,
                purpose=purpose,
                reason=reason,
            ),
            EventTag.CONSENT_ACCESS_REFUSED: _(
                "%(who)s tried to fetch your documents and was refused: %(reason)s.",
                who=who,
                reason=reason,
            ),
            EventTag.ACTIVITY_EXPORTED: _(
                "You exported your activity (%(format)s).", format=d.get("format", "")
            ),
        }
    )
    if event.actor.startswith("organisation:") and event.tag == EventTag.CERTIFICATE_VERIFIED:
        lines[EventTag.CERTIFICATE_VERIFIED] = _(
            "%(who)s checked your %(title)s (serial %(serial)s).",
            who=str(d.get("organisation") or who),
            title=title,
            serial=d.get("serial", ""),
        )
    try:
        return str(lines.get(EventTag(event.tag), event.tag))
    except ValueError:
        return event.tag


def _actor_prefix(who: str, account: Account) -> str | None:
    return {
        "you": f"account:{account.id}",
        "organisation": "organisation:",
        "link": "link",
        "department": "department:",
        "anonymous": "anonymous",
        "system": "system",
    }.get(who)


def _date(name: str) -> dt.date | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise AuditError(_("Dates are written YYYY-MM-DD.")) from None


def _filtered(account: Account, *, limit: int, before: int | None = None) -> list[AuditEvent]:
    who = request.args.get("who", "")
    what = request.args.get("what", "")
    since, until = _date("from"), _date("to")
    return list(
        list_events(
            db(),
            subject_id=account.id,
            limit=limit,
            before_seq=before,
            actor_prefix=_actor_prefix(who, account),
            tag_prefix=f"{what}:" if what in WHAT else None,
            since=dt.datetime.combine(since, dt.time(), dt.UTC) if since else None,
            until=dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), dt.UTC)
            if until
            else None,
        )
    )


def _me() -> Account:
    account = current_account()
    assert account is not None
    return account


@bp.get("/activity")
@login_required()
def activity() -> str:
    """Events about the signed-in person, newest first, 50 a page, filtered by who/what/when."""
    account = _me()
    before = request.args.get("before", type=int)
    events = _filtered(account, limit=PAGE + 1, before=before)
    more = len(events) > PAGE
    events = events[:PAGE]
    filters = {k: request.args.get(k, "") for k in ("who", "what", "from", "to")}
    return render_template(
        "activity.html",
        events=[(e, describe(e)) for e in events],
        next_before=events[-1].seq if more and events else None,
        filters=filters,
        who_options=WHO,
        what_options=WHAT,
    )


def _export_rows(events: list[AuditEvent]) -> list[dict[str, Any]]:
    return [
        {
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
        for e in events
    ]


@bp.get("/activity/export.<fmt>")
@login_required()
def export(fmt: str) -> Response:
    """The (filtered) activity as JSON or CSV; the export itself is recorded."""
    if fmt not in ("json", "csv"):
        raise AuditError(_("Export as JSON or CSV."))
    account = _me()
    rows = _export_rows(_filtered(account, limit=EXPORT_LIMIT))
    record_event(
        db(),
        tag=EventTag.ACTIVITY_EXPORTED,
        actor=f"account:{account.id}",
        subject_id=account.id,
        details={"format": fmt, "events": len(rows)},
        now=now(),
    )
    stamp = now().strftime("%Y%m%d")
    if fmt == "json":
        body = json.dumps({"events": rows}, ensure_ascii=False, indent=1)
        response = Response(body, mimetype="application/json")
    else:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else ["event"])
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "details": json.dumps(row["details"], ensure_ascii=False)})
        # A BOM so that spreadsheet programs read the Urdu text as UTF-8.
        response = Response("\ufeff" + out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="amanat-activity-{stamp}.{fmt}"'
    )
    return response


@bp.get("/activity/proofs")
@login_required()
def proofs() -> Response:
    """Inclusion proofs of the citizen's own events under a freshly signed tree head."""
    account = _me()
    seqs = sorted(
        {int(v) for v in request.args.getlist("event") if v.isdigit() and int(v) <= MAX_SEQ}
    )[:MAX_PROOFS]
    own = set(
        db().scalars(
            select(AuditEvent.seq).where(
                AuditEvent.subject_id == account.id, AuditEvent.seq.in_(seqs)
            )
        )
    )
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

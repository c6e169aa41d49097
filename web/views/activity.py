"""The citizen's activity list: every event in the ledger about them, newest first."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from audit import AuditEvent, EventTag, list_events
from web.app import current_account, db, login_required

bp = Blueprint("activity", __name__)

PAGE = 50
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
    try:
        return str(lines.get(EventTag(event.tag), event.tag))
    except ValueError:
        return event.tag


@bp.get("/activity")
@login_required()
def activity() -> str:
    """Events about the signed-in person, newest first, 50 a page."""
    account = current_account()
    assert account is not None
    before = request.args.get("before", type=int)
    events = list_events(db(), subject_id=account.id, limit=PAGE + 1, before_seq=before)
    more = len(events) > PAGE
    events = events[:PAGE]
    return render_template(
        "activity.html",
        events=[(e, describe(e)) for e in events],
        next_before=events[-1].seq if more and events else None,
    )

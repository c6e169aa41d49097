"""One plain-language line per ledger event, in the reader's language (the activity page, the
consent pages and the exports all say the same thing)."""

from __future__ import annotations

from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from audit import AuditEvent, EventTag
from audit.actors import Actor
from signing.archive import ACTOR as ARCHIVE_ACTOR
from signing.types import certificate_types
from vault.erasure import ERASURE_ACTOR
from vault.shares import LINK_RECIPIENT
from web.bidi import isolate
from web.messages import DISPUTE_OUTCOMES, KIND_LABELS, document_title, pick

METHODS = {
    "passkey": _l("passkey"),
    "password": _l("password"),
    "recovery": _l("recovery code"),
}


Lines = dict[EventTag, Any]


def as_html(line: str) -> Markup:
    """A line for a page: escaped, with each serial kept whole and left to right inside the
    sentence (in Urdu a serial broke at its hyphens: 'GZF9-' / 'Z1TP-0Y0M'), and each English
    name or title inside an Urdu line marked as English (web.bidi)."""
    return isolate(line)


def _account(event: AuditEvent, d: dict[str, Any]) -> Lines:
    method = str(METHODS.get(d.get("method", ""), d.get("method", "")))
    name = d.get("name", "")
    return {
        EventTag.ACCOUNT_CREATED: _("Your account was created."),
        EventTag.ACCOUNT_SIGNED_IN: (
            _("You signed in (%(method)s) on a device not used before.", method=method)
            if d.get("new_device")
            else _("You signed in (%(method)s).", method=method)
        ),
        EventTag.ACCOUNT_SIGN_IN_FAILED: _(
            "A sign-in to your account failed (%(method)s).", method=method
        ),
        EventTag.ACCOUNT_REGISTRATION_REFUSED: _(
            "Someone tried to register a new account with your CNIC; nothing was made. If it was"
            " you, you already have this account."
        ),
        EventTag.ACCOUNT_SIGNED_OUT: _("You signed out."),
        EventTag.ACCOUNT_SESSION_ENDED: _("You ended a session on another device."),
        EventTag.ACCOUNT_PASSKEY_ADDED: _("Passkey \u201c%(name)s\u201d was added.", name=name),
        EventTag.ACCOUNT_PASSKEY_RENAMED: _(
            "A passkey was renamed to \u201c%(name)s\u201d.", name=name
        ),
        EventTag.ACCOUNT_PASSKEY_REMOVED: _("Passkey \u201c%(name)s\u201d was removed.", name=name),
        EventTag.ACCOUNT_PASSWORD_SET: _("Your password was set."),
        EventTag.ACCOUNT_PASSWORD_REMOVED: _("Your password was removed."),
        EventTag.ACCOUNT_RECOVERY_CODES_CREATED: _("New recovery codes were created."),
        EventTag.ACCOUNT_RECOVERY_CODE_USED: _("A recovery code was used to sign in."),
        EventTag.ACCOUNT_NOTICES_CHANGED: _notices_line(d),
        EventTag.ACCOUNT_RECOVERY_STARTED: _(
            "A recovery of your account was started at a service centre by %(officer)s, after a"
            " check of a CNIC card. If this was not you, refuse it on the Security page.",
            officer=d.get("officer", ""),
        ),
        EventTag.ACCOUNT_RECOVERY_REFUSED: _(
            "You refused the recovery started by %(officer)s: its link will never work.",
            officer=d.get("officer", ""),
        ),
        EventTag.ACCOUNT_RECOVERY_COMPLETED: _(
            "A new passkey \u201c%(name)s\u201d was added with the recovery link from the"
            " service centre (%(officer)s); every other session was ended.",
            name=d.get("passkey", ""),
            officer=d.get("officer", ""),
        ),
        EventTag.ACCOUNT_ERASURE_REQUESTED: _(
            "You asked for your account to be closed and everything in it erased. Until the day"
            " comes you can call it off with your passkey (Security, Close my account)."
        ),
        EventTag.ACCOUNT_ERASURE_CANCELLED: _(
            "You called off closing your account: nothing will be erased."
        ),
        EventTag.ACCOUNT_ERASED: _("An account was closed and everything in it erased."),
    }


def _notices_line(d: dict[str, Any]) -> str:
    channels = set(d.get("channels") or [])
    if channels == {"email", "sms"}:
        return str(_("You chose to be told of new activity by e-mail and SMS."))
    if channels == {"email"}:
        return str(_("You chose to be told of new activity by e-mail."))
    if channels == {"sms"}:
        return str(_("You chose to be told of new activity by SMS."))
    return str(_("You chose not to be told of new activity."))


def _by_issuer(event: AuditEvent) -> bool:
    # An issued certificate is recorded by whoever issued it (the department, an officer's account,
    # the operator's command line): never "you".
    by_you = Actor(event.actor).is_account(event.subject_id)
    return not by_you and event.actor.startswith(("department:", "account:", "operator"))


def _vault(event: AuditEvent, d: dict[str, Any]) -> Lines:
    title = certificate_title(d)
    lines: Lines = {
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
        EventTag.VAULT_EXPORTED: _(
            "You downloaded everything in your vault (%(n)s documents).",
            n=d.get("documents", 0),
        ),
    }
    if event.actor == ARCHIVE_ACTOR:
        lines[EventTag.VAULT_DOCUMENT_VERSION_ADDED] = _(
            "\u201c%(title)s\u201d was renewed with a new archive time-stamp, so that it stays"
            " verifiable for years to come; copies you handed out before stay genuine.",
            title=certificate_title(d) or title,
        )
    if _by_issuer(event):
        lines[EventTag.VAULT_DOCUMENT_UPLOADED] = _(
            "\u201c%(title)s\u201d was issued into your vault.", title=title
        )
        lines[EventTag.VAULT_DOCUMENT_DOWNLOADED] = _(
            "The issuing department downloaded \u201c%(title)s\u201d.", title=title
        )
    return lines


def certificate_title(d: dict[str, Any]) -> str:
    """The certificate type an event names, in the reader's language: the type's Urdu title
    for an Urdu reader when the event records its type, else the title it recorded."""
    ctype = certificate_types().get(str(d.get("type", "")))
    locale = get_locale()
    if ctype is not None and ctype.title_ur and locale is not None and locale.language == "ur":
        return ctype.title_ur
    return document_title(d.get("title", ""))



def _certificate(event: AuditEvent, d: dict[str, Any]) -> Lines:
    title, serial = certificate_title(d), d.get("serial", "")
    if event.actor.startswith("organisation:"):
        verified = _(
            "%(who)s checked your %(title)s (serial %(serial)s).",
            who=str(pick(d.get("organisation"), d.get("organisation_ur")) or _who(event, d)),
            title=title,
            serial=serial,
        )
    else:
        verified = _(
            "Someone checked your %(title)s (serial %(serial)s) on the public verification"
            " service.",
            title=title,
            serial=serial,
        )
    return {
        EventTag.CERTIFICATE_ISSUED: _(
            "%(department)s issued your %(title)s (serial %(serial)s).",
            department=pick(d.get("department", ""), d.get("department_ur")),
            title=title,
            serial=serial,
        ),
        EventTag.CERTIFICATE_VERIFIED: verified,
        EventTag.CERTIFICATE_HOLDER_CHECKED: _(
            "An officer of %(department)s looked up the name registered for your CNIC, to issue"
            " you a certificate.",
            department=pick(d.get("department", ""), d.get("department_ur")),
        ),
        EventTag.CERTIFICATE_REVOKED: _(
            "Your %(title)s (serial %(serial)s) was revoked: %(reason)s",
            title=title,
            serial=serial,
            reason=d.get("reason", ""),
        ),
    }


def _who(event: AuditEvent, d: dict[str, Any]) -> str:
    if event.actor == "link":
        return str(_("Someone with your link"))
    # Events from before recipient_type named a link grant's recipient in English words.
    if d.get("recipient_type") == "link" or d.get("recipient") == LINK_RECIPIENT:
        return str(_("anyone with the link"))
    return str(pick(d.get("recipient"), d.get("recipient_ur")) or _("someone"))


def _refusal(code: str) -> str:
    reasons = {
        "withdrawn": _("you had withdrawn the consent"),
        "expired": _("the consent had expired"),
        "exhausted": _("the allowed number of downloads was used"),
        "other-recipient": _("the consent is not for them"),
        "bad-link-secret": _("the link was wrong"),
        "out-of-scope": _("that document is not part of the consent"),
        "closed": _("the application it was given for was decided"),
        "api-key-refused": _("their API key was not accepted"),
        "document-gone": _("you had deleted the document"),
    }
    return str(reasons.get(code, code))


def _consent(event: AuditEvent, d: dict[str, Any]) -> Lines:
    who, purpose, title = _who(event, d), d.get("purpose", ""), document_title(d.get("title"))
    return {
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
            reason=_refusal(d.get("reason", "")),
        ),
        EventTag.CONSENT_ACCESS_REFUSED: _(
            "%(who)s tried to fetch your documents and was refused: %(reason)s.",
            who=who,
            reason=_refusal(d.get("reason", "")),
        ),
    }


def _asked(d: dict[str, Any]) -> str:
    """What a request asked for, in the reader's language ("Domicile Certificate, ID card")."""
    types = certificate_types()
    urdu = (locale := get_locale()) is not None and locale.language == "ur"
    names = [
        (types[c].title_ur if urdu and types[c].title_ur else types[c].title_en)
        if c in types
        else str(c)
        for c in d.get("types") or []
    ]
    names += [str(KIND_LABELS.get(k, k)) for k in d.get("kinds") or []]
    return "، ".join(names) if urdu else ", ".join(names)


def _request(event: AuditEvent, d: dict[str, Any]) -> Lines:
    urdu = (locale := get_locale()) is not None and locale.language == "ur"
    who = str((d.get("organisation_ur") if urdu else None) or d.get("organisation") or _("someone"))
    purpose, asked = d.get("purpose", ""), _asked(d)
    return {
        EventTag.REQUEST_CREATED: _(
            "%(who)s made a request for documents.", who=who
        ),
        EventTag.REQUEST_RECEIVED: _(
            "%(who)s asked for your %(asked)s for \u201c%(purpose)s\u201d.",
            who=who, asked=asked, purpose=purpose,
        ),
        EventTag.REQUEST_APPROVED: _(
            "You approved %(who)s's request for \u201c%(purpose)s\u201d and shared %(n)s"
            " documents.",
            who=who, purpose=purpose, n=len(d.get("documents") or []),
        ),
        EventTag.REQUEST_DECLINED: _(
            "You declined %(who)s's request for \u201c%(purpose)s\u201d.", who=who,
            purpose=purpose,
        ),
        EventTag.REQUEST_EXPIRED: _(
            "%(who)s's request for \u201c%(purpose)s\u201d expired without an answer.",
            who=who, purpose=purpose,
        ),
    }  # fmt: skip


def _application(event: AuditEvent, d: dict[str, Any]) -> Lines:
    urdu = (locale := get_locale()) is not None and locale.language == "ur"
    dept = str((d.get("department_ur") if urdu else None) or d.get("department") or "")
    title, note, serial = certificate_title(d), d.get("note", ""), d.get("serial", "")
    return {
        EventTag.APPLICATION_SUBMITTED: _(
            "You applied to %(department)s for a %(title)s.", department=dept, title=title
        ),
        EventTag.APPLICATION_IN_REVIEW: _(
            "%(department)s began reviewing your application for a %(title)s.",
            department=dept, title=title,
        ),
        EventTag.APPLICATION_INFO_REQUESTED: _(
            "%(department)s asked for more information on your application for a %(title)s:"
            " \u201c%(note)s\u201d", department=dept, title=title, note=note,
        ),
        EventTag.APPLICATION_ANSWERED: _(
            "You answered %(department)s about your application for a %(title)s.",
            department=dept, title=title,
        ),
        EventTag.APPLICATION_ISSUED: _(
            "%(department)s approved your application: your %(title)s (serial %(serial)s) is in"
            " your vault.", department=dept, title=title, serial=serial,
        ),
        EventTag.APPLICATION_REJECTED: _(
            "%(department)s rejected your application for a %(title)s: \u201c%(note)s\u201d",
            department=dept, title=title, note=note,
        ),
    }  # fmt: skip


def _dispute(event: AuditEvent, d: dict[str, Any]) -> Lines:
    party = str(d.get("party") or "")
    answered = (
        _("The data-protection office answered your dispute about %(party)s.", party=party)
        if d.get("side") == "office"
        else _("%(party)s answered your dispute.", party=party)
    )
    outcome = DISPUTE_OUTCOMES.get(str(d.get("outcome", "")), d.get("outcome", ""))
    return {
        EventTag.DISPUTE_OPENED: _("You disputed something %(party)s did.", party=party),
        EventTag.DISPUTE_ANSWERED: answered,
        EventTag.DISPUTE_CLOSED: _(
            "The data-protection office closed your dispute about %(party)s: %(outcome)s.",
            party=party, outcome=str(outcome),
        ),
    }  # fmt: skip


def _activity(event: AuditEvent, d: dict[str, Any]) -> Lines:
    return {
        EventTag.ACTIVITY_EXPORTED: _(
            "You exported your activity (%(format)s).", format=d.get("format", "")
        ),
    }


# Each area words only its own events (a page of 50 lines no longer translates every sentence
# of every area for each line).
def _emergency(event: AuditEvent, d: dict[str, Any]) -> Lines:
    who, days = d.get("contact", ""), d.get("days", 0)
    if event.actor == ERASURE_ACTOR:
        return {EventTag.EMERGENCY_CONTACT_REMOVED: _(
            "The account of your trusted contact %(who)s was closed: they can no longer ask for"
            " access.", who=who)}  # fmt: skip
    return {
        EventTag.EMERGENCY_CONTACT_SET: _(
            "You named %(who)s as your trusted contact for %(n)s documents: if they ask and you"
            " do not refuse within %(days)s days, they can read them.",
            who=who, n=d.get("documents", 0), days=days,
        ),
        EventTag.EMERGENCY_CONTACT_REMOVED: _(
            "You stopped trusting %(who)s: they can no longer ask for access.", who=who
        ),
        EventTag.EMERGENCY_ACCESS_REQUESTED: _(
            "%(who)s asked for emergency access to your documents. Unless you refuse within"
            " %(days)s days (Security, Emergency access), they can read the documents you chose.",
            who=who, days=days,
        ),
        EventTag.EMERGENCY_ACCESS_REFUSED: _(
            "You refused %(who)s emergency access: they get nothing.", who=who
        ),
        EventTag.EMERGENCY_DOCUMENT_READ: _(
            "%(who)s read \u201c%(title)s\u201d under emergency access.",
            who=who, title=d.get("title", ""),
        ),
    }  # fmt: skip


_AREAS = {
    "account": _account,
    "emergency": _emergency,
    "vault": _vault,
    "certificate": _certificate,
    "consent": _consent,
    "activity": _activity,
    "request": _request,
    "application": _application,
    "dispute": _dispute,
}


def describe(event: AuditEvent) -> str:
    """One plain-language line for an event."""
    line = None
    try:
        tag = EventTag(event.tag)
    except ValueError:
        tag = None
    if tag is not None:
        area = _AREAS.get(tag.value.split(":", 1)[0])
        if area is not None:
            line = area(event, event.details or {}).get(tag)
    # Never a raw tag on a page: an event this version cannot describe still gets a sentence.
    return str(line) if line is not None else str(_("An event was recorded in your ledger."))

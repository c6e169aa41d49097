"""The words for the codes the domain speaks in: every verdict reason, in the reader's language.

Below ``web`` a reason is a code with parameters (:class:`verification.Reason`); here each code has
its English text, translated through the catalogue (web/translations) like every other string on a
page. Pages, the JSON API (``{"code": ..., "text": ...}``), the report PDF and the command line all
use :func:`reason_text`. A test fails when a code the domain can produce has no entry here, or an
entry here is never produced.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Mapping
from typing import Any

from flask import current_app, has_app_context
from flask_babel import format_timedelta, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from amanat.errors import AmanatError
from signing.types import certificate_types
from signing.webhooks import MAX_URL
from vault.uploads import DocumentKind
from verification import Reason

REASONS: dict[str, Any] = {
    # PDF verdicts (verification/pdf.py)
    "pdf_uncheckable": _l(
        "The file could not be checked: it is damaged or not a normal PDF (%(error)s)."
    ),
    "pdf_empty": _l("The file is empty."),
    "pdf_too_large": _l("The file is too large to be a certificate."),
    "pdf_not_pdf": _l("This is not a PDF file."),
    "pdf_encrypted": _l("The PDF is encrypted; it cannot be checked without its password."),
    "pdf_unreadable": _l("The file cannot be read as a PDF (%(error)s)."),
    "pdf_unsigned": _l("The document carries no digital signature."),
    "sig_unreadable": _l("Signature %(n)s cannot be read (%(error)s)."),
    "sig_hash_mismatch": _l(
        "Signature %(n)s does not match the document: it was changed after it was signed."
    ),
    "sig_invalid": _l("The value of signature %(n)s is not valid."),
    "pdf_changed_unanalysable": _l(
        "The document was changed after it was signed, in a way that cannot even be analysed."
    ),
    "sig_partial_coverage": _l("Signature %(n)s does not cover the whole document."),
    "pdf_changed": _l("The document was changed after it was signed (%(change)s)."),
    "pdf_certification_violated": _l(
        "The document was changed in a way its certification does not allow."
    ),
    "sig_cert_revoked": _l("The signer's certificate was revoked."),
    "sig_untrusted": _l("Signature %(n)s is not from an authority this service trusts."),
    "timestamp_unreadable": _l("A document timestamp cannot be read (%(error)s)."),
    "timestamp_mismatch": _l("A document timestamp does not match the document."),
    "pdf_all_valid": _l("Every signature is intact, valid and trusted."),
    # QR verdicts offline (verification/qr.py)
    "qr_too_long": _l("The QR content is far too long to be a certificate code."),
    "qr_not_amanat": _l("This is not an Amanat certificate code."),
    "qr_damaged": _l("The certificate code is damaged and cannot be read."),
    "qr_untrusted_signer": _l("The code is not signed by any department this service trusts."),
    "qr_bad_signature": _l("The code's signature is not valid: it was altered or forged."),
    "qr_malformed_content": _l("The code's signed content is malformed."),
    "qr_wrong_department": _l("The code names another department than the one that signed it."),
    "qr_serial_mismatch": _l("The link's serial does not match the signed serial."),
    "qr_expired": _l("The certificate expired on %(date)s."),
    "qr_key_revoked_offline": _l(
        "The department's signing key was revoked since; only the register can say whether this"
        " code was made before that."
    ),
    "qr_genuine_offline": _l(
        "The code is genuine: signed by the department. Revocation was not checked (offline)."
    ),
    "qr_genuine_status_list": _l(
        "The code is genuine and the certificate was not revoked, according to the signed status"
        " list of %(as_of)s (%(hours)s hours old)."
    ),
    "qr_genuine_status_list_recent": _l(
        "The code is genuine and the certificate was not revoked, according to the signed status"
        " list of %(as_of)s."
    ),
    "qr_revoked_status_list": _l(
        "The certificate was revoked, according to the signed status list of %(as_of)s."
    ),
    "qr_status_list_expired": _l(
        "The code is genuine, but the status list of %(as_of)s has expired (%(hours)s hours old):"
        " connect once to check for revocation."
    ),
    "qr_status_unknown": _l(
        "The code is genuine, but the status list of %(as_of)s does not cover this certificate."
    ),
    # The register's rules (signing/check.py)
    "register_unknown_file": _l(
        "The signature is valid, but this file is not a certificate in the register."
    ),
    "register_revoked": _l("The department revoked this certificate on %(date)s: %(reason)s"),
    "register_key_compromised": _l(
        "The department's signing key was revoked and is held compromised from %(at)s; this"
        " certificate was recorded after that."
    ),
    "register_expired": _l("This certificate has expired."),
    "register_unknown_serial": _l("The code is signed, but its serial is not in the register."),
    "register_mismatch": _l("The code does not match the register's record of this certificate."),
    "register_revoked_key_code": _l("The code is signed with a department key that was revoked."),
    "register_qr_valid": _l("The code is genuine and the register lists the certificate as valid."),
}


@functools.lru_cache(maxsize=512)
def _template(code: str, language: str) -> str | None:
    # The catalogue never changes while the process runs: look each code up once per language
    # (a QR check paid a lazy-string evaluation per reason per request).
    template = REASONS.get(code)
    return None if template is None else str(template)


def reason_text(reason: Reason) -> str:
    """A reason in the reader's language (a code this version does not know still reads)."""
    locale = get_locale()
    template = _template(reason.code, str(locale) if locale is not None else "en")
    if template is None:
        return str(_("The check gave the reason %(code)s.", code=reason.code))
    try:
        return template % {k: _reason_param(v) for k, v in reason.args().items()}
    except (KeyError, ValueError, TypeError):
        return template


# Reason parameters are strings (a verdict is plain data); a moment or a day among them is
# written as ISO 8601 below ``web``, and read here as the pages write dates.
_ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _reason_param(value: str) -> str:
    if not has_app_context() or "day" not in current_app.jinja_env.filters:
        return value  # no page around it (a bare app): the ISO form still reads
    if _ISO_MOMENT.match(value):
        return when_text(value)  # the filter reads the ISO string (and leaves a bad one as is)
    if _ISO_DAY.fullmatch(value):
        try:
            # A day (UTC) at its noon: the same day in any time zone within twelve hours.
            noon = dt.datetime.fromisoformat(f"{value}T12:00:00+00:00")
        except ValueError:
            return value
        return str(current_app.jinja_env.filters["day"](noon))
    return value


# Refusals the domain packages raise (amanat.errors.AmanatError ``code`` + ``params``). A test
# fails when a code raised below web has no entry here, or an entry is raised nowhere.
ERRORS: dict[str, Any] = {
    # Uploads (vault/uploads.py, vault/service.py, vault/errors.py)
    "no_file": _l("Please choose a file."),
    "bad_title": _l("A title has at most 200 characters."),
    "too_large": _l("The file is larger than the limit of %(mib)s MiB."),
    "bad_kind": _l("Unknown document kind."),
    "empty": _l("The file is empty."),
    "unsupported_type": _l(
        "This type of file is not accepted. Please upload a PDF, PNG, JPEG, WebP or text file."
    ),
    "issued_document": _l("An issued certificate cannot be replaced."),
    # Department keys (signing/pki.py revoke_department_key)
    "revoke_reason_unknown": _l(
        "Unknown revocation reason. Use an RFC 5280 reason such as key_compromise, superseded"
        " or cessation_of_operation."
    ),
    "revoke_invalid_since_future": _l(
        "The date the key is held compromised from cannot be in the future."
    ),
    "not_issued_document": _l("Only issued certificates are renewed."),
    # Status lists for offline verifiers (verification/status_list.py)
    "status_list_damaged": _l("The status list is damaged and cannot be read."),
    "status_list_untrusted": _l("The status list is not signed by this deployment."),
    "offline_root_changed": _l(
        "%(site)s now answers with another root than the one kept here: the lists kept are not"
        " replaced. Ask the service what changed before trusting the new one."
    ),
    "offline_no_trust_list": _l(
        "No trust list of %(site)s is kept here yet: check one code while connected first."
    ),
    # Consents (vault/shares.py)
    "share_purpose_length": _l(
        "State the purpose in %(low)s to %(high)s characters, e.g. 'loan application'."
    ),
    "share_no_documents": _l("Choose at least one document to share."),
    "share_too_many_documents": _l("Share at most %(n)s documents at a time."),
    "share_not_your_document": _l("You can only share documents in your own vault."),
    "share_days_range": _l("A consent lasts %(low)s to %(high)s days."),
    "share_fetches_range": _l(
        "Allow %(low)s to %(high)s downloads, or leave it empty for no limit."
    ),
    "share_not_yours": _l("This confirmation is not yours."),
    "share_request_expired": _l("This consent request has expired; please start again."),
    "share_no_such_consent": _l("No such consent."),
    "share_not_found": _l("No such shared documents."),
    "share_withdrawn": _l("The citizen has withdrawn this consent."),
    "share_expired": _l("This consent has expired."),
    "share_exhausted": _l("The number of downloads this consent allows has been used."),
    "share_out_of_scope": _l("This document is not part of the consent."),
    "share_document_gone": _l("The citizen has deleted this document."),
    # Accounts, passkeys, passwords, organisations (identity/)
    "cnic_format": _l("The CNIC must have 13 digits, written as 12345-1234567-1."),
    "name_missing": _l("Please enter your full name."),
    "name_too_long": _l("The name may have at most %(n)s characters."),
    "name_characters": _l("The name contains characters that are not allowed."),
    "login_format": _l("A login name has %(low)s to %(high)s letters, digits, '.', '-' or '_'."),
    "cnic_registered": _l("An account with this CNIC already exists. Please sign in instead."),
    "no_token": _l("This key store has no hardware token: set AMANAT_KEYSTORE=pkcs11."),
    "registration_refused": _l(
        "An account could not be made with these details. If you already have an account, sign"
        " in with your passkey, password or a recovery code; if you have lost them all, a"
        " service centre can help you with your CNIC card."
    ),
    "login_taken": _l("This login name is taken."),
    "password_length": _l("A password has %(low)s to %(high)s characters."),
    "passkey_name_length": _l("A passkey name has %(low)s to %(high)s characters."),
    "passkey_rejected": _l("The passkey response was not accepted. Please try again."),
    "passkey_already_registered": _l("This passkey is already registered."),
    "passkey_authenticator_not_allowed": _l(
        "Staff accounts take only the security keys this service has approved. Please use one"
        " issued to you."
    ),
    "passkey_attestation_untrusted": _l(
        "This security key could not prove it is a genuine, certified model. Please use one"
        " issued to you."
    ),
    "mds_blob_invalid": _l("The FIDO metadata file is damaged or not signed by its root."),
    "mds_blob_stale": _l(
        "The FIDO metadata file was due for renewal on %(date)s: fetch a new one."
    ),
    "mds_aaguid_invalid": _l("An entry of the authenticator allow-list is not an AAGUID."),
    "passkey_unknown": _l("This passkey is not registered with Amanat."),
    "passkey_not_yours": _l("Use one of your own passkeys to confirm."),
    "passkey_last": _l("This is your only passkey. Add another one before removing it."),
    "passkey_needed_for_consent": _l(
        "Add a passkey under Security first: consents are confirmed with one."
    ),
    "rate_limited": _l("Too many attempts. Please try again in %(wait)s."),
    "too_many_requests": _l("Too many requests. Please wait a minute and try again."),
    "ceremony_expired": _l(
        "This sign-in attempt has expired or was already used. Please try again."
    ),
    "org_code_format": _l(
        "An organisation code has %(low)s to %(high)s letters, digits, '-' or '_' and starts"
        " with a letter."
    ),
    "org_exists": _l("An organisation with this code already exists."),
    "api_key_scopes": _l("Scopes are one or more of: %(scopes)s."),
    "api_key_label": _l("Give the key a label of %(low)s to %(high)s characters."),
    "api_key_scope": _l("This API key may not do this: it needs the scope '%(scope)s'."),
    "api_body_not_object": _l("Send a JSON object as the request body."),
    "api_body_too_large": _l("A JSON request body has at most %(kib)s KiB."),
    "api_field_not_string": _l("'%(name)s' must be a string."),
    "api_fields_not_strings": _l("'%(name)s' must be an object whose values are strings."),
    "idempotency_key_format": _l(
        "An Idempotency-Key has 1 to %(n)s printable characters without spaces."
    ),
    "idempotency_key_reused": _l(
        "This Idempotency-Key already issued certificate %(serial)s for a different request;"
        " nothing was issued."
    ),
    # The export of everything (keys/age.py)
    "age_recipient_invalid": _l(
        "This is not an age public key. It starts with age1, as age-keygen prints it."
    ),
    "age_passphrase_short": _l("Choose a passphrase of at least %(n)s characters."),
    # Issuance and revocation (signing/)
    "type_unknown": _l("Unknown certificate type '%(type)s' (known: %(known)s)."),
    "field_control_characters": _l("Field values may not contain control characters."),
    "field_unknown": _l("Field “%(field)s” is not part of a %(type)s."),
    "field_too_long": _l("Field “%(field)s” has at most %(n)s characters."),
    "fields_missing": _l("Missing required field(s): %(fields)s."),
    "field_date": _l("Field “%(field)s” must be a real date: day, month and year in numbers."),
    "field_year": _l("Field “%(field)s” must be a year like 2024."),
    "field_choice": _l("Field “%(field)s” must be one of: %(choices)s."),
    "level_unknown": _l("Unknown PAdES level '%(level)s' (use one of %(levels)s)."),
    "citizen_unknown": _l("No citizen is registered with this CNIC."),
    "certificate_not_found": _l("No certificate has this serial."),
    "revocation_reason": _l("Give a reason for the revocation (%(low)s to %(high)s characters)."),
    "already_revoked": _l("This certificate is already revoked."),
    "batch_too_large": _l("A batch file has at most %(mib)s MiB."),
    "batch_not_utf8": _l("The batch file must be UTF-8 text (CSV)."),
    "batch_header": _l("The CSV needs a header row with at least 'citizen' and 'type' columns."),
    "batch_too_many_rows": _l("A batch has at most %(n)s rows."),
    "batch_unreadable": _l("The CSV cannot be read: %(error)s."),
    "batch_too_many_columns": _l("This row has more columns than the header."),
    "batch_not_found": _l("There is no such batch."),
    "batch_row_invalid": _l("This row cannot be read."),
    "batch_rows_missing": _l('Send the rows as JSON {"rows": [...]} (at least one) or as CSV.'),
    "batch_row_gave_up": _l(
        "Issuing this row stopped a worker %(n)s times; it was set aside. Please report it."
    ),
    "backup_tool_failed": _l("%(tool)s could not copy the database; nothing was changed."),
    "backup_folder": _l("The backup folder %(path)s cannot be made."),
    "backup_no_manifest": _l("This is not an Amanat backup folder (no readable manifest)."),
    "backup_damaged": _l(
        "The backup is damaged (%(file)s differs from its manifest); nothing was restored."
    ),
    "backup_other_database": _l(
        "This backup is of a %(kind)s database; this instance uses another kind."
    ),
    "backup_instance_not_empty": _l(
        "This instance already holds data: restore into an empty one, or pass --replace."
    ),
    "notice_email_invalid": _l("Please give an e-mail address such as name@example.pk."),
    "notice_phone_invalid": _l(
        "Please give the mobile number with its country code, such as +923001234567."
    ),
    "notice_choice_unknown": _l("Please choose from the options shown."),
    "notice_undelivered": _l("The notice could not be delivered; it will be tried again."),
    "notice_no_smtp": _l("Notices by e-mail need an SMTP server (AMANAT_SMTP_HOST)."),
    "notice_no_sms": _l("Notices by SMS need an SMS gateway (AMANAT_SMS_URL)."),
    "storage_setting": _l(
        "AMANAT_BLOBSTORE must be file:<folder> or s3://bucket[/prefix] with a valid bucket name."
    ),
    "storage_unavailable": _l("The document store cannot be reached just now; please try again."),
    "record_not_found": _l("Nobody with this code is registered."),
    # Applications (signing/applications.py)
    "application_not_found": _l("There is no such application."),
    "application_not_offered": _l("This department does not take applications for this."),
    "application_decided": _l("This application has already been decided."),
    "application_not_asked": _l("The department has not asked for anything on this application."),
    "application_note_length": _l("Write at most %(n)s characters (and something, when asked)."),
    "application_status": _l("The state is one of: %(statuses)s."),
    "application_age": _l("The waiting time is %(low)s to %(high)s days."),
    # Disputes (signing/disputes.py)
    "dispute_not_found": _l("There is no such dispute."),
    "dispute_line_not_found": _l("There is no such line in your activity."),
    "dispute_exists": _l("This line is already disputed: open the dispute to follow it."),
    "dispute_closed": _l("This dispute is closed."),
    "dispute_note_length": _l("Write %(low)s to %(high)s characters."),
    "dispute_outcome": _l("The outcome is one of: %(outcomes)s."),
    # Emergency access (vault/emergency.py)
    "emergency_no_contact": _l(
        "Nobody else is registered with this CNIC: your trusted contact needs an Amanat account."
    ),
    "emergency_days_range": _l("The days you have to refuse are %(low)s to %(high)s."),
    "emergency_not_found": _l("There is no such emergency access."),
    "emergency_already_asked": _l("You have already asked; the owner has been told."),
    "emergency_nothing_asked": _l("Your trusted contact has not asked for access."),
    "emergency_no_access": _l(
        "Not yet: you can read these documents only after asking and the waiting days, unless"
        " the owner refuses."
    ),
    # Assisted recovery at a service centre (identity/assisted.py)
    "recovery_officer_only": _l("Only a recovery officer at a service centre can start this."),
    "recovery_card_not_checked": _l(
        "Check the person's CNIC card in person first, and tick the box to say you did."
    ),
    "recovery_no_citizen": _l("No citizen is registered with this CNIC."),
    "recovery_already_started": _l(
        "A recovery of this account is already under way: the citizen uses the link they got."
    ),
    "recovery_not_found": _l("There is no such recovery."),
    "recovery_was_refused": _l(
        "The account's owner refused this recovery: the link does not work. Go back to the"
        " service centre if this is your account."
    ),
    "recovery_link_used": _l("This recovery link was used or has expired."),
    "recovery_waiting": _l(
        "This link works from %(due)s, if the account's owner does not refuse before then."
    ),
    # Closing an account (signing/erasure.py)
    "erasure_citizens_only": _l("Only a citizen's account can be closed here."),
    "erasure_already_requested": _l("You have already asked for your account to be closed."),
    "erasure_not_requested": _l("Your account is not being closed."),
    "deletion_certificate_invalid": _l(
        "This is not a genuine deletion certificate of this service, or it was changed."
    ),
    # Requests for documents and their webhooks (signing/requests.py, signing/webhooks.py)
    "request_not_found": _l("There is no such request."),
    "request_expired": _l("This request has expired and can no longer be answered."),
    "request_answered": _l("This request has already been answered."),
    "request_kind_unknown": _l("Kinds of uploaded document are: %(kinds)s."),
    "request_nothing_asked": _l("Choose at least one document to ask for."),
    "request_purpose_length": _l("State the purpose in %(low)s to %(high)s characters."),
    "request_days_range": _l("The consent lasts %(low)s to %(high)s days."),
    "request_fetches_range": _l("The download limit is %(low)s to %(high)s, or none."),
    "request_open_days_range": _l("The citizen has %(low)s to %(high)s days to answer."),
    "request_number": _l("'%(name)s' must be a whole number."),
    "request_lists": _l("'types' and 'kinds' must be lists of strings."),
    "callback_url_format": _l(
        "The callback URL must be an http(s) URL of at most %(n)s characters, without a password."
    ),
    "callback_url_not_https": _l("The callback URL must use https."),
    "callback_url_unresolved": _l("The callback URL's host name cannot be found."),
    "callback_url_private": _l(
        "The callback URL points at a private or local address, which Amanat does not call."
    ),
    "callback_needs_secret": _l(
        "Callbacks are signed with your organisation's webhook secret, and %(organisation)s has"
        " none yet: ask the operator for one (amanat org webhook-secret)."
    ),
    "migration_reference_broken": _l(
        "The upgrade was undone: a row of %(table)s would point at nothing. The database is as it"
        " was; report this with the table's name."
    ),
    "tasks_setting": _l("AMANAT_TASKS must be sqlite:<file>, postgresql://... or redis://..."),
}


def error_text(code: str, params: Mapping[str, Any]) -> str | None:
    """A domain refusal in the reader's language; None when the code has no words here."""
    template = ERRORS.get(code)
    if template is None:
        return None
    try:
        return (
            str(template) % {k: _param(k, v) for k, v in params.items()}
            if params
            else str(template)
        )
    except (KeyError, ValueError, TypeError):
        return str(template)


def when_text(value: dt.datetime | str) -> str:
    """A moment (or its ISO string) as the reader reads it: the pages' ``when`` filter
    (language, time zone)."""
    return str(current_app.jinja_env.filters["when"](value))


def _param(key: str, value: Any) -> Any:
    """A moment as the reader reads it (the pages' date words), a certificate field by its label
    in the reader's language, anything else as it is."""
    if isinstance(value, dt.datetime) and has_app_context():
        return when_text(value)
    if isinstance(value, dt.timedelta):
        return wait_text(value)
    if key == "field":
        return field_label(str(value))
    if key == "fields":
        return ", ".join(field_label(name.strip()) for name in str(value).split(","))
    return value


def wait_text(wait: dt.timedelta) -> str:
    """A wait as a person says it, rounded up to the minute ("1 minute", "15 minutes")."""
    minutes = max(1, math.ceil(wait.total_seconds() / 60))
    return str(format_timedelta(dt.timedelta(minutes=minutes), granularity="minute", threshold=2))


def field_label(name: str) -> str:
    """A certificate field's label in the reader's language ("Date of birth"); an unknown name
    (a typo in an upload) as it was written."""
    base, _sep, script = name.partition(":")
    for ctype in certificate_types().values():
        for spec in ctype.fields:
            if spec.name == base:
                label = str(pick(spec.label_en, spec.label_ur))
                return f"{label} ({_('Urdu')})" if script == "ur" else label
    return name


def refusal_text(exc: AmanatError) -> str:
    """What a refusal says to its reader: its code's words, else its own line."""
    return (error_text(exc.code, exc.params) if exc.code else None) or str(exc)


# What a document is, in words (the vault's pages, requests for documents).
KIND_LABELS = {
    DocumentKind.ID_CARD: _l("ID card"),
    DocumentKind.DEGREE: _l("Degree"),
    DocumentKind.LAND_RECORD: _l("Land record"),
    DocumentKind.PAY_SLIP: _l("Pay slip"),
    DocumentKind.CERTIFICATE: _l("Certificate"),
    DocumentKind.OTHER: _l("Other"),
}

# Where an application stands, in words (signing/applications.py).
APPLICATION_STATES = {
    "submitted": _l("Sent, waiting to be reviewed"),
    "in_review": _l("In review"),
    "info_requested": _l("More information asked"),
    "issued": _l("Issued into your vault"),
    "rejected": _l("Rejected"),
}
# Each step of an application's timeline.
APPLICATION_STEPS = {
    "submitted": _l("You sent the application."),
    "in_review": _l("An officer began reviewing it."),
    "info_requested": _l("The department asked for more information:"),
    "answered": _l("You answered."),
    "issued": _l("The certificate was issued into your vault."),
    "rejected": _l("The application was rejected:"),
}

# Why a webhook attempt got no HTTP answer, besides a refused callback URL (web/webhooks.py).
ATTEMPT_WORDS = {
    "no_webhook_secret": _l("not sent: your organisation has no webhook secret yet"),
}


def attempt_text(status_code: int | None, error: str | None) -> str:
    """One webhook attempt for the organisation's page: the HTTP status it got, or in words why
    there was none (a refused URL, no secret, or the connection's error)."""
    if status_code is not None:
        return str(status_code)
    code = error or ""
    if code in ATTEMPT_WORDS:
        return str(ATTEMPT_WORDS[code])
    refused = error_text(code, {"n": MAX_URL}) if code.startswith("callback_url_") else None
    return refused or str(_("no answer (%(error)s)", error=code))


# Where a dispute stands, and how the office closed it (signing/disputes.py).
DISPUTE_STATES = {
    "open": _l("Sent, waiting for an answer"),
    "answered": _l("Answered"),
    "closed": _l("Closed"),
}
DISPUTE_OUTCOMES = {
    "upheld": _l("Upheld: the access should not have happened"),
    "not_upheld": _l("Not upheld: the access was allowed"),
    "resolved": _l("Resolved with the citizen"),
}

# Field values with a fixed vocabulary (certificate_types.json "choices").
CHOICES: dict[str, Any] = {
    "female": _l("female"),
    "male": _l("male"),
    "other": _l("other"),
}


def pick(english: Any, urdu: Any) -> Any:
    """The Urdu text for an Urdu reader when there is one, else the English."""
    locale = get_locale()
    return urdu if urdu and locale is not None and locale.language == "ur" else english


def choice_text(value: str) -> str:
    """A fixed-vocabulary field value in the reader's language (other values as they are)."""
    template = CHOICES.get(value)
    return str(template) if template is not None else value


# What a verdict found about one signature, in plain words: the register's status of a
# certificate, then the ETSI and pyHanko terms the "technical details" of a result name.
SIGNATURE_WORDS: dict[str, dict[str, Any]] = {
    "status": {
        "valid": _l("valid"),
        "revoked": _l("revoked"),
        "expired": _l("expired"),
        "compromised": _l("not valid: recorded after its signing key was compromised"),
    },
    "level": {
        "B-B": _l("a basic signature (PAdES B-B)"),
        "B-T": _l("a signature with a trusted time-stamp (PAdES B-T)"),
        "B-LT": _l("a signature with the data to check it for years (PAdES B-LT)"),
        "B-LTA": _l("a long-term signature, kept up with archive time-stamps (PAdES B-LTA)"),
    },
    # The officer's choice of level: the same words without the ETSI code, which an option
    # cannot mark as English inside an Urdu line.
    "level_choice": {
        "B-B": _l("Basic signature"),
        "B-T": _l("Signature with a trusted time-stamp"),
        "B-LT": _l("Signature with the data to check it for years"),
        "B-LTA": _l("Long-term signature, kept up with archive time-stamps (recommended)"),
    },
    "coverage": {
        "ENTIRE_FILE": _l("the whole file"),
        "ENTIRE_REVISION": _l("the whole document as it was signed"),
        "CONTIGUOUS_BLOCK_FROM_START": _l("only the start of the file"),
        "UNCLEAR": _l("unclear"),
        "UNKNOWN": _l("unclear"),
    },
    "modification": {
        "NONE": _l("none"),
        "LTA_UPDATES": _l("only data for long-term checking (validation data, time-stamps)"),
        "FORM_FILLING": _l("form fields were filled in"),
        "ANNOTATIONS": _l("comments were added"),
        "OTHER": _l("other changes"),
        "UNKNOWN": _l("unclear"),
    },
    "revocation": {
        "good": _l("checked: not revoked"),
        "revoked": _l("revoked"),
        "unknown": _l("could not be checked"),
    },
}


def signature_word(kind: str, value: str) -> str:
    """A term of a verdict's signature details (or a certificate's status) in plain words, in the
    reader's language; a value this version does not know reads as it is."""
    template = SIGNATURE_WORDS.get(kind, {}).get(value)
    return str(template) if template is not None else value


# Where a consent stands (vault/shares.py GrantState), on pages and on its printed receipt.
CONSENT_STATES: dict[str, Any] = {
    "active": _l("Active"),
    "withdrawn": _l("Withdrawn"),
    "expired": _l("Expired"),
    "exhausted": _l("Used up"),
}


# What an API scope lets an organisation do, for the public record.
SCOPE_WORDS: dict[str, Any] = {
    "shares:read": _l("Fetch the documents a citizen shared with it, within that consent"),
    "verify": _l("Check certificates in its own name (the citizen sees each check)"),
    "requests": _l("Ask citizens for documents (each citizen decides, and sees the request)"),
}


def scope_text(scope: str) -> str:
    """An API scope in the reader's language."""
    words = SCOPE_WORDS.get(scope)
    return str(words) if words is not None else scope


def document_title(title: Any) -> str:
    """A document's title in the reader's language: an issued certificate is stored under its
    type's English title ("Degree Certificate"), which an Urdu reader reads as the type's Urdu
    title; any other title is the citizen's own and stays as written."""
    text = str(title or "")
    locale = get_locale()
    if locale is None or locale.language != "ur":
        return text
    by_english = {t.title_en: t.title_ur for t in certificate_types().values() if t.title_ur}
    return by_english.get(text, text)


def certificate_type_title(code: str) -> str:
    """A certificate type's title in the reader's language (its code when unknown)."""
    ctype = certificate_types().get(code)
    if ctype is None:
        return code
    locale = get_locale()
    urdu = locale is not None and locale.language == "ur"
    return ctype.title_ur if urdu and ctype.title_ur else ctype.title_en

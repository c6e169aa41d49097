"""The deletion certificate at the door: its printable PDF, and the check of a file someone hands
in (``amanat verify-deletion``).

The PDF is made the same way every time from the signed certificate (its dates fixed to the
erasure's, its language the citizen's), so a PDF is genuine only when it is byte for byte the
rendering of the signed JSON it carries: one byte changed anywhere in the PDF and the check says
so, as it does for the JSON file.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from keys.stores import KeyStore
from signing.erasure import (
    ATTACHMENT,
    DeletionCertificate,
    DeletionCertificateInvalid,
    certificate_file,
    read_deletion_certificate,
)
from signing.render import TextPage
from verification.attachments import attached_file
from web.messages import when_text

# What each count of the certificate means, in the order a reader expects.
ERASED_LABELS: dict[str, Any] = {
    "documents": _l("Documents"),
    "document_versions": _l("Document versions"),
    "blobs": _l("Encrypted files removed from storage"),
    "data_keys": _l("Data keys destroyed"),
    "owner_keys": _l("Owner keys destroyed"),
    "consents": _l("Consents"),
    "consents_ended": _l("Consents ended early (the organisation or department was told)"),
    "contact_details": _l("Contact details for notices"),
    "applications": _l("Applications"),
    "disputes": _l("Disputes"),
    "passkeys": _l("Passkeys"),
    "sessions": _l("Signed-in sessions"),
    "recovery_codes": _l("Recovery codes"),
    "ledger_events_wiped": _l(
        "Activity lines wiped (their hashes stay, so the ledger still checks)"
    ),
}


def _when(value: str) -> str:
    return when_text(dt.datetime.fromisoformat(value))


def _facts(page: TextPage, cert: dict[str, Any]) -> None:
    line = page.line
    line(_("Deletion certificate"), 18, bold=True, gap=10)
    line(_("The Amanat account this certificate was given for was closed and everything in it"
           " erased on %(erased)s (asked for on %(asked)s).",
           erased=_when(cert["erased_at"]), asked=_when(cert["requested_at"])))  # fmt: skip
    page.field(_("Service"), cert["service"])
    page.field(_("Erasure number"), cert["erasure"])
    page.space(2)
    line(_("What was erased"), 12, bold=True, gap=8)
    for key, label in ERASED_LABELS.items():
        page.field(str(label), cert["erased"].get(key, 0))
    page.space(2)
    line(_("What stays"), 12, bold=True, gap=8)
    line(_("Certificates issued to you stay in the issuing department's register (%(n)s): they"
           " are the department's record, and no longer point at any account.",
           n=cert["kept"].get("register_entries", 0)))  # fmt: skip


def _signature(page: TextPage, cert: dict[str, Any]) -> None:
    page.space(2)
    page.line(_("Who was erased"), 12, bold=True, gap=8)
    page.line(_("This certificate names nobody. Its subject is a hash of the secret in your"
                " link and your CNIC, so only you can show that it was your account:"))  # fmt: skip
    page.line(cert["subject"], 9)
    page.space(2)
    page.line(_("Signature"), 12, bold=True, gap=8)
    page.line(_("Signed by the Amanat service (JWS, ES256); the signed file %(name)s is attached."
                " Anyone can check this PDF or that file with: amanat verify-deletion FILE",
                name=ATTACHMENT))  # fmt: skip


def deletion_pdf(document: dict[str, Any]) -> bytes:
    """The printable certificate, in the citizen's language, the signed JSON attached; the same
    bytes for the same certificate. Needs the app (its date words): a request or app context."""
    cert = document["certificate"]
    erased_at = dt.datetime.fromisoformat(cert["erased_at"])
    with force_locale(cert.get("language") or "en"):
        page = TextPage(_("Deletion certificate"))
        page.pdf.set_creation_date(erased_at)
        _facts(page, cert)
        _signature(page, cert)
    page.pdf.embed_file(
        bytes=certificate_file(document), basename=ATTACHMENT, mime_type="application/json",
        creation_date=erased_at, modification_date=erased_at,
    )  # fmt: skip
    return page.output()


def check_deletion_file(
    session: Session, *, keystore: KeyStore, data: bytes
) -> DeletionCertificate:
    """Check a deletion certificate handed in, JSON or PDF; DeletionCertificateInvalid when it is
    not exactly what this service signed."""
    if not data.startswith(b"%PDF-"):
        return read_deletion_certificate(session, keystore=keystore, data=data)
    attached = attached_file(data, ATTACHMENT)
    if attached is None:
        raise DeletionCertificateInvalid("No certificate.", code="deletion_certificate_invalid")
    found = read_deletion_certificate(session, keystore=keystore, data=attached)
    if deletion_pdf(found.document) != data:
        raise DeletionCertificateInvalid("PDF changed.", code="deletion_certificate_invalid")
    return found

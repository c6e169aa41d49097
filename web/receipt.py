"""The printable consent receipt (PDF): the terms in words, in the reader's language, the signed
JSON receipt attached (the record itself stays as it was signed)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask_babel import gettext as _

from signing.render import TextPage
from web.messages import CONSENT_STATES, document_title, pick, when_text


def _state(receipt: dict[str, Any]) -> str:
    words = CONSENT_STATES.get(receipt["state"])
    state = str(words) if words is not None else receipt["state"]
    day = when_text(receipt["issued_at"])
    return str(_("%(state)s, when printed on %(day)s", state=state, day=day))


def _ends(terms: dict[str, Any]) -> str:
    """When the consent ends: its day, or its downloads used up, or withdrawal (the terms the
    passkey signed; the receipt's own "termination" is the same in English)."""
    until = when_text(terms["expires_at"])
    if terms.get("max_fetches"):
        return str(
            _(
                "%(day)s, after %(n)s downloads, or when withdrawn",
                day=until,
                n=terms["max_fetches"],
            )
        )
    return str(_("%(day)s, or when withdrawn", day=until))


def _recipient(recipient: dict[str, Any]) -> str:
    """Who the consent is for, in the reader's language (the JSON keeps the English name)."""
    if recipient.get("type") == "link":
        return str(_("anyone with the link"))
    return str(pick(recipient.get("name", ""), recipient.get("name_ur")))


def receipt_pdf(receipt: dict[str, Any], token: str) -> bytes:
    """One A4 page: who shared what with whom, why, until when; the signed receipt attached."""
    # Every character is kept (shaped text, Urdu right to left); the attached JSON is the record.
    title = _("Consent receipt")
    page = TextPage(title)
    line = page.line
    terms = receipt["evidence"]["terms"]
    purpose = receipt["services"][0]["purposes"][0]
    line(title, 18, bold=True, gap=10)
    page.field(_("Receipt"), receipt["consentReceiptID"])
    page.field(_("Citizen"), terms["citizen"]["name"])
    page.field(_("Shared with"), _recipient(terms.get("recipient", {})))
    page.field(_("Purpose"), purpose["purpose"])
    page.field(_("Given"), when_text(terms["created_at"]))
    page.field(_("Ends"), _ends(terms))
    page.field(_("State"), _state(receipt))
    page.space(2)
    line(_("Documents"), 12, bold=True, gap=8)
    for doc in terms["documents"]:
        page.bullet(document_title(doc["title"]))
    page.space(2)
    line(_("How this consent was given"), 12, bold=True, gap=8)
    line(_("The citizen read these terms and confirmed them with their own passkey."))
    page.field(
        _("SHA-256 of the terms the passkey signed"), receipt["evidence"]["challenge_sha256"]
    )
    page.space(2)
    line(_("Signature"), 12, bold=True, gap=8)
    line(
        _(
            "This receipt is signed by the Amanat service (JWS, ES256). The signed JSON receipt"
            " is attached to this PDF as consent-receipt.json; its SHA-256 is %(sha)s",
            sha=hashlib.sha256(token.encode()).hexdigest(),
        )
    )
    page.pdf.embed_file(
        bytes=json.dumps({"receipt": receipt, "jws": token}, ensure_ascii=False, indent=2).encode(),
        basename="consent-receipt.json",
        mime_type="application/json",
    )
    return page.output()

"""The printable consent receipt (PDF): the terms in words, the signed JSON receipt attached."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from signing.render import TextPage


def receipt_pdf(receipt: dict[str, Any], token: str) -> bytes:
    """One A4 page: who shared what with whom, why, until when; the signed receipt attached."""
    # Every character is kept (shaped text, Urdu right to left); the attached JSON is the record.
    page = TextPage("Consent receipt")
    line = page.line
    terms = receipt["evidence"]["terms"]
    purpose = receipt["services"][0]["purposes"][0]
    line("Consent receipt", 18, bold=True, gap=10)
    line(f"Receipt: {receipt['consentReceiptID']}")
    page.field("Citizen", terms["citizen"]["name"])
    page.field("Shared with", purpose["thirdPartyName"])
    page.field("Purpose", purpose["purpose"])
    line(f"Given: {terms['created_at']}    Ends: {purpose['termination']}")
    line(f"State when printed: {receipt['state']} ({receipt['issued_at']})")
    page.space(2)
    line("Documents", 12, bold=True, gap=8)
    for doc in terms["documents"]:
        page.bullet(doc["title"])
    page.space(2)
    line("How this consent was given", 12, bold=True, gap=8)
    line(receipt["collectionMethod"])
    line(f"SHA-256 of the terms the passkey signed: {receipt['evidence']['challenge_sha256']}")
    page.space(2)
    line("Signature", 12, bold=True, gap=8)
    line(
        "This receipt is signed by the Amanat service (JWS, ES256). The signed JSON receipt is"
        " attached to this PDF as consent-receipt.json; its SHA-256 is "
        + hashlib.sha256(token.encode()).hexdigest()
    )
    page.pdf.embed_file(
        bytes=json.dumps({"receipt": receipt, "jws": token}, ensure_ascii=False, indent=2).encode(),
        basename="consent-receipt.json",
        mime_type="application/json",
    )
    return page.output()

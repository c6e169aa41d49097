"""The verification report a verifier keeps for their records (PDF), made from the typed check."""

from __future__ import annotations

from signing.check import CertificateCheck
from signing.render import TextPage
from verification import SignatureDetail
from web.messages import reason_text


def _signer(sig: SignatureDetail) -> str:
    if sig.trusted:
        return sig.signer
    return f"an unknown signer calling itself '{sig.signer}' (not a department here)"


def report_pdf(check: CertificateCheck, *, service: str) -> bytes:
    """A one-page A4 report of a verification."""
    page = TextPage("Verification report")
    line = page.line
    verdict, entry = check.verdict, check.certificate
    line("Certificate verification report", 18, bold=True, gap=10)
    line(f"Service: {service}")
    line(f"Checked at: {verdict.checked_at}")
    line(f"SHA-256 of the verified file: {check.file_sha256}")
    page.space()
    sub = f" / {verdict.sub_indication.value}" if verdict.sub_indication else ""
    line(f"Verdict: {verdict.indication.value}{sub}", 14, bold=True, gap=8)
    for reason in verdict.reasons:
        page.bullet(reason_text(reason))
    if entry is not None:
        page.space()
        line("Register", 12, bold=True, gap=8)
        page.field("Serial", entry.serial)
        page.field("Type", entry.type_title)
        page.field("Holder", entry.holder)
        page.field("Department", entry.department)
        page.field("Status", entry.status.value)
        page.field("Issued at", entry.issued_at.isoformat())
    for number, sig in enumerate(verdict.signatures, 1):
        page.space()
        line(f"Signature {number}", 12, bold=True, gap=8)
        page.field("Signer", _signer(sig))
        for label, value in (
            ("Department", sig.department),
            ("Signed at", sig.signed_at),
            ("Timestamp", sig.timestamp),
            ("Pades level", sig.pades_level),
            ("Coverage", sig.coverage),
            ("Modification", sig.modification),
            ("Revocation", sig.revocation),
        ):
            if value is not None:
                page.field(label, value)
    return page.output()

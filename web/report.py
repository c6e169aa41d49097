"""The verification report a verifier keeps for their records (PDF), made from the typed check."""

from __future__ import annotations

from fpdf import FPDF

from signing.check import CertificateCheck
from verification import SignatureDetail


def _latin(text: object) -> str:
    # The core font has nothing to embed (light files): replace what it cannot show.
    return str(text).encode("latin-1", "replace").decode("latin-1")


class TextPage:
    """An A4 PDF of plain lines in the core font: verification reports, consent receipts."""

    def __init__(self, title: str) -> None:
        self.pdf = FPDF(format="A4", unit="mm")
        self.pdf.set_margins(20, 20, 20)
        self.pdf.add_page()
        self.pdf.set_creator("Amanat")
        self.pdf.set_title(title)
        self.width = self.pdf.w - self.pdf.l_margin - self.pdf.r_margin

    def line(self, text: object, size: float = 10, bold: bool = False, gap: float = 6) -> None:
        """One paragraph, wrapped to the page width."""
        self.pdf.set_font("helvetica", "B" if bold else "", size)
        self.pdf.multi_cell(self.width, gap, _latin(text), new_x="LMARGIN", new_y="NEXT")

    def space(self, mm: float = 3) -> None:
        """Vertical space."""
        self.pdf.ln(mm)

    def output(self) -> bytes:
        """The PDF bytes."""
        return bytes(self.pdf.output())


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
        line(f"- {reason}")
    if entry is not None:
        page.space()
        line("Register", 12, bold=True, gap=8)
        line(f"Serial: {entry.serial}")
        line(f"Type: {entry.type_title}")
        line(f"Holder: {entry.holder}")
        line(f"Department: {entry.department}")
        line(f"Status: {entry.status.value}")
        line(f"Issued at: {entry.issued_at.isoformat()}")
    for number, sig in enumerate(verdict.signatures, 1):
        page.space()
        line(f"Signature {number}", 12, bold=True, gap=8)
        line(f"Signer: {_signer(sig)}")
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
                line(f"{label}: {value}")
    return page.output()

"""The verification report a verifier keeps for their records (PDF), made from the verdict JSON."""

from __future__ import annotations

from typing import Any

from fpdf import FPDF


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


def report_pdf(result: dict[str, Any], *, file_sha256: str, service: str) -> bytes:
    """A one-page A4 report of a verification."""
    page = TextPage("Verification report")
    line = page.line
    line("Certificate verification report", 18, bold=True, gap=10)
    line(f"Service: {service}")
    line(f"Checked at: {result.get('checked_at', '')}")
    line(f"SHA-256 of the verified file: {file_sha256}")
    page.space()
    verdict = result["indication"] + (
        f" / {result['sub_indication']}" if result.get("sub_indication") else ""
    )
    line(f"Verdict: {verdict}", 14, bold=True, gap=8)
    for reason in result.get("reasons", []):
        line(f"- {reason}")
    cert = result.get("certificate")
    if cert:
        page.space()
        line("Register", 12, bold=True, gap=8)
        for key in ("serial", "type", "holder", "department", "status", "issued_at"):
            if cert.get(key):
                line(f"{key.replace('_', ' ').capitalize()}: {cert[key]}")
    for number, sig in enumerate(result.get("signatures", []), 1):
        page.space()
        line(f"Signature {number}", 12, bold=True, gap=8)
        for key in (
            "signer",
            "department",
            "signed_at",
            "timestamp",
            "pades_level",
            "coverage",
            "modification",
            "revocation",
        ):
            value = sig.get(key)
            if key == "signer" and not sig.get("trusted"):
                value = f"an unknown signer calling itself '{value}' (not a department here)"
            if value is not None:
                line(f"{key.replace('_', ' ').capitalize()}: {value}")
    return page.output()

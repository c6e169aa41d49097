"""The verification report a verifier keeps for their records (PDF), made from the verdict JSON."""

from __future__ import annotations

from typing import Any

from fpdf import FPDF


def _latin(text: object) -> str:
    # The report uses the PDF core font (nothing to embed): replace what it cannot show.
    return str(text).encode("latin-1", "replace").decode("latin-1")


def report_pdf(result: dict[str, Any], *, file_sha256: str, service: str) -> bytes:
    """A one-page A4 report of a verification."""
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_margins(20, 20, 20)
    pdf.add_page()
    pdf.set_creator("Amanat")
    pdf.set_title("Verification report")
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def line(text: object, size: float = 10, bold: bool = False, gap: float = 6) -> None:
        pdf.set_font("helvetica", "B" if bold else "", size)
        pdf.multi_cell(width, gap, _latin(text), new_x="LMARGIN", new_y="NEXT")

    line("Certificate verification report", 18, bold=True, gap=10)
    line(f"Service: {service}")
    line(f"Checked at: {result.get('checked_at', '')}")
    line(f"SHA-256 of the verified file: {file_sha256}")
    pdf.ln(3)
    verdict = result["indication"] + (
        f" / {result['sub_indication']}" if result.get("sub_indication") else ""
    )
    line(f"Verdict: {verdict}", 14, bold=True, gap=8)
    for reason in result.get("reasons", []):
        line(f"- {reason}")
    cert = result.get("certificate")
    if cert:
        pdf.ln(3)
        line("Register", 12, bold=True, gap=8)
        for key in ("serial", "type", "holder", "department", "status", "issued_at"):
            if cert.get(key):
                line(f"{key.replace('_', ' ').capitalize()}: {cert[key]}")
    for number, sig in enumerate(result.get("signatures", []), 1):
        pdf.ln(3)
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
            if sig.get(key) is not None:
                line(f"{key.replace('_', ' ').capitalize()}: {sig[key]}")
    return bytes(pdf.output())

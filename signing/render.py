"""Render a certificate as a clean A4 PDF page (English and Urdu, with the signed QR code).

fpdf2 with HarfBuzz shaping (uharfbuzz) draws Urdu correctly joined and right to left in Noto
Nastaliq Urdu; the fonts ship with the package (``signing/fonts``).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fpdf import FPDF

from signing.types import CertificateType

FONTS = Path(__file__).parent / "fonts"
_GREEN = (11, 93, 59)


def _pdf() -> FPDF:
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(False)
    pdf.add_font("Nastaliq", "", str(FONTS / "NotoNastaliqUrdu-Regular.ttf"))
    pdf.set_creator("Amanat")
    return pdf


def _latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _en(pdf: FPDF, size: float, bold: bool = False, text: str = "") -> None:
    """Latin text: the PDF core font when it can show it (nothing to embed or subset: subsetting
    TrueType fonts was most of the rendering time), Noto Sans otherwise."""
    if _latin1(text):
        pdf.set_text_shaping(False)
        pdf.set_font("helvetica", "B" if bold else "", size)
        return
    if "notosans" not in pdf.fonts:
        pdf.add_font("NotoSans", "", str(FONTS / "NotoSans-Regular.ttf"))
        pdf.add_font("NotoSans", "B", str(FONTS / "NotoSans-Bold.ttf"))
    pdf.set_text_shaping(use_shaping_engine=True, direction="ltr")
    pdf.set_font("NotoSans", "B" if bold else "", size)


def _ur(pdf: FPDF, size: float) -> None:
    pdf.set_text_shaping(use_shaping_engine=True, direction="rtl", script="arab", language="urd")
    pdf.set_font("Nastaliq", "", size)


def render_certificate(
    *,
    ctype: CertificateType,
    department_name: str,
    department_name_ur: str | None,
    fields: Mapping[str, Any],
    serial: str,
    issued_at: dt.datetime,
    qr_png: bytes,
    verify_url: str,
) -> bytes:
    """The unsigned certificate PDF."""
    pdf = _pdf()
    pdf.set_title(f"{ctype.title_en} {serial}")
    pdf.set_author(department_name)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    pdf.set_draw_color(*_GREEN)
    pdf.set_line_width(0.8)
    pdf.rect(10, 10, pdf.w - 20, pdf.h - 20)

    pdf.set_text_color(*_GREEN)
    _en(pdf, 15, bold=True, text=department_name)
    pdf.set_xy(pdf.l_margin, 22)
    pdf.cell(width, 8, department_name, align="L")
    if department_name_ur:
        _ur(pdf, 13)
        pdf.set_xy(pdf.l_margin, 20)
        pdf.cell(width, 12, department_name_ur, align="R")

    pdf.set_text_color(20, 20, 20)
    _en(pdf, 24, bold=True, text=ctype.title_en)
    pdf.set_xy(pdf.l_margin, 44)
    pdf.cell(width, 12, ctype.title_en, align="C")
    _ur(pdf, 20)
    pdf.set_xy(pdf.l_margin, 58)
    pdf.cell(width, 16, ctype.title_ur, align="C")

    y = 88.0
    for spec in ctype.fields:
        value = fields.get(spec.name)
        if value is None:
            continue
        _en(pdf, 10, text=spec.label_en)
        pdf.set_text_color(90, 90, 90)
        pdf.set_xy(pdf.l_margin, y)
        pdf.cell(55, 7, spec.label_en)
        _ur(pdf, 10)
        pdf.set_xy(pdf.l_margin, y - 2)
        pdf.cell(width, 10, spec.label_ur, align="R")
        pdf.set_text_color(20, 20, 20)
        _en(pdf, 12, bold=True, text=str(value))
        pdf.set_xy(pdf.l_margin + 55, y)
        pdf.cell(width - 95, 7, str(value))
        y += 9
        urdu = fields.get(f"{spec.name}:ur")
        if urdu:
            _ur(pdf, 12)
            pdf.set_xy(pdf.l_margin, y - 2)
            pdf.cell(width, 11, str(urdu), align="R")
            y += 9
        y += 3

    verify_text = (
        "To verify this certificate, scan the QR code with a phone camera, or open "
        f"{verify_url} and enter the serial. The PDF carries the department's digital signature."
    )
    _en(pdf, 10, text=verify_text)
    pdf.set_text_color(60, 60, 60)
    pdf.set_xy(pdf.l_margin, 222)
    pdf.cell(100, 6, f"Serial: {serial}")  # serials and dates are ASCII
    pdf.set_xy(pdf.l_margin, 229)
    pdf.cell(100, 6, f"Issued: {issued_at.strftime('%d %B %Y')}")
    pdf.set_xy(pdf.l_margin, 240)
    pdf.multi_cell(105, 5, verify_text)
    pdf.image(io.BytesIO(qr_png), x=pdf.w - pdf.r_margin - 60, y=205, w=60, h=60)
    return bytes(pdf.output())

"""Render a certificate as a clean A4 PDF page (English and Urdu, with the signed QR code).

fpdf2 with HarfBuzz shaping (uharfbuzz) draws Urdu correctly joined and right to left in Noto
Nastaliq Urdu; the fonts ship with the package (``signing/fonts``).
"""

from __future__ import annotations

import datetime as dt
import io
import re
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


def _heading(
    pdf: FPDF, ctype: CertificateType, department_name: str, department_name_ur: str | None
) -> None:
    """The border, the department (English left, Urdu right) and the title in both languages."""
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


def _fields(pdf: FPDF, ctype: CertificateType, fields: Mapping[str, Any]) -> None:
    """One row per field: English label, value (and its Urdu form below), Urdu label."""
    width = pdf.w - pdf.l_margin - pdf.r_margin
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


def _footer(
    pdf: FPDF, *, serial: str, issued_at: dt.datetime, qr_png: bytes, verify_url: str
) -> None:
    """Serial, date, how to verify, and the signed QR code."""
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
    _heading(pdf, ctype, department_name, department_name_ur)
    _fields(pdf, ctype, fields)
    _footer(pdf, serial=serial, issued_at=issued_at, qr_png=qr_png, verify_url=verify_url)
    return bytes(pdf.output())


_ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
# The first letter of a line, whichever script: its paragraph runs the way that script does.
_FIRST_LETTER = re.compile(r"[^\W\d_]")


def _starts_right_to_left(text: str) -> bool:
    """Whether a paragraph runs right to left: its first letter is Arabic script (Unicode's
    first-strong rule), so "6 دسمبر 2026، 19:40" does, though it starts with a digit."""
    first = _FIRST_LETTER.search(text)
    return first is not None and bool(_ARABIC.match(first.group()))


# The bidi controls a PDF text layer may carry around right-to-left runs (not part of the text).
BIDI_CONTROLS = dict.fromkeys(map(ord, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e"))


class TextPage:
    """An A4 PDF of plain paragraphs that keeps every character: verification reports, consent
    receipts.

    Lines the PDF core font can show use it (nothing to embed); any other line is shaped by
    HarfBuzz in Noto Sans with Noto Naskh Arabic for Urdu (Naskh, not Nastaliq: a text layer that
    ``pdftotext`` and screen readers read back letter for letter, and legible at 10 pt). A value
    in Urdu gets a paragraph of its own, so that it runs right to left with its numbers in place.
    """

    def __init__(self, title: str) -> None:
        self.pdf = FPDF(format="A4", unit="mm")
        self.pdf.set_margins(20, 20, 20)
        self.pdf.add_page()
        self.pdf.set_creator("Amanat")
        self.pdf.set_title(title)
        self.width = self.pdf.w - self.pdf.l_margin - self.pdf.r_margin
        self._shaped = False

    def _font(self, text: str, size: float, bold: bool) -> bool:
        """Pick the font for ``text``; True when it runs right to left."""
        if _latin1(text):
            self.pdf.set_text_shaping(False)
            self.pdf.set_font("helvetica", "B" if bold else "", size)
            return False
        if not self._shaped:
            self.pdf.add_font("NotoSans", "", str(FONTS / "NotoSans-Regular.ttf"))
            self.pdf.add_font("NotoSans", "B", str(FONTS / "NotoSans-Bold.ttf"))
            self.pdf.add_font("Naskh", "", str(FONTS / "NotoNaskhArabic-Regular.ttf"))
            self.pdf.set_fallback_fonts(["Naskh"], exact_match=False)
            self._shaped = True
        rtl = _starts_right_to_left(text)
        self.pdf.set_text_shaping(use_shaping_engine=True, direction="rtl" if rtl else "ltr")
        self.pdf.set_font("NotoSans", "B" if bold else "", size)
        return rtl

    def line(self, text: object, size: float = 10, bold: bool = False, gap: float = 6) -> None:
        """One paragraph, wrapped to the page width."""
        value = str(text)
        align = "R" if self._font(value, size, bold) else "L"
        self.pdf.multi_cell(self.width, gap, value, new_x="LMARGIN", new_y="NEXT", align=align)

    def field(self, label: str, value: object, size: float = 10) -> None:
        """``label: value``; a value with Urdu in it goes on its own right-to-left line."""
        text = str(value)
        if _ARABIC.search(text):
            self.line(f"{label}:", size)
            self.line(text, size)
        else:
            self.line(f"{label}: {text}", size)

    def bullet(self, text: object, size: float = 10) -> None:
        """One item of a list (an Urdu item runs right to left, without the dash)."""
        value = str(text)
        self.line(value if _ARABIC.search(value) else f"- {value}", size)

    def space(self, mm: float = 3) -> None:
        """Vertical space."""
        self.pdf.ln(mm)

    def output(self) -> bytes:
        """The PDF bytes."""
        return bytes(self.pdf.output())

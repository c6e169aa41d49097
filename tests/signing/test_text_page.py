"""signing.render.TextPage: plain A4 pages (reports, receipts) that keep every character."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from signing.render import BIDI_CONTROLS, TextPage, _starts_right_to_left


def _text(pdf: bytes, tmp_path: Path) -> str:
    (tmp_path / "p.pdf").write_bytes(pdf)
    out = subprocess.run(
        ["pdftotext", str(tmp_path / "p.pdf"), "-"], check=True, capture_output=True
    )
    return out.stdout.decode().translate(BIDI_CONTROLS)


@pytest.mark.parametrize(
    "value", ["عائشہ خان", "جامعہ پنجاب", "تاریخ پیدائش", "یہ درست ہے۔", "Ayesha Khan", "Zoë Ñúñez"]
)
def test_a_field_reads_back_exactly(tmp_path: Path, value: str) -> None:
    page = TextPage("t")
    page.field("Holder", value)
    assert value in _text(page.output(), tmp_path)


def test_latin_only_pages_embed_no_font() -> None:
    """The core font needs nothing embedded: reports in English stay a few kilobytes."""
    page = TextPage("t")
    page.line("Verdict: TOTAL_PASSED")
    pdf = page.output()
    assert b"/FontFile2" not in pdf
    assert len(pdf) < 4000


def test_an_urdu_bullet_has_no_dash(tmp_path: Path) -> None:
    page = TextPage("t")
    page.bullet("ڈومیسائل سرٹیفکیٹ")
    page.bullet("Degree")
    text = _text(page.output(), tmp_path)
    assert "- Degree" in text
    assert "- ڈومیسائل" not in text
    assert "ڈومیسائل سرٹیفکیٹ" in text


@pytest.mark.parametrize(
    ("text", "rtl"),
    [
        ("6 دسمبر 2026، 19:40", True),  # a date in Urdu starts with a digit
        ("- عائشہ", True),
        ("SHA-256: 82ae", False),
        ("2026-12-01", False),
        ("(PAdES B-LTA) طویل", False),
    ],
)
def test_a_paragraph_runs_the_way_its_first_letter_does(text: str, rtl: bool) -> None:

    assert _starts_right_to_left(text) is rtl

"""The fixed QR mask (signing.qr.QR_MASK) keeps every code readable: a few hundred real signed
codes of both key kinds, drawn by qr_png at the certificate's 60 mm, decode with zxing-cpp from
150 dpi and from 72 dpi renders (pdftoppm) of the PDF they are placed in."""

from __future__ import annotations

import datetime as dt
import functools
import io
import random
import string
import subprocess
from pathlib import Path

import pytest
import zxingcpp
from fpdf import FPDF
from PIL import Image

from keys import pki
from signing import qr

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
NAMES = ["Ayesha Khan", "Muhammad Ali Raza", "عائشہ خان", "Fatima Bibi", "Zainab Qureshi-Ahmed"]
DEGREES = ["BSc", "MSc Computer Science", "بی اے", "Bachelor of Medicine, Bachelor of Surgery"]


@functools.cache  # the same codes at both resolutions
def _links(kind: pki.KeyKind, count: int, seed: int) -> list[str]:
    """Real certificate links: signed payloads with varied serials, names and fields."""
    rnd = random.Random(seed)
    key = pki.new_private_key(kind)
    cert = pki.cert_der(pki.create_root(key, organisation="T", common_name="T", now=NOW))
    links = []
    for _ in range(count):
        serial = "-".join(
            "".join(rnd.choice(string.ascii_uppercase + string.digits) for _ in range(4))
            for _ in range(3)
        )
        fields = {
            "name": rnd.choice(NAMES),
            "degree": rnd.choice(DEGREES),
            "year": str(rnd.randint(1960, 2026)),
        }
        url, _png, _version = qr.build_qr(
            base_url="https://amanat.example.gov.pk",
            key=key,
            cert_der=cert,
            department="UNI",
            serial=serial,
            type_code="degree",
            holder=fields["name"],
            fields=fields,
            display=tuple(fields),
            issued_at=NOW + dt.timedelta(minutes=rnd.randint(0, 10**6)),
        )
        links.append(url)
    return links


PER_PAGE = 12  # 3 x 4 codes of 60 mm on A4, 5 mm apart


def _decoded(links: list[str], dpi: int, tmp: Path) -> set[str]:
    """The links whose code, drawn by qr_png 60 mm wide on A4 pages, decodes from the render."""

    pdf = FPDF(unit="mm", format="A4")
    for n, link in enumerate(links):
        if n % PER_PAGE == 0:
            pdf.add_page()
        col, row = n % 3, n % PER_PAGE // 3
        png = io.BytesIO(qr.qr_png(link)[0])
        pdf.image(png, x=10 + col * 65, y=15 + row * 65, w=60, h=60)
    pdf.output(str(tmp / "codes.pdf"))
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-gray", "codes.pdf", f"p{dpi}"], cwd=tmp, check=True
    )
    found: set[str] = set()
    px = dpi / 25.4
    for page in sorted(tmp.glob(f"p{dpi}-*.pgm")):
        image = Image.open(page)
        for cell in range(PER_PAGE):  # each code with its 2.5 mm of margin, as a phone frames it
            x, y = 7.5 + cell % 3 * 65, 12.5 + cell // 3 * 65
            crop = image.crop((int(x * px), int(y * px), int((x + 65) * px), int((y + 65) * px)))
            code = zxingcpp.read_barcode(crop, formats=zxingcpp.BarcodeFormat.QRCode)
            if code is not None:
                found.add(code.text)
    return found


@pytest.mark.parametrize(
    ("kind", "count", "dpi"),
    [("ec-p256", 200, 150), ("ec-p256", 200, 72), ("rsa-3072", 100, 150)],
)
def test_every_code_decodes_from_a_render(kind, count: int, dpi: int, tmp_path: Path) -> None:
    links = _links(kind, count, seed=count)
    decoded = _decoded(links, dpi, tmp_path)
    unread = [link for link in links if link not in decoded]
    assert unread == [], f"{len(unread)} of {count} codes did not decode at {dpi} dpi"


def test_rsa_codes_at_72_dpi_are_at_the_edge_of_what_can_be_read(tmp_path: Path) -> None:
    """An RSA department's code is version ~22 (113 modules with the border): at 60 mm and 72 dpi
    a module is 1.5 pixels, below what any mask makes safe. Measured here: 0 of 300 unread with
    qrcode's own mask choice and with mask 0 in one run, 1 of 100 with mask 0 in another (about 1
    in 400). The bound checked is 3 in 100, so that chance alone does not fail the suite; P-256
    departments (2 pixels a module, 600 of 600 read) are the default, and at 150 dpi every RSA
    code reads (test above)."""
    links = _links("rsa-3072", 100, seed=100)
    decoded = _decoded(links, 72, tmp_path)
    unread = [link for link in links if link not in decoded]
    assert len(unread) <= 3, f"{len(unread)} of 100 RSA codes did not decode at 72 dpi"

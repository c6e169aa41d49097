"""The certificate QR code (DESIGN 4.2): a URL whose fragment is a COSE_Sign1 over CWT claims."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import unicodedata
from collections.abc import Mapping
from typing import Any

import cbor2
import qrcode
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M

from keys import cose, pki
from keys.cose import (
    CLAIM_EXP,
    CLAIM_F,
    CLAIM_H,
    CLAIM_IAT,
    CLAIM_ISS,
    CLAIM_SN,
    CLAIM_ST,
    CLAIM_SUB,
    CLAIM_TYP,
)

MAX_DISPLAY = 4
MAX_DISPLAY_CHARS = 32
MAX_HOLDER_CHARS = 48
MAX_VERSION = 15  # DESIGN 4.2, for P-256 departments at error correction M
# One mask for every code. qrcode otherwise draws all eight and scores each in pure Python (18% of
# an issuance); tests/signing/test_qr_mask.py shows hundreds of real codes of both key kinds, drawn
# with this mask, decoding from 150 and 72 dpi renders of the certificate's 60 mm QR.
QR_MASK = 0


def fields_hash(fields: Mapping[str, Any]) -> bytes:
    """First 16 bytes of SHA-256 over the canonical CBOR of all certificate fields."""
    return hashlib.sha256(cbor2.dumps(dict(fields), canonical=True)).digest()[:16]


def _short(value: object, limit: int) -> str:
    text = unicodedata.normalize("NFC", str(value))
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _claims(
    *,
    department: str,
    serial: str,
    type_code: str,
    holder: str,
    fields: Mapping[str, Any],
    display: tuple[str, ...],
    issued_at: dt.datetime,
    expires_at: dt.datetime | None,
    max_display: int,
    status_idx: int | None = None,
) -> dict[int, Any]:
    """The CWT claims (DESIGN 4.2): short display copies for a reader, the hash of all fields."""
    claims: dict[int, Any] = {
        CLAIM_ISS: department,
        CLAIM_IAT: int(issued_at.timestamp()),
        CLAIM_SN: serial,
        CLAIM_TYP: type_code,
        CLAIM_SUB: _short(holder, MAX_HOLDER_CHARS),
        CLAIM_F: {
            name: _short(fields[name], MAX_DISPLAY_CHARS)
            for name in [n for n in display if n in fields][:max_display]
        },
        CLAIM_H: fields_hash(fields),
    }
    if expires_at is not None:
        claims[CLAIM_EXP] = int(expires_at.timestamp())
    if status_idx is not None:
        claims[CLAIM_ST] = status_idx
    return claims


def build_payload(
    *,
    key: pki.SigningKey,
    cert_der: bytes,
    department: str,
    serial: str,
    type_code: str,
    holder: str,
    fields: Mapping[str, Any],
    display: tuple[str, ...],
    issued_at: dt.datetime,
    expires_at: dt.datetime | None = None,
    max_display: int = MAX_DISPLAY,
    status_idx: int | None = None,
) -> str:
    """``AM1.`` + base64url(COSE_Sign1) signed with the department key.

    Display fields are short copies for a reader's eyes; the hash claim covers the full fields.
    """
    claims = _claims(
        department=department,
        serial=serial,
        type_code=type_code,
        holder=holder,
        fields=fields,
        display=display,
        issued_at=issued_at,
        expires_at=expires_at,
        max_display=max_display,
        status_idx=status_idx,
    )
    return cose.sign(key, cert_der=cert_der, claims=claims)


def certificate_url(base_url: str, serial: str, payload: str) -> str:
    """The URL the QR code encodes."""
    return f"{base_url.rstrip('/')}/v/{serial}#{payload}"


def qr_png(url: str, *, box_size: int = 4) -> tuple[bytes, int]:
    """A 1-bit PNG of the QR code (error correction M, mask :data:`QR_MASK`) and its version."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4, mask_pattern=QR_MASK)
    code.add_data(url)
    code.make(fit=True)
    # The module matrix straight to pixels (qrcode's own image drawing paints module by module).
    matrix = code.get_matrix()
    size = len(matrix)
    pixels = bytes(0 if dark else 255 for row in matrix for dark in row)
    image = Image.frombytes("L", (size, size), pixels)
    image = image.resize((size * box_size, size * box_size), Image.Resampling.NEAREST)
    out = io.BytesIO()
    image.convert("1").save(out, format="PNG")
    return out.getvalue(), int(code.version)


def _version(url: str) -> int:
    """The smallest QR version (error correction M) that holds ``url`` (no image made)."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, mask_pattern=QR_MASK)
    code.add_data(url)
    return int(code.best_fit())


def build_qr(
    *,
    base_url: str,
    key: pki.SigningKey,
    cert_der: bytes,
    department: str,
    serial: str,
    type_code: str,
    holder: str,
    fields: Mapping[str, Any],
    display: tuple[str, ...],
    issued_at: dt.datetime,
    expires_at: dt.datetime | None = None,
    status_idx: int | None = None,
) -> tuple[str, bytes, int]:
    """The certificate URL and its QR PNG, dropping display fields until it fits version 15.

    The size is found with a stand-in signature of the key's signature length, so the key signs
    once and the code is drawn once. RSA (PS256) departments cannot fit: their QR is as small as
    it gets (about version 22).
    """
    rsa = pki.signing_key_kind(key) != "ec-p256"
    protected = cose.protected_header(key, cert_der)
    # ES256 signatures are r || s (64 bytes); PS256 ones are as long as the RSA modulus.
    stand_in = bytes(getattr(key, "key_size", 3072) // 8 if rsa else 64)

    def claims_with(count: int) -> dict[int, Any]:
        return _claims(
            department=department,
            serial=serial,
            type_code=type_code,
            holder=holder,
            fields=fields,
            display=display,
            issued_at=issued_at,
            expires_at=expires_at,
            max_display=count,
            status_idx=status_idx,
        )

    claims: dict[int, Any] = {}
    for count in range(MAX_DISPLAY, -1, -1):
        claims = claims_with(count)
        sized = cose.encode(protected, cbor2.dumps(claims, canonical=True), stand_in)
        if _version(certificate_url(base_url, serial, sized)) <= MAX_VERSION:
            break
    url = certificate_url(base_url, serial, cose.sign(key, cert_der=cert_der, claims=claims))
    png, version = qr_png(url)
    return url, png, version

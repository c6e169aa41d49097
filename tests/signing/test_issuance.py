"""Issuing certificates: B-LTA PDFs that pyHanko's AdES validation accepts now and in 5 years."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import cbor2
import pytest
import zxingcpp
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from PIL import Image
from sqlalchemy import func, select

import signing.issuance as issuance_module
from audit import verify_chain
from audit.models import AuditEvent
from keys import pki
from keys import pki as recipes
from signing import pades, qr
from signing.errors import (
    InvalidRequest,
    SigningFailed,
    UnknownCertificateType,
    UnknownCitizen,
    UnknownDepartment,
)
from signing.issuance import (
    IssueRequest,
    issue_certificate,
    new_serial,
    normalize_serial,
    trust_data,
)
from signing.models import DepartmentCert, IssuedCertificate
from signing.qr import fields_hash
from tests.signing.conftest import CNIC, FIELDS
from vault.models import Document
from web.messages import refusal_text


@pytest.mark.parametrize("type_code", ["birth", "degree", "domicile"])
def test_each_type_is_issued_at_blta_and_validates_now_and_in_five_years(env, type_code) -> None:
    row = env.issue(type_code)
    data = env.pdf(row)
    assert hashlib.sha256(data).hexdigest() == row.pdf_sha256
    assert data.count(b"%%EOF") == 4, "B-LTA: original, signature, DSS, document timestamp"
    root = pki.cert_der(env.ctx.material.root_cert)
    assert pades.lta_validation(data, root=root) == "OK"
    assert (
        pades.lta_validation(data, root=root, future=env.now + dt.timedelta(days=5 * 365 + 30))
        == "OK"
    )


def test_issued_pdf_lands_in_the_holders_vault_with_events(env) -> None:
    row = env.issue("degree")
    with env.sessions() as s:
        doc = s.get(Document, row.document_id)
        assert (
            doc.owner_id == env.citizen_id
        )
        assert (
            doc.source == "issued"
        )
        assert (
            doc.kind == "certificate"
        )
        events = s.scalars(
            select(AuditEvent).where(AuditEvent.object_id.in_([row.serial, "UNI"]))
        ).all()
        assert {(e.tag, e.subject_id) for e in events} >= {
            ("certificate:issued", env.citizen_id),
            ("certificate:issued", None),
        }
        assert verify_chain(s).intact


def test_the_issued_event_names_the_department_in_urdu_too(env) -> None:
    """The citizen's activity says who issued it in her language (web/activity_lines.py)."""
    row = env.issue("degree")
    with env.sessions() as s:
        event = s.scalars(
            select(AuditEvent).where(
                AuditEvent.object_id == row.serial, AuditEvent.tag == "certificate:issued"
            )
        ).one()
    assert event.details["department_ur"] == "جامعہ پنجاب"


@pytest.mark.parametrize("level,revisions", [("B-B", 2), ("B-T", 2), ("B-LT", 3)])
def test_lower_levels_are_issued_and_checked(env, level, revisions) -> None:
    row = env.issue("degree", level=level)
    assert env.pdf(row).count(b"%%EOF") == revisions


def _decode_qr(pdf: bytes, tmp_path: Path) -> str:

    (tmp_path / "c.pdf").write_bytes(pdf)
    subprocess.run(
        # Grey PGM: pdftoppm spends most of a PNG's time compressing it.
        ["pdftoppm", "-r", "150", "-gray", "-singlefile", "c.pdf", "page"],
        cwd=tmp_path,
        check=True,
    )
    results = zxingcpp.read_barcodes(
        Image.open(tmp_path / "page.pgm"),
        formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode),
    )
    # zxing may report one symbol twice (two finder-pattern groupings): one text, one code.
    (text,) = {r.text for r in results}
    return text


def test_qr_decodes_independently_and_its_cose_signature_verifies(env, tmp_path) -> None:
    """pdftoppm + zxing-cpp read the QR; plain cbor2 + cryptography check the COSE signature."""
    row = env.issue("degree")
    url = _decode_qr(env.pdf(row), tmp_path)
    parts = urlsplit(url)
    assert parts.path == f"/v/{row.serial}"
    assert parts.fragment.startswith("AM1.")
    raw = base64.urlsafe_b64decode(parts.fragment[4:] + "=" * (-len(parts.fragment[4:]) % 4))
    tag = cbor2.loads(raw)
    assert tag.tag == 18
    protected, _unprotected, payload, signature = tag.value
    header = cbor2.loads(protected)
    with env.sessions() as s:
        cert_row = s.get(DepartmentCert, row.department_cert_id)
    cert = x509.load_der_x509_certificate(cert_row.cert_der)
    assert header == {1: -7, 4: hashlib.sha256(cert_row.cert_der).digest()[:8]}
    to_be_signed = cbor2.dumps(["Signature1", protected, b"", payload])
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    cert.public_key().verify(der, to_be_signed, ec.ECDSA(hashes.SHA256()))
    claims = cbor2.loads(payload)
    assert claims[1] == "UNI"
    assert claims[-70001] == row.serial
    assert claims[-70002] == "degree"
    assert claims[-70003] == row.holder_name == "Ayesha Khan"
    assert claims[-70004]["degree"] == "BSc Computer Science"
    assert claims[-70005] == fields_hash(row.fields)
    assert abs(claims[6] - int(row.issued_at.replace(tzinfo=dt.UTC).timestamp())) <= 1


def test_qr_stays_within_version_15(env) -> None:

    row = env.issue("domicile")
    with env.sessions() as s:
        cert_row = s.get(DepartmentCert, row.department_cert_id)
    key = env.ctx.material._department_keys[cert_row.key_id]
    long_fields = {k: "W" * 80 if not k.endswith(":ur") else v for k, v in FIELDS["birth"].items()}
    url, _png, version = qr.build_qr(
        base_url="https://verify.amanat.gov.pk",
        key=key,
        cert_der=cert_row.cert_der,
        department="UNI",
        serial=row.serial,
        type_code="birth",
        holder="W" * 80,
        fields=long_fields,
        display=("name", "date_of_birth", "father_name", "place_of_birth"),
        issued_at=env.now,
    )
    assert version <= 15
    assert url.startswith("https://verify.amanat.gov.pk/v/")


def test_serials_are_unguessable_and_typable() -> None:
    serials = {new_serial() for _ in range(2000)}
    assert len(serials) == 2000
    sample = next(iter(serials))
    assert len(sample) == 14
    assert sample.count("-") == 2
    assert normalize_serial(sample.lower().replace("-", "")) == sample


def _count(env, model) -> int:

    with env.sessions() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.parametrize(
    "kwargs,error",
    [
        ({"department": "NOPE"}, UnknownDepartment),
        ({"citizen": "35202-0000000-0"}, UnknownCitizen),
    ],
)
def test_unknown_department_or_citizen_changes_nothing(env, kwargs, error) -> None:
    args = {
        "department": "UNI",
        "citizen": CNIC,
        "type_code": "degree",
        "fields": FIELDS["degree"],
        **kwargs,
    }
    request = IssueRequest.build(**args)
    with env.sessions() as s, pytest.raises(error):
        issue_certificate(s, ctx=env.ctx, request=request, now=env.now)
    assert _count(env, IssuedCertificate) == 0
    assert _count(env, Document) == 0


def test_unknown_type_is_refused() -> None:
    with pytest.raises(UnknownCertificateType) as refused:
        IssueRequest.build(department="UNI", citizen=CNIC, type_code="passport", fields={})
    assert "known: birth, degree, domicile" in refusal_text(refused.value)


@pytest.mark.parametrize(
    "fields,message",
    [
        ({"name": "A", "degree": "BSc"}, "Missing required field"),
        ({**FIELDS["degree"], "year": "twenty"}, "year like 2024"),
        ({**FIELDS["degree"], "degree": "x" * 81}, "at most 80"),
        ({**FIELDS["degree"], "colour": "blue"}, "not part of"),
        ({**FIELDS["degree"], "name": "Ali\x07"}, "control characters"),
    ],
)
def test_bad_fields_are_refused(fields, message) -> None:
    """Each refusal is a code whose words (web/messages.py) say what to fix."""
    with pytest.raises(InvalidRequest) as refused:
        IssueRequest.build(department="UNI", citizen=CNIC, type_code="degree", fields=fields)
    assert message in refusal_text(refused.value)


def test_malformed_cnic_and_level_are_refused() -> None:
    with pytest.raises(InvalidRequest) as refused:
        IssueRequest.build(
            department="UNI", citizen="123", type_code="degree", fields=FIELDS["degree"]
        )
    assert refused.value.code == "cnic_format"  # the identity code, carried through
    with pytest.raises(InvalidRequest) as refused:
        IssueRequest.build(
            department="UNI", citizen=CNIC, type_code="degree", fields=FIELDS["degree"], level="B-X"
        )
    assert "PAdES level 'B-X'" in refusal_text(refused.value)


def test_strict_check_rejects_a_tampered_file(env) -> None:

    row = env.issue("degree")
    data = bytearray(env.pdf(row))
    with env.sessions() as s:
        cert_row = s.get(DepartmentCert, row.department_cert_id)

        trust = trust_data(s, material=env.ctx.material, cert=cert_row, now=env.now)
    # Change one byte inside the page content stream (covered by the signature).
    start = data.find(b"stream", data.find(b"/Contents")) + 20
    data[start] ^= 0x01
    tampered = bytes(data)
    for level in ("B-LTA", "B-T"):
        with pytest.raises(SigningFailed):
            pades.check_before_release(tampered, trust=trust, level=level)


def test_a_file_that_fails_the_check_is_never_stored(env, monkeypatch) -> None:
    """With the department certificate revoked (OCSP says so), issuance fails and stores nothing."""

    real = issuance_module.trust_data

    def revoked_trust(session, *, material, cert, now):
        good = real(session, material=material, cert=cert, now=now)
        revoked = recipes.build_ocsp_response(
            cert=recipes.load_cert(cert.cert_der),
            issuer_cert=material.root_cert,
            responder_cert=material.ocsp_cert,
            responder_key=material.ocsp_key,
            status="revoked",
            now=now,
            revoked=recipes.Revoked(serial=0, revoked_at=now - dt.timedelta(days=1)),
        )
        return pades.TrustData(root=good.root, crls=good.crls, ocsps=(revoked,), others=good.others)

    monkeypatch.setattr(issuance_module, "trust_data", revoked_trust)
    with pytest.raises(SigningFailed):
        env.issue("degree")
    assert _count(env, IssuedCertificate) == 0
    assert _count(env, Document) == 0
    assert list(env.ctx.vault.blobs.ids()) == []

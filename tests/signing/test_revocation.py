"""Revoking certificates and department keys: registry, OCSP and CRL."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp
from sqlalchemy import select

from audit.models import AuditEvent
from keys import pki
from signing.errors import CertificateNotFound, InvalidRequest
from signing.issuance import get_certificate, revoke_certificate
from signing.models import DepartmentCert
from signing.pki import active_cert, answer_ocsp, current_crl, ocsp_for_tsa, revoke_department_key


def _ocsp_status(env, cert_der: bytes):
    material = env.ctx.material
    cert = x509.load_der_x509_certificate(cert_der)
    request = (
        ocsp.OCSPRequestBuilder().add_certificate(cert, material.root_cert, hashes.SHA1()).build()
    )

    with env.sessions() as s:
        der = answer_ocsp(
            s, material=material, request_der=request.public_bytes(Encoding.DER), now=env.now
        )
    response = ocsp.load_der_ocsp_response(der)
    assert response.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    return response.certificate_status


def test_revoked_certificate_is_revoked_in_the_registry(env) -> None:
    row = env.issue("degree")
    with env.sessions() as s:
        revoke_certificate(s, serial=row.serial.lower(), reason="Issued in error", now=env.now)
        s.commit()
        again = get_certificate(s, serial=row.serial)
        assert again.status == "revoked"
        assert again.revocation_reason == "Issued in error"
        event = s.scalar(select(AuditEvent).where(AuditEvent.tag == "certificate:revoked"))
        assert event.subject_id == env.citizen_id


def test_revoking_twice_or_unknown_serial_is_a_clear_error(env) -> None:
    row = env.issue("degree")
    with env.sessions() as s:
        revoke_certificate(s, serial=row.serial, reason="x", now=env.now)
        with pytest.raises(InvalidRequest) as refused:
            revoke_certificate(s, serial=row.serial, reason="x", now=env.now)
        assert refused.value.code == "already_revoked"
        with pytest.raises(CertificateNotFound):
            revoke_certificate(s, serial="0000-0000-0000", reason="x", now=env.now)
        with pytest.raises(InvalidRequest, match="reason"):
            revoke_certificate(s, serial=row.serial, reason="  ", now=env.now)


def test_key_compromise_revokes_in_ocsp_and_crl_and_rolls_a_new_key(env) -> None:
    before = env.issue("degree")
    with env.sessions() as s:
        old = s.get(DepartmentCert, before.department_cert_id)
    assert _ocsp_status(env, old.cert_der) == ocsp.OCSPCertStatus.GOOD
    with env.sessions() as s:
        new = revoke_department_key(
            s, keystore=env.ctx.keystore, material=env.ctx.material, code="UNI", now=env.now
        )
        s.commit()
        assert active_cert(s, code="UNI").id == new.id != old.id
    assert _ocsp_status(env, old.cert_der) == ocsp.OCSPCertStatus.REVOKED
    assert _ocsp_status(env, new.cert_der) == ocsp.OCSPCertStatus.GOOD
    with env.sessions() as s:
        crl = x509.load_der_x509_crl(current_crl(s, material=env.ctx.material, now=env.now))
    serials = {r.serial_number for r in crl}
    assert int(old.serial_hex, 16) in serials
    assert int(new.serial_hex, 16) not in serials
    after = env.issue("degree")
    assert after.department_cert_id == new.id


def test_a_compromise_found_late_carries_its_invalidity_date_on_the_crl(env) -> None:
    """RFC 5280 5.3.2: the revocation date is the day the root processed it; the invalidity
    date says since when the key is held compromised."""

    since = env.now - dt.timedelta(days=3)
    with env.sessions() as s:
        old = active_cert(s, code="UNI")
        revoke_department_key(
            s,
            keystore=env.ctx.keystore,
            material=env.ctx.material,
            code="UNI",
            now=env.now,
            invalid_since=since,
        )
        s.commit()
        crl = x509.load_der_x509_crl(current_crl(s, material=env.ctx.material, now=env.now))
    entry = crl.get_revoked_certificate_by_serial_number(int(old.serial_hex, 16))
    assert entry is not None
    date = entry.extensions.get_extension_for_class(x509.InvalidityDate).value.invalidity_date_utc
    assert (date, entry.revocation_date_utc) == (since, env.now)


def test_an_unknown_revocation_reason_is_a_code(env) -> None:
    with env.sessions() as s, pytest.raises(InvalidRequest) as caught:
        revoke_department_key(
            s,
            keystore=env.ctx.keystore,
            material=env.ctx.material,
            code="UNI",
            now=env.now,
            reason="bored",
        )
    assert caught.value.code == "revoke_reason_unknown"


def test_ocsp_for_an_unknown_certificate_is_unauthorized(env) -> None:


    stranger_key = pki.new_private_key()
    stranger = pki.create_root(stranger_key, organisation="Other", common_name="Other", now=env.now)
    request = ocsp.OCSPRequestBuilder().add_certificate(stranger, stranger, hashes.SHA1()).build()
    with env.sessions() as s:
        der = answer_ocsp(
            s,
            material=env.ctx.material,
            request_der=request.public_bytes(Encoding.DER),
            now=env.now,
        )
        garbage = answer_ocsp(s, material=env.ctx.material, request_der=b"not ocsp", now=env.now)
    assert ocsp.load_der_ocsp_response(der).response_status == ocsp.OCSPResponseStatus.UNAUTHORIZED
    assert (
        ocsp.load_der_ocsp_response(garbage).response_status
        == ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    )
    assert isinstance(stranger_key, ec.EllipticCurvePrivateKey)


def test_the_time_stamping_authority_names_the_responder_and_it_answers(env) -> None:
    """What a verifier of an archive asks, years on: the status of the newest time-stamp's
    certificate, per certificate (signing.pki.stamp_crls says why not the root's CRL)."""

    tsa = env.ctx.material.tsa_cert
    assert pki.ocsp_urls(tsa) == ["http://localhost:8000/pki/ocsp"]
    assert _ocsp_status(env, pki.cert_der(tsa)) == ocsp.OCSPCertStatus.GOOD


def test_the_tsa_answer_is_given_only_for_a_time_stamping_certificate(env) -> None:

    assert ocsp_for_tsa(env.ctx.material, cert_der=pki.cert_der(env.ctx.material.ocsp_cert),
                        now=env.now) is None  # fmt: skip

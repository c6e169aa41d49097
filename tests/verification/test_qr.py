"""QR payloads: genuine, flipped byte, wrong kid, expired, unknown key, random — each a clear verdict."""

from __future__ import annotations

import base64
import datetime as dt

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keys import pki
from signing import qr as qr_builder
from signing.check import check_qr
from signing.issuance import revoke_certificate
from signing.models import DepartmentCert
from tests.signing.test_issuance import _decode_qr
from verification import FailedSub, IndeterminateSub, Indication
from verification.qr import TrustEntry, verify_qr
from web.messages import reason_text


@pytest.fixture
def genuine(env):
    row = env.issue("degree")
    with env.sessions() as s:
        cert = s.get(DepartmentCert, row.department_cert_id)
    key = env.ctx.material._department_keys[cert.key_id]
    return row, cert, key


def _payload(
    key, cert_der: bytes, *, serial: str, now: dt.datetime, fields: dict, **overrides
) -> str:
    args = dict(
        key=key,
        cert_der=cert_der,
        department="UNI",
        serial=serial,
        type_code="degree",
        holder="Ayesha Khan",
        fields=fields,
        display=("name", "degree"),
        issued_at=now,
    )
    args.update(overrides)
    return qr_builder.build_payload(**args)


def _trust(cert: DepartmentCert) -> list[TrustEntry]:
    return [TrustEntry(department="UNI", cert_der=cert.cert_der)]


def test_genuine_payload_passes_with_the_register(env, genuine) -> None:
    row, cert, key = genuine
    url = qr_builder.certificate_url(
        "http://localhost:8000",
        row.serial,
        _payload(key, cert.cert_der, serial=row.serial, now=env.now, fields=row.fields),
    )
    offline = verify_qr(url, trust_list=_trust(cert), now=env.now)
    assert offline.verdict.indication is Indication.INDETERMINATE
    assert "Revocation was not checked" in reason_text(offline.verdict.reasons[0])
    assert offline.claims is not None
    assert offline.claims.serial == row.serial
    with env.sessions() as s:
        result = check_qr(s, text=url, now=env.now).to_json()
    assert result["indication"] == "TOTAL_PASSED"
    assert result["certificate"]["serial"] == row.serial


def test_flipped_byte_fails(env, genuine) -> None:
    row, cert, key = genuine
    payload = _payload(key, cert.cert_der, serial=row.serial, now=env.now, fields=row.fields)
    raw = bytearray(base64.urlsafe_b64decode(payload[4:] + "=" * (-len(payload) % 4)))
    raw[len(raw) // 2] ^= 0x01
    forged = "AM1." + base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    verdict = verify_qr(forged, trust_list=_trust(cert), now=env.now).verdict
    assert verdict.indication is Indication.TOTAL_FAILED


def test_wrong_kid_fails(env, genuine) -> None:
    row, cert, key = genuine
    payload = _payload(key, cert.cert_der, serial=row.serial, now=env.now, fields=row.fields)
    raw = base64.urlsafe_b64decode(payload[4:] + "=" * (-len(payload) % 4))
    tag = cbor2.loads(raw)
    protected = cbor2.dumps({1: -7, 4: b"\x00" * 8})
    forged = (
        "AM1."
        + base64.urlsafe_b64encode(
            cbor2.dumps(cbor2.CBORTag(18, [protected, {}, tag.value[2], tag.value[3]]))
        )
        .rstrip(b"=")
        .decode()
    )
    verdict = verify_qr(forged, trust_list=_trust(cert), now=env.now).verdict
    assert verdict.indication is Indication.TOTAL_FAILED
    assert verdict.sub_indication is IndeterminateSub.NO_CERTIFICATE_CHAIN_FOUND


def test_expired_claim_fails(env, genuine) -> None:
    row, cert, key = genuine
    payload = _payload(
        key,
        cert.cert_der,
        serial=row.serial,
        now=env.now,
        fields=row.fields,
        expires_at=env.now - dt.timedelta(days=1),
    )
    verdict = verify_qr(payload, trust_list=_trust(cert), now=env.now).verdict
    assert (
        verdict.indication is Indication.TOTAL_FAILED
    )
    assert (
        verdict.sub_indication is FailedSub.EXPIRED
    )


def test_payload_signed_by_an_unknown_key_fails(env, genuine) -> None:
    row, cert, _key = genuine
    stranger = pki.new_private_key()
    # Claims the real department's kid, but signed by another key.
    payload = _payload(stranger, cert.cert_der, serial=row.serial, now=env.now, fields=row.fields)
    verdict = verify_qr(payload, trust_list=_trust(cert), now=env.now).verdict
    assert verdict.indication is Indication.TOTAL_FAILED
    assert verdict.sub_indication is FailedSub.SIG_CRYPTO_FAILURE


@pytest.mark.parametrize(
    "text",
    [
        "hello world",
        "AM1.!!!not-base64!!!",
        "AM1." + "A" * 50,
        "http://localhost:8000/v/XXXX#AM1.",
        "x" * 10_000,
    ],
)
def test_random_strings_get_a_clear_verdict(env, genuine, text) -> None:
    _row, cert, _key = genuine
    verdict = verify_qr(text, trust_list=_trust(cert), now=env.now).verdict
    assert verdict.indication is Indication.TOTAL_FAILED
    assert verdict.reasons


def test_revoked_certificate_fails_through_the_register(env, genuine) -> None:

    row, cert, key = genuine
    payload = _payload(key, cert.cert_der, serial=row.serial, now=env.now, fields=row.fields)
    with env.sessions() as s:
        revoke_certificate(s, serial=row.serial, reason="Fraud", now=env.now)
        s.commit()
        result = check_qr(s, text=payload, now=env.now).to_json()
    assert result["indication"] == "TOTAL_FAILED"
    assert result["sub_indication"] == "REVOKED"


def test_issued_pdf_qr_checks_out_through_the_cli_image_path(env, genuine, tmp_path) -> None:
    """The QR printed on the issued PDF is found by zxing-cpp and passes."""

    row, _cert, _key = genuine
    url = _decode_qr(env.pdf(row), tmp_path)
    with env.sessions() as s:
        result = check_qr(s, text=url, now=env.now).to_json()
    assert result["indication"] == "TOTAL_PASSED"


def _sign1(protected, unprotected, claims, signature) -> str:
    raw = cbor2.dumps(cbor2.CBORTag(18, [protected, unprotected, claims, signature]))
    return "AM1." + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "fields",
    [
        # A known kid with a signature that is not a byte string (was a TypeError).
        "signature-int",
        "signature-list",
        "protected-text",
        "claims-int",
        "header-list",
        "alg-text",
        "kid-int",
    ],
)
def test_cose_fields_of_the_wrong_type_are_a_damaged_code(env, genuine, fields) -> None:
    _row, cert, _key = genuine
    kid = TrustEntry(department="UNI", cert_der=cert.cert_der).kid
    protected = cbor2.dumps({1: -7, 4: kid})
    claims = cbor2.dumps({1: "UNI"})
    parts = {
        "signature-int": (protected, {}, claims, 12345),
        "signature-list": (protected, {}, claims, [b"x"]),
        "protected-text": ("header", {}, claims, b"sig"),
        "claims-int": (protected, {}, 7, b"sig"),
        "header-list": (cbor2.dumps([-7, kid]), {}, claims, b"sig"),
        "alg-text": (cbor2.dumps({1: "ES256", 4: kid}), {}, claims, b"sig"),
        "kid-int": (cbor2.dumps({1: -7, 4: 5}), {}, claims, b"sig"),
    }[fields]
    result = verify_qr(_sign1(*parts), trust_list=_trust(cert), now=env.now)
    assert result.verdict.indication is Indication.TOTAL_FAILED
    assert result.verdict.sub_indication is FailedSub.FORMAT_FAILURE


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.one_of(
        st.text(max_size=300),
        st.binary(max_size=300).map(
            lambda b: "AM1." + base64.urlsafe_b64encode(b).rstrip(b"=").decode()
        ),
        st.recursive(
            st.one_of(st.integers(), st.binary(max_size=20), st.text(max_size=5), st.none()),
            lambda inner: st.one_of(
                st.lists(inner, max_size=4), st.dictionaries(st.integers(), inner, max_size=4)
            ),
            max_leaves=12,
        ).map(
            lambda v: (
                "AM1."
                + base64.urlsafe_b64encode(cbor2.dumps(cbor2.CBORTag(18, v))).rstrip(b"=").decode()
            )
        ),
    )
)
def test_any_scanned_text_gets_a_verdict_and_never_an_exception(text) -> None:
    entry = TrustEntry(department="UNI", cert_der=b"not a certificate")
    result = verify_qr(text, trust_list=[entry], now=dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    assert result.verdict.indication in (Indication.TOTAL_FAILED, Indication.INDETERMINATE)

"""keys.cose: the QR code's COSE_Sign1, made and read in one place (DESIGN 4.2)."""

from __future__ import annotations

import datetime as dt

import cbor2
import pytest

from keys import cose, pki

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def department() -> tuple[pki.PrivateKey, bytes]:
    key = pki.new_private_key("ec-p256")
    root = pki.create_root(key, organisation="Test", common_name="Test", now=NOW)
    return key, pki.cert_der(root)


def test_a_signed_code_reads_back_and_verifies(department) -> None:
    key, cert = department
    text = cose.sign(key, cert_der=cert, claims={cose.CLAIM_SN: "AB12", cose.CLAIM_ISS: "UNI"})
    message = cose.decode(text)
    assert text.startswith(cose.PREFIX)
    assert message.algorithm == cose.ALG_ES256
    assert message.kid == pki.kid_of(cert)
    assert message.claims[cose.CLAIM_SN] == "AB12"
    assert message.verifies_with(key.public_key())


def test_another_key_does_not_verify(department) -> None:
    key, cert = department
    message = cose.decode(cose.sign(key, cert_der=cert, claims={1: "x"}))
    assert not message.verifies_with(pki.new_private_key("ec-p256").public_key())


def test_an_algorithm_that_does_not_fit_the_key_does_not_verify(department) -> None:
    key, cert = department
    good = cose.decode(cose.sign(key, cert_der=cert, claims={1: "x"}))
    protected = cbor2.dumps({1: cose.ALG_PS256, 4: good.kid}, canonical=True)
    forged = cose.decode(cose.encode(protected, good.payload, good.signature))
    assert not forged.verifies_with(key.public_key())


@pytest.mark.parametrize(
    "text", ["", "AM1.", "AM1.!!!", "XX1.AAAA", "AM1." + "A" * 40, cose.PREFIX + "oA"]
)
def test_anything_else_is_a_cose_error(text: str) -> None:
    with pytest.raises(cose.CoseError):
        cose.decode(text)

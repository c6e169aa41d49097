"""COSE_Sign1 (RFC 9052) as certificate QR codes carry it (DESIGN 4.2): the one definition of the
format, used by ``signing/qr.py`` to make codes and ``verification/qr.py`` to check them.

``AM1.`` + base64url(tagged COSE_Sign1); protected header ``{1: alg, 4: kid}`` (ES256 for P-256
department keys, PS256 for RSA); the payload is CBOR of CWT claims with the numbers below.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import cbor2

from keys import pki
from keys.errors import KeysError

PREFIX = "AM1."
ALG_ES256, ALG_PS256 = -7, -37
CLAIM_ISS, CLAIM_IAT, CLAIM_EXP = 1, 6, 4
CLAIM_SN, CLAIM_TYP, CLAIM_SUB, CLAIM_F, CLAIM_H = -70001, -70002, -70003, -70004, -70005
# The certificate's index in the deployment's Token Status List (verification/status_list.py).
# Not the draft's own "status" claim (65535, with the list's URI): that costs ~80 characters,
# three of the four display fields at version 15; the list is always the deployment's own.
CLAIM_ST = -70006
_TAG = 18


class CoseError(KeysError):
    """Not a well-formed COSE_Sign1 of this format (deliberately says no more)."""


def algorithm_for(key: pki.SigningKey) -> int:
    """The COSE algorithm a department key signs with."""
    return ALG_ES256 if pki.signing_key_kind(key) == "ec-p256" else ALG_PS256


def protected_header(key: pki.SigningKey, cert_der: bytes) -> bytes:
    """The canonical protected header naming the algorithm and the key id (DESIGN 4.2)."""
    return cbor2.dumps({1: algorithm_for(key), 4: pki.kid_of(cert_der)}, canonical=True)


def to_be_signed(protected: bytes, payload: bytes) -> bytes:
    """The Sig_structure of a COSE_Sign1 with no external data."""
    return cbor2.dumps(["Signature1", protected, b"", payload])


def encode(protected: bytes, payload: bytes, signature: bytes) -> str:
    """The text a QR code's fragment carries."""
    message = cbor2.dumps(cbor2.CBORTag(_TAG, [protected, {}, payload, signature]))
    return PREFIX + base64.urlsafe_b64encode(message).rstrip(b"=").decode()


def sign_message(
    key: pki.SigningKey, *, cert_der: bytes, claims: dict[Any, Any], header: dict[int, Any]
) -> bytes:
    """A tagged COSE_Sign1 (bytes) over ``claims``, its protected header naming the algorithm and
    the key id and carrying ``header`` as well (a status list's ``typ`` and ``x5chain``)."""
    protected = cbor2.dumps(
        {1: algorithm_for(key), 4: pki.kid_of(cert_der), **header}, canonical=True
    )
    payload = cbor2.dumps(claims, canonical=True)
    signature = pki.cose_sign(key, to_be_signed(protected, payload))
    return cbor2.dumps(cbor2.CBORTag(_TAG, [protected, {}, payload, signature]))


def sign(key: pki.SigningKey, *, cert_der: bytes, claims: dict[int, Any]) -> str:
    """``AM1.`` + a COSE_Sign1 over ``claims`` by ``key`` (signed once)."""
    message = sign_message(key, cert_der=cert_der, claims=claims, header={})
    return PREFIX + base64.urlsafe_b64encode(message).rstrip(b"=").decode()


@dataclass(frozen=True)
class Sign1:
    """A parsed COSE_Sign1, every field type-checked."""

    protected: bytes
    algorithm: int
    kid: bytes
    payload: bytes
    claims: dict[Any, Any]
    signature: bytes
    header: dict[Any, Any]

    def verifies_with(self, public: pki.PublicKey) -> bool:
        """Whether the signature verifies under ``public`` with the algorithm its kind implies."""
        expected = ALG_ES256 if pki.key_kind(public) == "ec-p256" else ALG_PS256
        data = to_be_signed(self.protected, self.payload)
        return self.algorithm == expected and pki.cose_verify(public, data, self.signature)


def decode(text: str) -> Sign1:
    """Parse ``AM1.``... into a :class:`Sign1`; CoseError for anything else."""
    if not text.startswith(PREFIX):
        raise CoseError("not a certificate code")
    body = text[len(PREFIX) :]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (ValueError, binascii.Error):
        raise CoseError("damaged certificate code") from None
    return read_message(raw)


def read_message(raw: bytes) -> Sign1:
    """Parse a tagged COSE_Sign1 whose payload is a CBOR map; CoseError for anything else."""
    try:
        message = cbor2.loads(raw)
        if not isinstance(message, cbor2.CBORTag) or message.tag != _TAG:
            raise ValueError("not COSE_Sign1")
        protected, _unprotected, payload, signature = message.value
        # Every field is type-checked before use: a signature that is a number, or a header
        # that is a list, is a damaged code, never an exception further down.
        if not all(isinstance(v, bytes) for v in (protected, payload, signature)):
            raise ValueError("COSE_Sign1 fields must be byte strings")
        header, claims = cbor2.loads(protected), cbor2.loads(payload)
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise ValueError("bad structure")
        algorithm, kid = header.get(1), header.get(4)
        if type(algorithm) is not int or not isinstance(kid, bytes):
            raise ValueError("bad structure")
    except (
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        RecursionError,
        binascii.Error,
        cbor2.CBORDecodeError,
    ):
        raise CoseError("damaged certificate code") from None
    return Sign1(protected, algorithm, kid, payload, claims, signature, header)

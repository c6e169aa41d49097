"""What signs: one protocol for a key in memory and a key that stays in a token.

A department key generated with ``--hsm`` never leaves the PKCS#11 token; one sealed under the
master key is opened into memory. The code that signs (PAdES, the QR code's COSE_Sign1) sees only
:class:`Signer` and never asks where the key lives: :class:`keys.pki.MemorySigner` and
:class:`keys.pkcs11.TokenSigningKey` meet it, and the key store hands token keys out by label
(:meth:`keys.stores.KeyStore.token_signer`), so nothing above ``keys`` imports the token library.
"""

from __future__ import annotations

from typing import Protocol


class Signer(Protocol):
    """A signing key, wherever it lives."""

    @property
    def kind(self) -> str:
        """``ec-p256`` or ``rsa-3072`` (keys.pki.KeyKind)."""
        ...

    def public_key_der(self) -> bytes:
        """The public key as SubjectPublicKeyInfo DER."""
        ...

    def sign(self, data: bytes, *, digest: str, pss: bool = False) -> bytes:
        """A CMS signature value over ``data`` hashed with ``digest``: DER ECDSA, or RSA
        PKCS#1 v1.5 / PSS."""
        ...

    def cose_sign(self, data: bytes) -> bytes:
        """A COSE signature value: ES256 as r‖s (32 + 32 bytes), PS256 for RSA."""
        ...


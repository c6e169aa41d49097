"""What signs without showing its private key: the protocol a key in a token meets.

A department key generated with ``--hsm`` never leaves the PKCS#11 token; the code that signs
(PAdES, the QR code's COSE_Sign1, OCSP) sees only this protocol. The key store hands such keys
out by label (:meth:`keys.stores.KeyStore.token_signer`), so nothing above ``keys`` imports the
token library or asks which kind of store it has.
"""

from __future__ import annotations

from typing import Protocol


class TokenKey(Protocol):
    """A signing key that stays in an HSM (see :class:`keys.pkcs11.TokenSigningKey`)."""

    kind: str

    def sign_digest_raw(self, digest: bytes) -> bytes:
        """The raw signature (r‖s for ECDSA) over a SHA-256 digest computed outside."""
        ...

    def public_key_der(self) -> bytes:
        """The public key as SubjectPublicKeyInfo DER."""
        ...

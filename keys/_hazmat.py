"""DANGEROUS raw primitives. Use the recipes in :mod:`keys.stream` and :mod:`keys.wrapping`.

These functions do no nonce management and no framing; misuse (a repeated nonce) breaks
confidentiality and integrity. They exist so that the only import of ``cryptography.hazmat`` in
Amanat is in the ``keys`` package.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from keys.errors import DecryptionFailed

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16


def aesgcm(key: bytes) -> AESGCM:
    """An AES-256-GCM context for ``key`` (reuse it across chunks: key setup is not free)."""
    if len(key) != KEY_BYTES:
        raise DecryptionFailed()
    return AESGCM(key)


def gcm_encrypt(ctx: AESGCM, nonce: bytes, data: bytes, aad: bytes) -> bytes:
    """Raw AES-GCM encryption: ciphertext ‖ tag."""
    return ctx.encrypt(nonce, data, aad)


def gcm_decrypt(ctx: AESGCM, nonce: bytes, data: bytes, aad: bytes) -> bytes:
    """Raw AES-GCM decryption; any failure is :class:`DecryptionFailed`."""
    try:
        return ctx.decrypt(nonce, data, aad)
    except (InvalidTag, ValueError, OverflowError):
        raise DecryptionFailed() from None

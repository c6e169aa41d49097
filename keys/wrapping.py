"""Key wrapping recipe: AES-256-GCM with a fresh random nonce and caller-chosen AAD.

Wrapped form: ``nonce (12) ‖ ciphertext (32) ‖ tag (16)``. The AAD binds a wrapped key to its
context (the owner, the document version), so a wrapped key copied elsewhere does not unwrap.
"""

from __future__ import annotations

import os

from keys import _hazmat
from keys.errors import DecryptionFailed


def new_key() -> bytes:
    """A fresh random 256-bit key (a data key or an owner key)."""
    return os.urandom(_hazmat.KEY_BYTES)


def wrap_key(kek: bytes, key: bytes, *, aad: bytes) -> bytes:
    """Encrypt ``key`` under ``kek``, bound to ``aad``."""
    nonce = os.urandom(_hazmat.NONCE_BYTES)
    return nonce + _hazmat.gcm_encrypt(_hazmat.aesgcm(kek), nonce, key, aad)


def unwrap_key(kek: bytes, wrapped: bytes, *, aad: bytes) -> bytes:
    """Reverse :func:`wrap_key`; any mismatch is :class:`DecryptionFailed`."""
    if len(wrapped) != _hazmat.NONCE_BYTES + _hazmat.KEY_BYTES + _hazmat.TAG_BYTES:
        raise DecryptionFailed()
    nonce, body = wrapped[: _hazmat.NONCE_BYTES], wrapped[_hazmat.NONCE_BYTES :]
    return _hazmat.gcm_decrypt(_hazmat.aesgcm(kek), nonce, body, aad)


def seal_value(key: bytes, plaintext: bytes, *, aad: bytes) -> bytes:
    """Encrypt a short value (a contact address) under an owner key, bound to ``aad``."""
    nonce = os.urandom(_hazmat.NONCE_BYTES)
    return nonce + _hazmat.gcm_encrypt(_hazmat.aesgcm(key), nonce, plaintext, aad)


def open_value(key: bytes, sealed: bytes, *, aad: bytes) -> bytes:
    """Reverse :func:`seal_value`; any mismatch is :class:`DecryptionFailed`."""
    if len(sealed) < _hazmat.NONCE_BYTES + _hazmat.TAG_BYTES:
        raise DecryptionFailed()
    nonce, body = sealed[: _hazmat.NONCE_BYTES], sealed[_hazmat.NONCE_BYTES :]
    return _hazmat.gcm_decrypt(_hazmat.aesgcm(key), nonce, body, aad)

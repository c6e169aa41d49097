"""Errors of the ``keys`` package (one root, deliberately vague crypto failures)."""

from amanat.errors import AmanatError


class KeysError(AmanatError):
    """Root of every error raised by :mod:`keys`."""


class DecryptionFailed(KeysError):
    """Ciphertext could not be authenticated or decrypted.

    Deliberately says nothing about why (wrong key, flipped bit, truncation, reordering): an
    attacker learns nothing from the error.
    """

    def __init__(self) -> None:
        super().__init__("decryption failed")


class NoToken(KeysError):
    """The key store holds no hardware token, so it cannot make or hand out a key that stays in
    one (a file key store)."""

    def __init__(self) -> None:
        super().__init__("this key store has no token", code="no_token")


class KeyStoreError(KeysError):
    """The key store is unreachable, misconfigured or lacks the requested key version."""

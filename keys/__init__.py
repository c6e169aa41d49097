"""Safe crypto recipes and key custody.

Everything that touches raw cryptographic primitives lives here and only here: the vault
ciphertext format of DESIGN 4.1 (streaming AES-256-GCM, AAD-bound to the document and version),
data-key wrapping, and the key stores that hold the master key (a versioned key file, or an AES key
that never leaves a PKCS#11 token). Callers use recipes such as :func:`keys.stream.seal` and
:meth:`keys.stores.KeyStore.wrap`; raw primitives sit in :mod:`keys._hazmat`, whose name says it
is dangerous. Failures are deliberately vague: one :class:`keys.errors.DecryptionFailed` whatever
went wrong.
"""

from keys.errors import DecryptionFailed, KeysError, KeyStoreError

__all__ = ["DecryptionFailed", "KeyStoreError", "KeysError"]

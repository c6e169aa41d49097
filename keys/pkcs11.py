"""A key store whose master keys live inside a PKCS#11 token (an HSM; SoftHSM2 in tests).

Each master-key version is an AES-256 secret key labelled ``amanat-kek-v<N>``, generated inside the
token as sensitive and non-extractable: Amanat never sees its bytes. Owner keys are wrapped with
CKM_AES_GCM (random 96-bit nonce, AAD bound) inside the token. Sessions are opened lazily per
process, because PKCS#11 login state does not survive ``fork`` in a usable way (gunicorn forks its
workers after the app is imported).
"""

from __future__ import annotations

import hashlib
import os
import threading
from typing import Any

import pkcs11
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.exceptions import PKCS11Error, UserAlreadyLoggedIn
from pkcs11.mechanisms import GCMParams

from keys.errors import DecryptionFailed, KeyStoreError

_LABEL = "amanat-kek-v{}"
_NONCE = 12


class Pkcs11KeyStore:
    """Versioned non-extractable AES-256 master keys in a PKCS#11 token."""

    def __init__(self, *, module: str, token_label: str, pin: str) -> None:
        self._module = module
        self._token_label = token_label
        self._pin = pin
        self._lock = threading.Lock()
        self._pid = -1
        self._session: Any = None
        self._keys: dict[int, Any] = {}

    @property
    def key_id(self) -> str:
        return f"pkcs11:{self._token_label}"

    def _open(self) -> Any:
        """The session of this process, opened on first use (and again after a fork)."""
        if self._session is not None and self._pid == os.getpid():
            return self._session
        try:
            lib = pkcs11.lib(self._module)
            token = lib.get_token(token_label=self._token_label)
            try:
                self._session = token.open(user_pin=self._pin, rw=True)
            except UserAlreadyLoggedIn:
                # PKCS#11 login is per process, not per session: after a fork, or when another
                # part of the process logged in, a plain session already sees the keys.
                self._session = token.open(rw=True)
        except (PKCS11Error, RuntimeError, OSError) as exc:
            raise KeyStoreError(
                f"cannot open PKCS#11 token {self._token_label!r}: {type(exc).__name__}"
            ) from None
        self._pid = os.getpid()
        self._keys = {}
        return self._session

    def _versions(self) -> dict[int, Any]:
        session = self._open()
        if not self._keys:
            found: dict[int, Any] = {}
            for obj in session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY}):
                label = obj.label or ""
                prefix = _LABEL.format("")
                if label.startswith(prefix) and label[len(prefix) :].isdigit():
                    found[int(label[len(prefix) :])] = obj
            self._keys = found
        return self._keys

    def ensure_key(self) -> None:
        """Generate the first master key in the token unless one exists."""
        with self._lock:
            if not self._versions():
                self._generate(1)

    def _generate(self, version: int) -> None:
        session = self._open()
        try:
            key = session.generate_key(
                KeyType.AES,
                256,
                label=_LABEL.format(version),
                store=True,
                template={
                    Attribute.SENSITIVE: True,
                    Attribute.EXTRACTABLE: False,
                    Attribute.TOKEN: True,
                    Attribute.ENCRYPT: True,
                    Attribute.DECRYPT: True,
                },
            )
        except PKCS11Error as exc:
            raise KeyStoreError(f"cannot create a key in the token: {type(exc).__name__}") from None
        self._keys[version] = key

    def current_version(self) -> int:
        with self._lock:
            versions = self._versions()
            if not versions:
                raise KeyStoreError("the token holds no Amanat master key (run 'amanat init')")
            return max(versions)

    def wrap(self, key: bytes, *, aad: bytes) -> tuple[int, bytes]:
        nonce = os.urandom(_NONCE)
        with self._lock:
            versions = self._versions()
            if not versions:
                raise KeyStoreError("the token holds no Amanat master key (run 'amanat init')")
            version = max(versions)
            try:
                body = versions[version].encrypt(
                    key, mechanism=Mechanism.AES_GCM, mechanism_param=GCMParams(nonce, aad, 128)
                )
            except PKCS11Error as exc:
                raise KeyStoreError(f"token refused to wrap: {type(exc).__name__}") from None
        return version, nonce + bytes(body)

    def unwrap(self, wrapped: bytes, *, version: int, aad: bytes) -> bytes:
        if len(wrapped) <= _NONCE + 16:
            raise DecryptionFailed()
        with self._lock:
            kek = self._versions().get(version)
            if kek is None:
                raise DecryptionFailed()
            try:
                plain = kek.decrypt(
                    wrapped[_NONCE:],
                    mechanism=Mechanism.AES_GCM,
                    mechanism_param=GCMParams(wrapped[:_NONCE], aad, 128),
                )
            except PKCS11Error:
                raise DecryptionFailed() from None
        return bytes(plain)

    def rotate(self) -> int:
        with self._lock:
            version = max(self._versions(), default=0) + 1
            self._generate(version)
            return version

    def check(self) -> None:
        self.current_version()

    def new_token_signer(self, label: str) -> TokenSigningKey:
        """Generate an ECDSA P-256 key pair in the token (the private half never leaves it)."""
        return generate_signing_key(self, label=label)

    def token_signer(self, label: str) -> TokenSigningKey:
        """The signing key called ``label`` in the token."""
        return TokenSigningKey(self, label)


class TokenSigningKey:
    """An ECDSA P-256 signing key generated inside the token; only signatures come out.

    The hash is computed here and the token signs the digest with CKM_ECDSA (SoftHSM2 has no
    combined ECDSA-with-SHA256 mechanism, so this "raw" mechanism is the portable choice).
    """

    kind = "ec-p256"

    def __init__(self, store: Pkcs11KeyStore, label: str) -> None:
        self._store = store
        self.label = label

    def _private(self) -> Any:
        session = self._store._open()
        try:
            return session.get_key(object_class=ObjectClass.PRIVATE_KEY, label=self.label)
        except PKCS11Error as exc:
            raise KeyStoreError(
                f"signing key {self.label!r} not in the token: {type(exc).__name__}"
            ) from None

    def sign(self, data: bytes, *, digest: str, pss: bool = False) -> bytes:
        """A DER ECDSA signature over ``data`` (SHA-256 only; ``pss`` is for RSA keys)."""
        if digest.lower() != "sha256":
            raise KeyStoreError("token keys sign SHA-256 only")
        raw = self.cose_sign(data)
        return encode_dss_signature(
            int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
        )

    def cose_sign(self, data: bytes) -> bytes:
        """ES256: r‖s over SHA-256 of ``data`` (the hash is made here, the token signs it)."""
        return self.sign_digest_raw(hashlib.sha256(data).digest())

    def sign_digest_raw(self, digest: bytes) -> bytes:
        """r‖s over a precomputed SHA-256 digest."""
        with self._store._lock:
            try:
                return bytes(self._private().sign(digest, mechanism=Mechanism.ECDSA))
            except PKCS11Error as exc:
                raise KeyStoreError(f"the token refused to sign: {type(exc).__name__}") from None

    def public_key_der(self) -> bytes:
        """The SubjectPublicKeyInfo of the key pair."""
        from pkcs11.util.ec import encode_ec_public_key  # noqa: PLC0415 - python-pkcs11's EC helpers only with a token

        with self._store._lock:
            session = self._store._open()
            public = session.get_key(object_class=ObjectClass.PUBLIC_KEY, label=self.label)
            return bytes(encode_ec_public_key(public))


def generate_signing_key(store: Pkcs11KeyStore, *, label: str) -> TokenSigningKey:
    """Generate an ECDSA P-256 key pair in the token (private half sensitive, never extractable)."""
    from pkcs11.util.ec import encode_named_curve_parameters  # noqa: PLC0415 - python-pkcs11's EC helpers only with a token

    with store._lock:
        session = store._open()
        try:
            params = session.create_domain_parameters(
                KeyType.EC,
                {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")},
                local=True,
            )
            params.generate_keypair(
                label=label,
                store=True,
                private_template={
                    Attribute.SENSITIVE: True,
                    Attribute.EXTRACTABLE: False,
                    Attribute.SIGN: True,
                    Attribute.TOKEN: True,
                },
                public_template={Attribute.VERIFY: True, Attribute.TOKEN: True},
            )
        except PKCS11Error as exc:
            raise KeyStoreError(
                f"cannot create a signing key in the token: {type(exc).__name__}"
            ) from None
    return TokenSigningKey(store, label)

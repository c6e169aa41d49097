"""The signature primitives of C2SP signed notes (c2sp.org/signed-note): the log's ECDSA P-256
note signature (type 0x02) and Ed25519 witness keys (types 0x01 / 0x04).

Only the raw operations live here (this package is the only user of cryptography.hazmat); the
note format itself is in :mod:`audit.checkpoint`.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from keys.errors import KeysError
from keys.pki import PrivateKey, load_public_key_der
from keys.stores import write_private_file


def ecdsa_note_sign(key: PrivateKey, text: bytes) -> bytes:
    """ECDSA P-256 / SHA-256 over the note text, DER-encoded (signed-note type 0x02)."""
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise KeysError("note signatures need an ECDSA key")
    return key.sign(text, ec.ECDSA(hashes.SHA256()))


def ecdsa_note_verify(public_der: bytes, text: bytes, signature: bytes) -> bool:
    """Check a type-0x02 note signature against a SubjectPublicKeyInfo (DER)."""
    try:
        public = load_public_key_der(public_der)
        if not isinstance(public, ec.EllipticCurvePublicKey):
            return False
        public.verify(signature, text, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, KeysError):
        return False
    return True


class WitnessKey:
    """An Ed25519 key kept in a 0600 file (a witness's identity), created on first use."""

    def __init__(self, path: Path) -> None:
        if not path.exists():
            _write_private(path, ed25519.Ed25519PrivateKey.generate())
        if path.stat().st_mode & 0o077:
            raise KeysError(f"witness key file {path} must not be readable by others (chmod 600)")
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except ValueError:
            raise KeysError(f"witness key file {path} is malformed") from None
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise KeysError(f"witness key file {path} is not an Ed25519 key")
        self._key = key

    @property
    def public_bytes(self) -> bytes:
        """The 32-byte Ed25519 public key."""
        return self._key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    def sign(self, message: bytes) -> bytes:
        """An Ed25519 signature (64 bytes)."""
        return self._key.sign(message)


def ed25519_verify(public: bytes, message: bytes, signature: bytes) -> bool:
    """Check an Ed25519 signature by a raw 32-byte public key."""
    try:
        ed25519.Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def _write_private(path: Path, key: ed25519.Ed25519PrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_private_file(path, pem)

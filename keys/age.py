"""Encrypting to the age format (age-encryption.org/v1, C2SP age), so that a citizen's export opens
with the standard ``age`` command-line tool and nothing of ours.

Two recipient types, as the spec defines them:

- a passphrase (``scrypt`` stanza, work factor 2^18, alone in its header, as the spec requires);
- an X25519 public key the citizen pastes (``age1...``, Bech32).

The writer streams: the payload is cut in 64 KiB chunks, each ChaCha20-Poly1305 under the payload
key with a 12-byte nonce of an 11-byte big-endian counter and a last-chunk flag, so memory stays at
one chunk whatever the size of the export. Only encryption lives here; ``age -d`` opens the files
(``tests/keys/test_age.py`` does exactly that).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
from dataclasses import dataclass
from typing import BinaryIO

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from keys.errors import KeysError

VERSION_LINE = b"age-encryption.org/v1\n"
CHUNK = 64 * 1024
SCRYPT_WORK_FACTOR = 18  # what age itself picks on ordinary machines (about a second)
_ZERO_NONCE = bytes(12)
_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


class AgeRecipientInvalid(KeysError):
    """The text is not an age X25519 recipient (age1...) or an acceptable passphrase."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


def _wrap(key: bytes, file_key: bytes) -> bytes:
    return ChaCha20Poly1305(key).encrypt(_ZERO_NONCE, file_key, None)


def _stanza(args: list[str], body: bytes) -> bytes:
    text = _b64(body)
    lines = [text[i : i + 64] for i in range(0, len(text), 64)]
    if not lines or len(lines[-1]) == 64:
        lines.append("")  # the body ends with a line shorter than 64 columns
    return ("-> " + " ".join(args) + "\n" + "".join(line + "\n" for line in lines)).encode()


@dataclass(frozen=True)
class Passphrase:
    """A passphrase recipient (scrypt)."""

    text: str = ""
    work_factor: int = SCRYPT_WORK_FACTOR

    def stanza(self, file_key: bytes) -> bytes:
        """The scrypt stanza wrapping ``file_key``."""
        salt = os.urandom(16)
        kdf = Scrypt(
            salt=b"age-encryption.org/v1/scrypt" + salt, length=32, n=2**self.work_factor, r=8, p=1
        )
        wrap_key = kdf.derive(self.text.encode("utf-8"))
        return _stanza(["scrypt", _b64(salt), str(self.work_factor)], _wrap(wrap_key, file_key))


@dataclass(frozen=True)
class X25519Recipient:
    """An X25519 public-key recipient (``age1...``)."""

    public_key: bytes

    def stanza(self, file_key: bytes) -> bytes:
        """The X25519 stanza wrapping ``file_key`` for this public key."""
        ephemeral = X25519PrivateKey.generate()
        share = ephemeral.public_key().public_bytes_raw()
        shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(self.public_key))
        wrap_key = _hkdf(shared, share + self.public_key, b"age-encryption.org/v1/X25519")
        return _stanza(["X25519", _b64(share)], _wrap(wrap_key, file_key))


Recipient = Passphrase | X25519Recipient
MIN_PASSPHRASE = 10


def passphrase_recipient(text: str) -> Passphrase:
    """A passphrase recipient; a passphrase shorter than :data:`MIN_PASSPHRASE` is refused."""
    if len(text) < MIN_PASSPHRASE:
        raise AgeRecipientInvalid(
            "passphrase too short", code="age_passphrase_short", n=MIN_PASSPHRASE
        )
    return Passphrase(text)


def _bech32_polymod(values: list[int]) -> int:
    generator = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    check = 1
    for value in values:
        top = check >> 25
        check = (check & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            check ^= generator[i] if (top >> i) & 1 else 0
    return check


def _bech32_decode(text: str) -> tuple[str, bytes]:
    """(human-readable part, data) of a Bech32 string (BIP 173), or AgeRecipientInvalid."""
    lowered = text.lower()
    hrp, sep, rest = lowered.rpartition("1")
    if not sep or not hrp or len(rest) < 6 or text not in (lowered, text.upper()):
        raise AgeRecipientInvalid("not Bech32", code="age_recipient_invalid")
    if any(ch not in _BECH32 for ch in rest):
        raise AgeRecipientInvalid("not Bech32", code="age_recipient_invalid")
    values = [_BECH32.index(ch) for ch in rest]
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    if _bech32_polymod(expanded + values) != 1:
        raise AgeRecipientInvalid("bad checksum", code="age_recipient_invalid")
    bits, acc, out = 0, 0, bytearray()
    for value in values[:-6]:
        acc, bits = (acc << 5) | value, bits + 5
        if bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
    if bits >= 5 or (acc & ((1 << bits) - 1)):
        raise AgeRecipientInvalid("bad padding", code="age_recipient_invalid")
    return hrp, bytes(out)


def x25519_recipient(text: str) -> X25519Recipient:
    """The recipient an ``age1...`` public key names (what ``age-keygen`` prints)."""
    hrp, data = _bech32_decode(text.strip())
    if hrp != "age" or len(data) != 32:
        raise AgeRecipientInvalid("not an age X25519 recipient", code="age_recipient_invalid")
    return X25519Recipient(data)


class AgeWriter:
    """Encrypts what is written to it into ``out`` as an age file; :meth:`close` finishes it
    (without it the file has no final chunk and ``age`` refuses it, as it should)."""

    def __init__(self, out: BinaryIO, recipient: Recipient) -> None:
        file_key = os.urandom(16)
        header = VERSION_LINE + recipient.stanza(file_key) + b"---"
        mac = hmac.new(_hkdf(file_key, b"", b"header"), header, hashlib.sha256).digest()
        nonce = os.urandom(16)
        out.write(header + b" " + _b64(mac).encode() + b"\n" + nonce)
        self._out = out
        self._aead = ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))
        self._buffer = bytearray()
        self._counter = 0
        self._closed = False

    def write(self, data: bytes) -> int:
        """Add plaintext; full chunks are encrypted as they fill (the last one waits for close)."""
        self._buffer += data
        # Keep at least one byte back: the final chunk must be flagged, and only close knows.
        while len(self._buffer) > CHUNK:
            self._seal(bytes(self._buffer[:CHUNK]), last=False)
            del self._buffer[:CHUNK]
        return len(data)

    def _seal(self, chunk: bytes, *, last: bool) -> None:
        nonce = struct.pack(">Q", self._counter).rjust(11, b"\0") + (b"\x01" if last else b"\0")
        self._out.write(self._aead.encrypt(nonce, chunk, None))
        self._counter += 1

    def close(self) -> None:
        """Encrypt the final chunk (empty only when nothing was written)."""
        if not self._closed:
            self._seal(bytes(self._buffer), last=True)
            self._buffer.clear()
            self._closed = True

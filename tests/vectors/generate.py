"""Regenerate ``vault_stream.json`` with a reference implementation written from DESIGN 4.1.

This deliberately does not import Amanat: it builds blobs from the format description alone, so
the test that compares Amanat's output with these vectors checks the code against the spec.
Run: ``python tests/vectors/generate.py`` (the output is deterministic).
"""

from __future__ import annotations

import hashlib
import json
import struct
import uuid
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def reference_seal(
    plain: bytes, dek: bytes, prefix: bytes, doc: uuid.UUID, version: int, log2: int
) -> bytes:
    chunk = 1 << log2
    header = b"AMV1" + bytes([log2]) + prefix
    aad = header + doc.bytes + struct.pack(">I", version)
    pieces = [plain[i : i + chunk] for i in range(0, len(plain), chunk)]
    if not pieces or len(pieces[-1]) == chunk:
        pieces.append(b"")  # the final chunk is always short (possibly empty)
    out = [header]
    for counter, piece in enumerate(pieces):
        last = counter == len(pieces) - 1
        nonce = prefix + struct.pack(">I", counter) + bytes([1 if last else 0])
        out.append(AESGCM(dek).encrypt(nonce, piece, aad))
    return b"".join(out)


def _plain(n: int) -> bytes:
    # Deterministic bytes: SHA-256 in counter mode.
    out = bytearray()
    i = 0
    while len(out) < n:
        out += hashlib.sha256(struct.pack(">I", i)).digest()
        i += 1
    return bytes(out[:n])


CASES = [
    ("empty", 0, 16),
    ("one-byte", 1, 16),
    ("short", 1000, 16),
    ("exactly-one-chunk-4k", 4096, 12),
    ("one-chunk-plus-one-4k", 4097, 12),
    ("three-chunks-4k", 3 * 4096 + 17, 12),
    ("exactly-one-chunk-64k", 65536, 16),
]


def main() -> None:
    vectors = []
    for i, (name, size, log2) in enumerate(CASES):
        dek = hashlib.sha256(b"dek" + bytes([i])).digest()
        prefix = hashlib.sha256(b"prefix" + bytes([i])).digest()[:7]
        doc = uuid.UUID(bytes=hashlib.sha256(b"doc" + bytes([i])).digest()[:16])
        version = i + 1
        plain = _plain(size)
        blob = reference_seal(plain, dek, prefix, doc, version, log2)
        vectors.append(
            {
                "name": name,
                "dek": dek.hex(),
                "nonce_prefix": prefix.hex(),
                "chunk_log2": log2,
                "document_id": str(doc),
                "version": version,
                "plaintext_sha256": hashlib.sha256(plain).hexdigest(),
                "plaintext_size": size,
                "plaintext_hex": plain.hex() if size <= 1000 else None,
                "blob_sha256": hashlib.sha256(blob).hexdigest(),
                "blob_hex": blob.hex() if len(blob) <= 1100 else None,
            }
        )
    out = Path(__file__).with_name("vault_stream.json")
    out.write_text(json.dumps({"format": "AMV1", "vectors": vectors}, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""The vault ciphertext format (DESIGN 4.1): STREAM on AES-256-GCM.

Blob layout::

    header = b"AMV1" ‖ log2(chunk size) (1 byte) ‖ nonce prefix (7 random bytes)
    blob   = header ‖ chunk_0 ‖ chunk_1 ‖ ... ‖ chunk_last

Each chunk is ``AES-256-GCM(dek, nonce = prefix ‖ uint32_be(counter) ‖ last_flag, plaintext,
aad = header ‖ document_id (16 bytes) ‖ uint32_be(version))`` of up to one chunk of plaintext. Only
the final chunk has ``last_flag = 1``; when the plaintext length is a multiple of the chunk size
(including zero) the final chunk is empty. Because the counter and the last flag are in the nonce
and the document id and version are in the AAD, truncation, extension, reordering, swapping chunks
between documents and bit flips all fail authentication. Memory use is one chunk, whatever the
size of the document.
"""

from __future__ import annotations

import os
import struct
import uuid
from typing import BinaryIO

from keys import _hazmat
from keys.errors import DecryptionFailed

MAGIC = b"AMV1"
CHUNK_LOG2 = 16
PREFIX_BYTES = 7
HEADER_BYTES = len(MAGIC) + 1 + PREFIX_BYTES
_MIN_LOG2, _MAX_LOG2 = 12, 24
_MAX_CHUNKS = 2**32


def _aad(header: bytes, document_id: uuid.UUID, version: int) -> bytes:
    return header + document_id.bytes + struct.pack(">I", version)


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + struct.pack(">IB", counter, 1 if last else 0)


def _read_full(src: BinaryIO, n: int) -> bytes:
    """Read exactly ``n`` bytes unless the stream ends first (short reads are retried)."""
    parts: list[bytes] = []
    remaining = n
    while remaining:
        block = src.read(remaining)
        if not block:
            break
        parts.append(block)
        remaining -= len(block)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def seal(src: BinaryIO, dst: BinaryIO, *, dek: bytes, document_id: uuid.UUID, version: int) -> int:
    """Encrypt everything readable from ``src`` into ``dst``; return the plaintext length."""
    return unsafe_seal_with_prefix(
        src,
        dst,
        dek=dek,
        document_id=document_id,
        version=version,
        prefix=os.urandom(PREFIX_BYTES),
    )


def unsafe_seal_with_prefix(
    src: BinaryIO,
    dst: BinaryIO,
    *,
    dek: bytes,
    document_id: uuid.UUID,
    version: int,
    prefix: bytes,
    chunk_log2: int = CHUNK_LOG2,
) -> int:
    """:func:`seal` with a caller-chosen nonce prefix and chunk size.

    Unsafe: reusing a prefix with the same DEK destroys confidentiality. Only for published test
    vectors; production code calls :func:`seal`.
    """
    if len(prefix) != PREFIX_BYTES or not _MIN_LOG2 <= chunk_log2 <= _MAX_LOG2:
        raise ValueError("bad stream parameters")
    chunk = 1 << chunk_log2
    header = MAGIC + bytes([chunk_log2]) + prefix
    aad = _aad(header, document_id, version)
    ctx = _hazmat.aesgcm(dek)
    dst.write(header)
    total = 0
    counter = 0
    while True:
        if counter >= _MAX_CHUNKS:
            raise ValueError("document too large for the stream format")
        current = _read_full(src, chunk)
        # Only a short (possibly empty) chunk is the last one; a document whose size is a multiple
        # of the chunk size ends with an empty final chunk, so truncation at a boundary is caught.
        last = len(current) < chunk
        dst.write(_hazmat.gcm_encrypt(ctx, _nonce(prefix, counter, last), current, aad))
        total += len(current)
        counter += 1
        if last:
            return total


def open_(src: BinaryIO, dst: BinaryIO, *, dek: bytes, document_id: uuid.UUID, version: int) -> int:
    """Decrypt a blob from ``src`` into ``dst``; return the plaintext length.

    Raises :class:`DecryptionFailed` on any problem. Plaintext of chunks before the failure may
    already be in ``dst``: callers write to a temporary file and release it only on success.
    """
    header = _read_full(src, HEADER_BYTES)
    if len(header) != HEADER_BYTES or header[:4] != MAGIC:
        raise DecryptionFailed()
    chunk_log2 = header[4]
    if not _MIN_LOG2 <= chunk_log2 <= _MAX_LOG2:
        raise DecryptionFailed()
    prefix = header[5:]
    ct_chunk = (1 << chunk_log2) + _hazmat.TAG_BYTES
    aad = _aad(header, document_id, version)
    ctx = _hazmat.aesgcm(dek)
    total = 0
    counter = 0
    while True:
        current = _read_full(src, ct_chunk)
        last = len(current) < ct_chunk
        if counter >= _MAX_CHUNKS or len(current) < _hazmat.TAG_BYTES:
            raise DecryptionFailed()
        plain = _hazmat.gcm_decrypt(ctx, _nonce(prefix, counter, last), current, aad)
        dst.write(plain)
        total += len(plain)
        counter += 1
        if last:
            if src.read(1):
                raise DecryptionFailed()
            return total

"""The vault ciphertext format (DESIGN 4.1)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import uuid
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keys import DecryptionFailed
from keys.stream import CHUNK_LOG2, HEADER_BYTES, open_, seal, unsafe_seal_with_prefix
from tests.vectors.generate import _plain

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "vault_stream.json").read_text())
CHUNK = 1 << CHUNK_LOG2
CT_CHUNK = CHUNK + 16
DOC = uuid.UUID("6f1c1d7e-5b0a-4c39-9a51-2a1f0c7d9e11")


def _seal(data: bytes, *, dek: bytes, doc: uuid.UUID = DOC, version: int = 1) -> bytes:
    out = io.BytesIO()
    seal(io.BytesIO(data), out, dek=dek, document_id=doc, version=version)
    return out.getvalue()


def _open(blob: bytes, *, dek: bytes, doc: uuid.UUID = DOC, version: int = 1) -> bytes:
    out = io.BytesIO()
    open_(io.BytesIO(blob), out, dek=dek, document_id=doc, version=version)
    return out.getvalue()


@pytest.fixture
def dek() -> bytes:
    return os.urandom(32)


@pytest.mark.parametrize("size", [0, 1, CHUNK, CHUNK + 1, 5 * 1024 * 1024])
def test_round_trip(size: int, dek: bytes) -> None:
    """Sealing then opening gives the same bytes at the edge sizes."""
    data = os.urandom(size)
    blob = _seal(data, dek=dek)
    assert _open(blob, dek=dek) == data


@pytest.mark.parametrize(
    "size,chunks", [(0, 1), (1, 1), (CHUNK, 2), (CHUNK + 1, 2), (3 * CHUNK, 4)]
)
def test_blob_length_follows_the_format(size: int, chunks: int, dek: bytes) -> None:
    """Header, then one tag per chunk; a size multiple of the chunk ends with an empty chunk."""
    assert len(_seal(bytes(size), dek=dek)) == HEADER_BYTES + size + 16 * chunks


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["name"])
def test_published_vectors(vector: dict) -> None:
    """Amanat's sealer reproduces the vectors made by the independent reference implementation."""
    plain = _plain(vector["plaintext_size"])
    assert hashlib.sha256(plain).hexdigest() == vector["plaintext_sha256"]
    out = io.BytesIO()
    unsafe_seal_with_prefix(
        io.BytesIO(plain),
        out,
        dek=bytes.fromhex(vector["dek"]),
        document_id=uuid.UUID(vector["document_id"]),
        version=vector["version"],
        prefix=bytes.fromhex(vector["nonce_prefix"]),
        chunk_log2=vector["chunk_log2"],
    )
    blob = out.getvalue()
    assert hashlib.sha256(blob).hexdigest() == vector["blob_sha256"]
    if vector["blob_hex"]:
        assert blob.hex() == vector["blob_hex"]
    opened = io.BytesIO()
    open_(
        io.BytesIO(blob),
        opened,
        dek=bytes.fromhex(vector["dek"]),
        document_id=uuid.UUID(vector["document_id"]),
        version=vector["version"],
    )
    assert opened.getvalue() == plain


def _fails(blob: bytes, **kwargs: object) -> None:
    with pytest.raises(DecryptionFailed) as info:
        _open(blob, **kwargs)  # type: ignore[arg-type]
    assert str(info.value) == "decryption failed"


@pytest.mark.parametrize("position", [0, 4, 5, HEADER_BYTES, HEADER_BYTES + 100, -1])
def test_flipped_bit_fails(position: int, dek: bytes) -> None:
    """A single flipped bit anywhere (header, body, tag) fails with the one vague error."""
    blob = bytearray(_seal(os.urandom(CHUNK + 500), dek=dek))
    blob[position] ^= 0x01
    _fails(bytes(blob), dek=dek)


@pytest.mark.parametrize("cut", [1, 16, 500, 516])
def test_truncated_blob_fails(cut: int, dek: bytes) -> None:
    """Cutting bytes off the end fails, including a cut exactly at a chunk boundary."""
    blob = _seal(os.urandom(CHUNK + 500), dek=dek)
    _fails(blob[:-cut], dek=dek)


def test_truncation_to_whole_chunks_fails(dek: bytes) -> None:
    """Dropping the final (empty) chunk of a chunk-aligned document fails."""
    blob = _seal(os.urandom(2 * CHUNK), dek=dek)
    _fails(blob[: HEADER_BYTES + 2 * CT_CHUNK], dek=dek)


def test_appended_bytes_fail(dek: bytes) -> None:
    """Data after the final chunk is refused."""
    _fails(_seal(b"hello", dek=dek) + b"\x00", dek=dek)


def test_reordered_chunks_fail(dek: bytes) -> None:
    """Swapping two chunks of the same document fails."""
    blob = _seal(os.urandom(3 * CHUNK), dek=dek)
    h, c = HEADER_BYTES, CT_CHUNK
    swapped = blob[:h] + blob[h + c : h + 2 * c] + blob[h : h + c] + blob[h + 2 * c :]
    _fails(swapped, dek=dek)


def test_chunk_swapped_from_another_document_fails(dek: bytes) -> None:
    """A chunk lifted from another document (same key, same prefix) fails: the AAD differs."""
    prefix = os.urandom(7)
    data = os.urandom(2 * CHUNK + 10)
    blobs = []
    for doc in (DOC, uuid.uuid4()):
        out = io.BytesIO()
        unsafe_seal_with_prefix(
            io.BytesIO(data), out, dek=dek, document_id=doc, version=1, prefix=prefix
        )
        blobs.append(out.getvalue())
    mine, theirs = blobs
    h, c = HEADER_BYTES, CT_CHUNK
    spliced = mine[: h + c] + theirs[h + c : h + 2 * c] + mine[h + 2 * c :]
    _fails(spliced, dek=dek)


def test_wrong_version_fails(dek: bytes) -> None:
    """A blob opened as another version of the same document fails."""
    _fails(_seal(b"data", dek=dek, version=1), dek=dek, version=2)


def test_wrong_document_fails(dek: bytes) -> None:
    """A blob opened as another document fails."""
    _fails(_seal(b"data", dek=dek), dek=dek, doc=uuid.uuid4())


def test_wrong_key_fails(dek: bytes) -> None:
    """Another data key fails."""
    _fails(_seal(b"data", dek=dek), dek=os.urandom(32))


def test_garbage_fails(dek: bytes) -> None:
    """Input that is not a blob at all fails the same way."""
    for junk in (b"", b"AMV1", b"%PDF-1.7 not a blob" * 10, b"AMV1\xff" + bytes(40)):
        _fails(junk, dek=dek)


def test_nonce_prefix_is_fresh_per_seal(dek: bytes) -> None:
    """Two seals of the same data under the same key differ (random nonce prefix)."""
    assert _seal(b"same", dek=dek) != _seal(b"same", dek=dek)


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=3 * 4096 + 5), log2=st.integers(min_value=12, max_value=13))
def test_round_trip_property(data: bytes, log2: int) -> None:
    """Any plaintext round-trips at small chunk sizes (many chunk boundaries)."""
    dek = bytes(range(32))
    out = io.BytesIO()
    unsafe_seal_with_prefix(
        io.BytesIO(data),
        out,
        dek=dek,
        document_id=DOC,
        version=3,
        prefix=b"\x01" * 7,
        chunk_log2=log2,
    )
    assert _open(out.getvalue(), dek=dek, version=3) == data

"""The vault stream reader over damaged blobs: DecryptionFailed, never another exception."""

from __future__ import annotations

import io
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from keys.errors import DecryptionFailed
from keys.stream import open_, seal

DEK = bytes(range(32))
DOC = uuid.UUID(int=7)


def _sealed(plain: bytes) -> bytes:
    out = io.BytesIO()
    seal(io.BytesIO(plain), out, dek=DEK, document_id=DOC, version=1)
    return out.getvalue()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_never_decrypt(data: bytes) -> None:
    try:
        open_(io.BytesIO(data), io.BytesIO(), dek=DEK, document_id=DOC, version=1)
    except DecryptionFailed:
        return
    raise AssertionError("random bytes decrypted")


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=1, max_size=200), st.data())
def test_any_single_change_to_a_sealed_blob_is_refused(plain: bytes, data: st.DataObject) -> None:
    blob = bytearray(_sealed(plain))
    cut = data.draw(st.booleans())
    at = data.draw(st.integers(0, len(blob) - 1))
    if cut:
        del blob[at:]
    else:
        blob[at] ^= data.draw(st.integers(1, 255))
    try:
        open_(io.BytesIO(bytes(blob)), io.BytesIO(), dek=DEK, document_id=DOC, version=1)
    except DecryptionFailed:
        return
    raise AssertionError("a changed blob decrypted")

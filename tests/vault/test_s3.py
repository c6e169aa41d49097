"""The S3 blob store on a real Swift: a blob larger than a part goes up in parts and lands at its
content address, nothing left under tmp/; bad names and a store that is away are said plainly."""

from __future__ import annotations

import hashlib
import os

import pytest

from vault.errors import BlobStoreError
from vault.s3 import PART, S3BlobStore


def test_a_blob_of_several_parts_lands_whole_at_its_address(s3_store: S3BlobStore) -> None:
    data = os.urandom(2 * PART + 12345)
    writer = s3_store.writer()
    for start in range(0, len(data), 1 << 20):
        writer.write(data[start : start + (1 << 20)])
    blob_id = writer.publish()
    assert blob_id == hashlib.sha256(data).hexdigest()
    with s3_store.open(blob_id) as fh:
        assert fh.read() == data
    assert list(s3_store.ids()) == [blob_id]
    leftovers = s3_store.client.list_objects_v2(Bucket=s3_store.bucket,
                                                Prefix=s3_store.prefix + "tmp/")  # fmt: skip
    assert leftovers.get("KeyCount", 0) == 0


def test_an_aborted_blob_leaves_nothing(s3_store: S3BlobStore) -> None:
    writer = s3_store.writer()
    writer.write(os.urandom(PART + 1))
    writer.abort()
    uploads = s3_store.client.list_multipart_uploads(Bucket=s3_store.bucket,
                                                     Prefix=s3_store.prefix)  # fmt: skip
    assert uploads.get("Uploads", []) == []
    assert list(s3_store.ids()) == []


@pytest.mark.parametrize(
    "url", ["s3://Bad_Bucket", "s3://x", "s3://"], ids=["case", "short", "none"]
)
def test_a_bad_bucket_name_is_refused(url: str) -> None:
    with pytest.raises(BlobStoreError):
        S3BlobStore.from_url(url)


def test_a_store_that_is_away_is_said_plainly(swift_s3: dict[str, str], monkeypatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:1")
    store = S3BlobStore("amanat-tests")
    with pytest.raises(BlobStoreError, match="object store"):
        store.check()

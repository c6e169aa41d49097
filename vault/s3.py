"""A blob store on any S3-compatible service (``AMANAT_BLOBSTORE=s3://BUCKET[/PREFIX]``); the
only module that imports boto3.

Configured as the ecosystem expects: boto3's own variables and files (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_ENDPOINT_URL_S3``, ``AWS_DEFAULT_REGION``, ``AWS_PROFILE``). The
guarantees are the file store's: a blob is content addressed (its key ends in the SHA-256 of the
ciphertext), is only published whole, is removed when the transaction that references it rolls
back, and an orphan is found by ``amanat vault sweep``. Memory stays constant: a blob up to one
part (8 MiB) is put once; a larger one is spooled to a local temporary file while it is hashed,
then sent to its content address in parts. Reads stream.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import os
import re
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, BinaryIO

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from vault.errors import BlobStoreError

PART = 8 * 1024 * 1024
# Parts sent at once (memory: about IN_FLIGHT parts).
IN_FLIGHT = 3
_BLOB_ID = re.compile(r"^[0-9a-f]{64}$")
_ERRORS = (BotoCoreError, ClientError)


def _failed(what: str) -> BlobStoreError:
    # Deliberately plain: the service's error names the store, never a key or a credential.
    return BlobStoreError(f"the object store could not {what}", code="storage_unavailable")


class _Reader(io.RawIOBase):
    """A blob's body, streamed; errors while reading are the store's errors."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._body.read(len(buffer))
        except (*_ERRORS, OSError):
            raise _failed("read a blob") from None
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._body.close()
        super().close()


class _S3Writer:
    """Ciphertext spooled to a local temporary file while it is hashed, then sent straight to its
    content address: one put up to a part, else a multipart upload with IN_FLIGHT parts at once
    (memory stays bound; no copy inside the store, which doubled the time on Swift)."""

    def __init__(self, store: S3BlobStore) -> None:
        self._store = store
        self._hash = hashlib.sha256()
        self._spool = tempfile.TemporaryFile(prefix="amanat-blob-")  # noqa: SIM115 (closed in publish/abort)
        self._size = 0
        self._done = False

    def write(self, data: bytes) -> int:
        self._hash.update(data)
        self._size += len(data)
        return self._spool.write(data)

    def publish(self) -> str:
        blob_id = self._hash.hexdigest()
        key = self._store.key_of(blob_id)
        s3, bucket = self._store.client, self._store.bucket
        try:
            self._spool.flush()
            if self._size <= PART:  # one part: one put
                self._spool.seek(0)
                s3.put_object(Bucket=bucket, Key=key, Body=self._spool.read())
            else:
                self._multipart(key)
        except (*_ERRORS, OSError):
            self.abort()
            raise _failed("store a blob") from None
        finally:
            self._spool.close()
        self._done = True
        return blob_id

    def _multipart(self, key: str) -> None:
        s3, bucket = self._store.client, self._store.bucket
        upload = str(s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"])
        fd = self._spool.fileno()

        def send(number: int) -> dict[str, Any]:
            chunk = os.pread(fd, PART, (number - 1) * PART)
            sent = s3.upload_part(Bucket=bucket, Key=key, PartNumber=number, UploadId=upload,
                                  Body=chunk)  # fmt: skip
            return {"PartNumber": number, "ETag": sent["ETag"]}

        count = (self._size + PART - 1) // PART
        try:
            with ThreadPoolExecutor(IN_FLIGHT, thread_name_prefix="s3-part") as pool:
                parts = list(pool.map(send, range(1, count + 1)))
            s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload,
                                         MultipartUpload={"Parts": parts})  # fmt: skip
        except _ERRORS:
            # If this fails too, the sweep aborts uploads older than its age.
            with contextlib.suppress(*_ERRORS):
                s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload)
            raise

    def abort(self) -> None:
        if not self._done:
            self._done = True
            self._spool.close()


class S3BlobStore:
    """Content-addressed blobs in a bucket: ``PREFIX/ab/cd/abcd…``."""

    def __init__(self, bucket: str, prefix: str = "", client: Any = None) -> None:
        self.bucket = bucket
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        config = Config(retries={"max_attempts": 3, "mode": "standard"})
        self.client = client or boto3.session.Session().client("s3", config=config)

    @classmethod
    def from_url(cls, url: str) -> S3BlobStore:
        """``s3://BUCKET[/PREFIX]``."""
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", bucket):
            raise BlobStoreError("bad bucket name", code="storage_setting")
        return cls(bucket, prefix)

    def key_of(self, blob_id: str) -> str:
        """The object key of a blob; BlobStoreError for a malformed id."""
        if not _BLOB_ID.match(blob_id):
            raise BlobStoreError("malformed blob id")
        return f"{self.prefix}{blob_id[:2]}/{blob_id[2:4]}/{blob_id}"

    def ensure_bucket(self) -> bool:
        """Create the bucket when it is missing (``amanat init``); True when it was made."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
            return False
        except ClientError:
            pass
        try:
            self.client.create_bucket(Bucket=self.bucket)
        except _ERRORS:
            raise _failed("create its bucket") from None
        return True

    def check(self) -> None:
        """The bucket answers (``/readyz``)."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except _ERRORS:
            raise _failed("be reached") from None

    def writer(self) -> _S3Writer:
        return _S3Writer(self)

    def open(self, blob_id: str) -> BinaryIO:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.key_of(blob_id))["Body"]
        except _ERRORS:
            raise BlobStoreError("blob missing") from None
        return io.BufferedReader(_Reader(body), buffer_size=1024 * 1024)

    def delete(self, blob_id: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.key_of(blob_id))
        except _ERRORS:
            raise _failed("delete a blob") from None

    def _keys(self, under: str) -> Iterator[dict[str, Any]]:
        pages = self.client.get_paginator("list_objects_v2")
        try:
            for page in pages.paginate(Bucket=self.bucket, Prefix=self.prefix + under):
                yield from page.get("Contents", [])
        except _ERRORS:
            raise _failed("list its blobs") from None

    def ids(self) -> Iterator[str]:
        for item in self._keys(""):
            name = str(item["Key"])[len(self.prefix) :]
            parts = name.split("/")
            if len(parts) == 3 and _BLOB_ID.match(parts[2]) and name.startswith(parts[2][:2]):
                yield parts[2]

    def age_seconds(self, blob_id: str) -> float:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self.key_of(blob_id))
        except _ERRORS:
            return 0.0
        # Swift rounds Last-Modified up to the second: a new blob may seem a little young.
        return max(0.0, float((dt.datetime.now(dt.UTC) - head["LastModified"]).total_seconds()))

    def sweep_partial(self, *, min_age_seconds: float) -> int:
        """Abort the multipart uploads a crash left unfinished (older than ``min_age_seconds``)."""
        now, removed = dt.datetime.now(dt.UTC), 0
        try:
            uploads = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=self.prefix)
            for up in uploads.get("Uploads", []):
                # Times are rounded up to the second: an age is never below zero.
                if max(0.0, (now - up["Initiated"]).total_seconds()) >= min_age_seconds:
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=up["Key"], UploadId=up["UploadId"]
                    )
                    removed += 1
        except _ERRORS:
            raise _failed("list its unfinished uploads") from None
        return removed

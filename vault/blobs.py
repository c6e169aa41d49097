"""Blob stores: where sealed documents live.

:class:`FileBlobStore` is content-addressed (the blob id is the SHA-256 of the ciphertext) and
crash-safe: a blob is written to a temporary file, fsynced, then renamed into place, so a reader
never sees a partial blob. Blobs are tied to the database transaction that references them:
:func:`track_new_blob` removes a blob if its transaction rolls back, and :func:`remove_after_commit`
removes one only after the deletion of its row has committed. A crash between the blob write and
the commit can still leave an unreferenced blob; it holds only ciphertext whose key never reached
the database, and :func:`vault.service.sweep_orphan_blobs` removes it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Protocol

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from vault.errors import BlobStoreError

_BLOB_ID = re.compile(r"^[0-9a-f]{64}$")


class BlobWriter(Protocol):
    """A blob being written: a binary sink, then :meth:`publish` or :meth:`abort`."""

    def write(self, data: bytes) -> int: ...
    def publish(self) -> str: ...
    def abort(self) -> None: ...


class BlobStore(Protocol):
    """Where ciphertext blobs are kept."""

    def writer(self) -> BlobWriter: ...
    def open(self, blob_id: str) -> BinaryIO: ...
    def delete(self, blob_id: str) -> None: ...
    def ids(self) -> Iterator[str]: ...
    def age_seconds(self, blob_id: str) -> float: ...
    def sweep_partial(self, *, min_age_seconds: float) -> int: ...
    def check(self) -> None: ...


def open_blobstore(spec: str, *, default_dir: Path) -> BlobStore:
    """The store ``AMANAT_BLOBSTORE`` names: ``file:<folder>`` (the default, ``default_dir``) or
    ``s3://BUCKET[/PREFIX]`` (boto3 reads its own configuration)."""
    if spec.startswith("s3://"):
        from vault.s3 import S3BlobStore  # noqa: PLC0415 - boto3 only for an s3:// blob store

        return S3BlobStore.from_url(spec)
    if spec and not spec.startswith("file:"):
        raise BlobStoreError("AMANAT_BLOBSTORE must be file:<folder> or s3://bucket[/prefix]",
                             code="storage_setting")  # fmt: skip
    return FileBlobStore(Path(spec.removeprefix("file:")) if spec else default_dir)


class _FileBlobWriter:
    def __init__(self, store: FileBlobStore) -> None:
        self._store = store
        fd, name = tempfile.mkstemp(dir=store.tmp_dir, prefix="blob.", suffix=".part")
        self._path = Path(name)
        self._fh = os.fdopen(fd, "wb", buffering=1024 * 1024)
        self._hash = hashlib.sha256()
        self._done = False

    def write(self, data: bytes) -> int:
        self._hash.update(data)
        return self._fh.write(data)

    def publish(self) -> str:
        try:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            blob_id = self._hash.hexdigest()
            final = self._store.path_of(blob_id)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self._path, final)
            _fsync_dir(final.parent)
        except OSError as exc:
            self.abort()
            raise BlobStoreError(f"could not store the blob: {exc.strerror}") from None
        self._done = True
        return blob_id

    def abort(self) -> None:
        if not self._done:
            self._done = True
            self._fh.close()
            self._path.unlink(missing_ok=True)

    def __enter__(self) -> _FileBlobWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.abort()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FileBlobStore:
    """Content-addressed blobs under a folder: ``ab/cd/abcd…`` plus ``tmp/`` for writes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp_dir = root / "tmp"
        # Only the service account may list the blobs (they are ciphertext, but their number and
        # sizes are facts about citizens).
        self.tmp_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        with contextlib.suppress(OSError):
            root.chmod(0o700)

    def path_of(self, blob_id: str) -> Path:
        """Where a blob lives; BlobStoreError for a malformed id."""
        if not _BLOB_ID.match(blob_id):
            raise BlobStoreError("malformed blob id")
        return self.root / blob_id[:2] / blob_id[2:4] / blob_id

    def writer(self) -> _FileBlobWriter:
        return _FileBlobWriter(self)

    def open(self, blob_id: str) -> BinaryIO:
        try:
            return self.path_of(blob_id).open("rb")
        except OSError:
            raise BlobStoreError("blob missing") from None

    def delete(self, blob_id: str) -> None:
        self.path_of(blob_id).unlink(missing_ok=True)

    def ids(self) -> Iterator[str]:
        for path in self.root.glob("??/??/*"):
            if _BLOB_ID.match(path.name):
                yield path.name

    def age_seconds(self, blob_id: str) -> float:
        try:
            return time.time() - self.path_of(blob_id).stat().st_mtime
        except OSError:
            return 0.0

    def check(self) -> None:
        """A file can be written and removed where blobs go (``/readyz``)."""
        try:
            with tempfile.NamedTemporaryFile(dir=self.tmp_dir, prefix="check-") as fh:
                fh.write(b"x")
                fh.flush()
                os.fsync(fh.fileno())
        except OSError:
            raise BlobStoreError(
                "the blob folder cannot be written", code="storage_unavailable"
            ) from None

    def sweep_partial(self, *, min_age_seconds: float) -> int:
        """Remove half-written blobs (``tmp/*.part``) a crash left behind; how many."""
        removed = 0
        for path in self.tmp_dir.glob("blob.*.part"):
            with contextlib.suppress(OSError):
                if time.time() - path.stat().st_mtime >= min_age_seconds:
                    path.unlink()
                    removed += 1
        return removed


_NEW = "vault.new_blobs"
_DOOMED = "vault.doomed_blobs"


def track_new_blob(session: Session, store: BlobStore, blob_id: str) -> None:
    """Remove this freshly written blob if the session's transaction rolls back."""
    session.info.setdefault(_NEW, []).append((store, blob_id))


def remove_after_commit(session: Session, store: BlobStore, blob_id: str) -> None:
    """Remove this blob once the transaction that deleted its row has committed."""
    session.info.setdefault(_DOOMED, []).append((store, blob_id))


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    session.info.pop(_NEW, None)
    for store, blob_id in session.info.pop(_DOOMED, []):
        # The row and its key are gone already: the blob is unreadable; the sweep removes it.
        with contextlib.suppress(OSError, BlobStoreError):
            store.delete(blob_id)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous: SessionTransaction) -> None:
    if previous.parent is not None:
        return
    session.info.pop(_DOOMED, None)
    for store, blob_id in session.info.pop(_NEW, []):
        with contextlib.suppress(OSError, BlobStoreError):
            store.delete(blob_id)

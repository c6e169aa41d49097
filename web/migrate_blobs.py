"""``amanat vault migrate-blobs --to s3://...``: copy every referenced blob from the store in use
to another, resumably. Blobs are content addressed, so a blob already at the target is skipped
(a second run copies only what the first did not) and each copy is checked: the target must
publish it under the same id. Nothing is deleted from the source; switch ``AMANAT_BLOBSTORE``
when the run says it is complete, then sweep the old store."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass

from vault.blobs import BlobStore
from vault.errors import BlobStoreError


@dataclass(frozen=True)
class Migration:
    """How a run went."""

    copied: int
    present: int


def _present(store: BlobStore) -> set[str]:
    return set(store.ids())


def migrate_blobs(
    ids: list[str], *, source: BlobStore, target: BlobStore, progress: Callable[[], None]
) -> Migration:
    """Copy each of ``ids`` that the target lacks; BlobStoreError when one comes out different."""
    there = _present(target)
    copied = 0
    for blob_id in ids:
        if blob_id not in there:
            writer = target.writer()
            try:
                with source.open(blob_id) as src:
                    shutil.copyfileobj(src, writer, 1024 * 1024)
            except BaseException:
                writer.abort()
                raise
            if writer.publish() != blob_id:
                raise BlobStoreError("a blob changed on its way", code="storage_unavailable")
            copied += 1
        progress()
    return Migration(copied=copied, present=len(ids) - copied)

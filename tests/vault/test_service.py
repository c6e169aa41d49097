"""Vault services on both databases: store, open, list, rename, version, delete, crash safety."""

from __future__ import annotations

import datetime as dt
import io
import os
import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import vault.service as svc
from audit import verify_chain
from audit.models import AuditEvent
from keys.pkcs11 import Pkcs11KeyStore
from keys.stores import FileKeyStore
from tests.vault.conftest import partial_blobs, tamper_blob
from vault.blobs import FileBlobStore
from vault.errors import DocumentNotFound, DocumentUnreadable, UploadRejected, UploadTooLarge
from vault.models import Document, DocumentVersion, OwnerKey
from vault.service import (
    VaultContext,
    add_version,
    delete_document,
    list_documents,
    open_document,
    rename_document,
    rewrap_owner_keys,
    store_document,
    sweep_orphan_blobs,
)
from vault.uploads import DocumentKind, Upload

LIMIT = 10 * 1024 * 1024
PDF = b"%PDF-1.7\n" + os.urandom(200_000)


def _upload(title: str = "Degree") -> Upload:
    return Upload(
        filename="degree.pdf", media_type="application/pdf", title=title, kind=DocumentKind.DEGREE
    )


def _store(
    sessions: sessionmaker[Session],
    ctx: VaultContext,
    owner: int,
    now: dt.datetime,
    data: bytes = PDF,
) -> uuid.UUID:
    with sessions() as s:
        doc = store_document(
            s,
            ctx=ctx,
            owner_id=owner,
            upload=_upload(),
            src=io.BytesIO(data),
            max_bytes=LIMIT,
            now=now,
        )
        s.commit()
        return doc.id


def _blobs(ctx: VaultContext) -> list[str]:
    return list(ctx.blobs.ids())


def _rows(sessions: sessionmaker[Session], model: type) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_store_and_open_round_trip(sessions, ctx, owner, now) -> None:
    """A stored document opens to the same bytes, and the blob on disk is not the plaintext."""
    doc_id = _store(sessions, ctx, owner, now)
    (blob_id,) = _blobs(ctx)
    raw = ctx.blobs.open(blob_id).read()
    assert raw.startswith(b"AMV1")
    assert PDF[:64] not in raw
    with sessions() as s:
        opened = open_document(
            s, ctx=ctx, owner_id=owner, document_id=doc_id, purpose="download", now=now
        )
        assert opened.file.read() == PDF
        assert opened.version.size == len(PDF)
        s.commit()


def test_open_records_the_access(sessions, ctx, owner, now) -> None:
    """Viewing and downloading are ledger events about the owner."""
    doc_id = _store(sessions, ctx, owner, now)
    with sessions() as s:
        open_document(
            s, ctx=ctx, owner_id=owner, document_id=doc_id, purpose="view", now=now
        ).file.close()
        open_document(
            s, ctx=ctx, owner_id=owner, document_id=doc_id, purpose="download", now=now
        ).file.close()
        s.commit()
        tags = list(
            s.scalars(
                select(AuditEvent.tag)
                .where(AuditEvent.subject_id == owner)
                .order_by(AuditEvent.seq)
            )
        )
    assert tags[-3:] == [
        "vault:document-uploaded",
        "vault:document-viewed",
        "vault:document-downloaded",
    ]


def test_other_owner_gets_not_found(sessions, ctx, owner, other, now) -> None:
    """Someone else's document id is 'not found', for reading, renaming and deleting."""
    doc_id = _store(sessions, ctx, owner, now)
    with sessions() as s:
        with pytest.raises(DocumentNotFound):
            open_document(s, ctx=ctx, owner_id=other, document_id=doc_id, purpose="view", now=now)
        with pytest.raises(DocumentNotFound):
            rename_document(s, owner_id=other, document_id=doc_id, title="mine", now=now)
        with pytest.raises(DocumentNotFound):
            delete_document(s, ctx=ctx, owner_id=other, document_id=doc_id, now=now)
    assert _rows(sessions, Document) == 1
    assert len(_blobs(ctx)) == 1


def test_list_is_per_owner(sessions, ctx, owner, other, now) -> None:
    """Each owner lists only their own documents."""
    _store(sessions, ctx, owner, now)
    _store(sessions, ctx, other, now)
    with sessions() as s:
        assert len(list_documents(s, owner_id=owner)) == 1
        assert len(list_documents(s, owner_id=other)) == 1


def test_rename(sessions, ctx, owner, now) -> None:
    """Renaming changes the title and records old and new."""
    doc_id = _store(sessions, ctx, owner, now)
    with sessions() as s:
        rename_document(s, owner_id=owner, document_id=doc_id, title="  BSc   Degree ", now=now)
        s.commit()
        assert s.get(Document, doc_id).title == "BSc Degree"


def test_new_version_keeps_old_version_readable(sessions, ctx, owner, now) -> None:
    """A new version becomes current; the earlier one still opens."""
    doc_id = _store(sessions, ctx, owner, now)
    with sessions() as s:
        add_version(
            s,
            ctx=ctx,
            owner_id=owner,
            document_id=doc_id,
            upload=_upload(),
            src=io.BytesIO(b"%PDF-2"),
            max_bytes=LIMIT,
            now=now,
        )
        s.commit()
        assert (
            open_document(
                s, ctx=ctx, owner_id=owner, document_id=doc_id, purpose="view", now=now
            ).file.read()
            == b"%PDF-2"
        )
        assert (
            open_document(
                s, ctx=ctx, owner_id=owner, document_id=doc_id, purpose="view", version=1, now=now
            ).file.read()
            == PDF
        )


def test_delete_removes_rows_keys_and_blobs(sessions, ctx, owner, now) -> None:
    """Deleting destroys the wrapped data keys with the rows and removes the blobs after commit."""
    doc_id = _store(sessions, ctx, owner, now)
    with sessions() as s:
        delete_document(s, ctx=ctx, owner_id=owner, document_id=doc_id, now=now)
        assert len(_blobs(ctx)) == 1, "blob stays until the deletion commits"
        s.commit()
    assert _blobs(ctx) == []
    assert _rows(sessions, Document) == 0
    assert _rows(sessions, DocumentVersion) == 0


def test_failure_after_blob_write_leaves_no_orphan_and_no_row(
    sessions, ctx, owner, now, monkeypatch
) -> None:
    """A failure injected after the blob is written and before commit leaves nothing behind."""

    def boom(*args, **kwargs):
        raise RuntimeError("injected failure after blob write")

    with sessions() as s:
        monkeypatch.setattr(svc, "record_event", boom)
        with pytest.raises(RuntimeError, match="injected"):
            store_document(
                s,
                ctx=ctx,
                owner_id=owner,
                upload=_upload(),
                src=io.BytesIO(PDF),
                max_bytes=LIMIT,
                now=now,
            )
        s.rollback()
    assert _blobs(ctx) == []
    assert _rows(sessions, Document) == 0
    assert _rows(sessions, DocumentVersion) == 0


def test_commit_failure_leaves_no_orphan(sessions, ctx, owner, now, monkeypatch) -> None:
    """If the commit itself fails, the blob written for it is removed."""
    with sessions() as s:
        store_document(
            s,
            ctx=ctx,
            owner_id=owner,
            upload=_upload(),
            src=io.BytesIO(PDF),
            max_bytes=LIMIT,
            now=now,
        )
        assert len(_blobs(ctx)) == 1

        def failing_commit() -> None:
            raise RuntimeError("injected commit failure")

        monkeypatch.setattr(s, "commit", failing_commit)
        with pytest.raises(RuntimeError):
            s.commit()
        s.rollback()
    assert _blobs(ctx) == []
    assert _rows(sessions, Document) == 0


def test_failure_before_delete_commit_keeps_everything(sessions, ctx, owner, now) -> None:
    """A deletion that rolls back leaves the row and the blob, and the document still opens."""
    doc_id = _store(sessions, ctx, owner, now)
    with sessions() as s:
        delete_document(s, ctx=ctx, owner_id=owner, document_id=doc_id, now=now)
        s.rollback()
    assert len(_blobs(ctx)) == 1
    with sessions() as s:
        assert (
            open_document(
                s, ctx=ctx, owner_id=owner, document_id=doc_id, purpose="view", now=now
            ).file.read()
            == PDF
        )


def test_oversized_stream_is_refused_and_leaves_nothing(sessions, ctx, owner, now) -> None:
    """A body larger than the limit is refused while streaming; no blob, no row."""
    with sessions() as s, pytest.raises(UploadTooLarge):
        store_document(
            s,
            ctx=ctx,
            owner_id=owner,
            upload=_upload(),
            src=io.BytesIO(PDF),
            max_bytes=1000,
            now=now,
        )
    assert _blobs(ctx) == []
    assert partial_blobs(ctx) == []
    assert _rows(sessions, Document) == 0


def test_empty_stream_is_refused(sessions, ctx, owner, now) -> None:
    """An empty body is refused."""
    with sessions() as s, pytest.raises(UploadRejected):
        store_document(
            s,
            ctx=ctx,
            owner_id=owner,
            upload=_upload(),
            src=io.BytesIO(b""),
            max_bytes=LIMIT,
            now=now,
        )
    assert _blobs(ctx) == []


def test_tampered_blob_is_never_released(sessions, ctx, owner, now) -> None:
    """A flipped bit in the stored blob makes the document unreadable, with no partial output."""
    doc_id = _store(sessions, ctx, owner, now)
    (blob_id,) = _blobs(ctx)
    tamper_blob(ctx, blob_id)
    with sessions() as s, pytest.raises(DocumentUnreadable):
        open_document(s, ctx=ctx, owner_id=owner, document_id=doc_id, purpose="view", now=now)


def test_rotation_keeps_documents_readable(sessions, ctx, owner, now) -> None:
    """After a master-key rotation and rewrap, earlier documents still open; blobs unchanged."""
    doc_id = _store(sessions, ctx, owner, now)
    before = _blobs(ctx)
    ctx.keystore.rotate()
    with sessions() as s:
        assert rewrap_owner_keys(s, keystore=ctx.keystore, now=now) == 1
        s.commit()
        assert s.scalar(select(OwnerKey.master_version)) == 2
    assert _blobs(ctx) == before
    with sessions() as s:
        assert (
            open_document(
                s, ctx=ctx, owner_id=owner, document_id=doc_id, purpose="view", now=now
            ).file.read()
            == PDF
        )


def test_sweep_removes_only_unreferenced_blobs(sessions, ctx, owner, now) -> None:
    """An orphan blob (crash between blob write and commit) is swept; referenced blobs stay."""
    _store(sessions, ctx, owner, now)
    writer = ctx.blobs.writer()
    writer.write(b"orphan ciphertext")
    orphan = writer.publish()
    with sessions() as s:
        assert sweep_orphan_blobs(s, blobs=ctx.blobs, min_age_seconds=0) == 1
    assert orphan not in _blobs(ctx)
    assert len(_blobs(ctx)) == 1


def test_sweep_removes_half_written_blobs_a_crash_left(sessions, tmp_path, owner) -> None:
    """A file writer killed mid-write leaves tmp/blob.*.part; the sweep removes it once old."""

    store = FileBlobStore(tmp_path / "blobs")
    writer = store.writer()
    writer.write(b"half a blob")
    writer._fh.flush()  # the process dies here: no publish, no abort
    (part,) = store.tmp_dir.glob("blob.*.part")
    with sessions() as s:
        assert sweep_orphan_blobs(s, blobs=store, min_age_seconds=3600) == 0
    assert part.exists()  # a write in flight is never touched
    os.utime(part, (0, 0))
    with sessions() as s:
        assert sweep_orphan_blobs(s, blobs=store, min_age_seconds=3600) == 1
    assert not part.exists()


def test_sweep_aborts_an_upload_a_crash_left_in_s3(sessions, s3_store, owner) -> None:
    """A process killed in the middle of a multipart upload leaves the upload open; the sweep
    aborts it once it is old enough, never while it may still be in flight."""
    key = s3_store.key_of("ab" * 32)
    s3_store.client.create_multipart_upload(Bucket=s3_store.bucket, Key=key)  # then it died
    ctx = VaultContext(keystore=None, blobs=s3_store)  # type: ignore[arg-type]
    (upload,) = partial_blobs(ctx)
    with sessions() as s:
        assert sweep_orphan_blobs(s, blobs=s3_store, min_age_seconds=3600) == 0
    assert partial_blobs(ctx) == [upload]
    with sessions() as s:
        assert sweep_orphan_blobs(s, blobs=s3_store, min_age_seconds=0) == 1
    assert partial_blobs(ctx) == []


def test_the_blob_folder_is_private(tmp_path) -> None:
    store = FileBlobStore(tmp_path / "blobs")
    assert store.root.stat().st_mode & 0o077 == 0
    assert store.tmp_dir.stat().st_mode & 0o077 == 0


def test_every_action_is_chained_in_the_ledger(sessions, ctx, owner, now) -> None:
    """Uploads, views, renames and deletes leave an intact chain."""
    doc_id = _store(sessions, ctx, owner, now)
    with sessions() as s:
        rename_document(s, owner_id=owner, document_id=doc_id, title="x", now=now)
        delete_document(s, ctx=ctx, owner_id=owner, document_id=doc_id, now=now)
        s.commit()
        report = verify_chain(s)
    assert report.intact
    assert report.checked >= 4


def test_softhsm_and_file_key_stores_give_the_same_results(
    sessions, owner, now, tmp_path, softhsm
) -> None:
    """The same document stored under the file store and under SoftHSM2 opens identically."""
    stores = {
        "file": FileKeyStore.create(tmp_path / "file.keys"),
        "hsm": Pkcs11KeyStore(
            module=softhsm["module"], token_label=softhsm["token"], pin=softhsm["pin"]
        ),
    }
    stores["hsm"].ensure_key()  # type: ignore[attr-defined]
    results = {}
    for name, store in stores.items():
        ctx = VaultContext(keystore=store, blobs=FileBlobStore(tmp_path / f"blobs-{name}"))
        with sessions() as s:
            s.query(OwnerKey).delete()
            doc = store_document(
                s,
                ctx=ctx,
                owner_id=owner,
                upload=_upload(),
                src=io.BytesIO(PDF),
                max_bytes=LIMIT,
                now=now,
            )
            s.flush()
            opened = open_document(
                s, ctx=ctx, owner_id=owner, document_id=doc.id, purpose="view", now=now
            )
            results[name] = (opened.file.read(), opened.version.sha256, opened.version.size)
            s.rollback()
    assert results["file"] == results["hsm"]
    assert results["file"][0] == PDF

"""Vault services: store, add a version, list, open, rename, delete; key rotation; blob sweep."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import struct
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any, BinaryIO, cast

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from audit import EventTag, record_event
from identity.accounts import actor_of
from keys import DecryptionFailed
from keys import stream as vault_stream
from keys.stores import KeyStore
from keys.wrapping import new_key, unwrap_key, wrap_key
from vault.blobs import BlobStore, remove_after_commit, track_new_blob
from vault.errors import BlobStoreError, DocumentNotFound, DocumentUnreadable, UploadRejected
from vault.models import Document, DocumentVersion, OwnerKey
from vault.uploads import DocumentKind, LimitedReader, Upload, clean_title


@dataclass(frozen=True)
class VaultContext:
    """Where keys and blobs live (built once per process from the settings)."""

    keystore: KeyStore
    blobs: BlobStore


def _owner_aad(account_id: int) -> bytes:
    return b"amanat-owner-key/1:" + struct.pack(">Q", account_id)


def _dek_aad(document_id: uuid.UUID, version: int) -> bytes:
    return b"amanat-dek/1:" + document_id.bytes + struct.pack(">I", version)


def _log(
    session: Session,
    tag: EventTag,
    *,
    owner_id: int,
    document_id: uuid.UUID,
    now: dt.datetime,
    details: dict[str, object],
    actor: str | None = None,
) -> None:
    """Record a ledger event about one of the owner's documents."""
    record_event(
        session,
        tag=tag,
        actor=actor or actor_of(owner_id),
        now=now,
        subject_id=owner_id,
        object_type="document",
        object_id=str(document_id),
        details=details,
    )


def _owner_key(
    session: Session, ctx: VaultContext, *, account_id: int, now: dt.datetime
) -> tuple[OwnerKey, bytes]:
    """The owner's key row and plaintext key, created on first use."""
    row = session.scalar(select(OwnerKey).where(OwnerKey.account_id == account_id))
    if row is None:
        key = new_key()
        version, wrapped = ctx.keystore.wrap(key, aad=_owner_aad(account_id))
        row = OwnerKey(
            account_id=account_id,
            keystore=ctx.keystore.key_id,
            master_version=version,
            wrapped_key=wrapped,
            created_at=now,
        )
        session.add(row)
        session.flush()
        return row, key
    return row, ctx.keystore.unwrap(
        row.wrapped_key, version=row.master_version, aad=_owner_aad(account_id)
    )


class _HashingReader:
    """Counts and hashes plaintext as the sealer reads it."""

    def __init__(self, src: Any) -> None:
        self._src = src
        self.sha256 = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = cast(bytes, self._src.read(n))
        self.sha256.update(data)
        self.size += len(data)
        return data


def _write_version(
    session: Session,
    ctx: VaultContext,
    *,
    document: Document,
    version: int,
    upload: Upload,
    src: BinaryIO,
    max_bytes: int,
    now: dt.datetime,
) -> DocumentVersion:
    owner_key_row, owner_key = _owner_key(session, ctx, account_id=document.owner_id, now=now)
    dek = new_key()
    reader = _HashingReader(LimitedReader(src, max_bytes))
    writer = ctx.blobs.writer()
    try:
        vault_stream.seal(
            cast(BinaryIO, reader),
            cast(BinaryIO, writer),
            dek=dek,
            document_id=document.id,
            version=version,
        )
    except BaseException:
        writer.abort()
        raise
    if reader.size == 0:
        writer.abort()
        raise UploadRejected("The file is empty.", code="empty")
    blob_id = writer.publish()
    # From here on the blob exists: it must disappear again if this transaction does not commit.
    track_new_blob(session, ctx.blobs, blob_id)
    row = DocumentVersion(
        document_id=document.id,
        version=version,
        filename=upload.filename,
        media_type=upload.media_type,
        size=reader.size,
        sha256=reader.sha256.hexdigest(),
        blob_id=blob_id,
        wrapped_dek=wrap_key(owner_key, dek, aad=_dek_aad(document.id, version)),
        owner_key_id=owner_key_row.id,
        created_at=now,
    )
    session.add(row)
    document.versions.append(row)
    document.current_version = version
    document.updated_at = now
    session.flush()
    return row


def store_document(
    session: Session,
    *,
    ctx: VaultContext,
    owner_id: int,
    upload: Upload,
    src: BinaryIO,
    max_bytes: int,
    now: dt.datetime,
    source: str = "uploaded",
    actor: str | None = None,
) -> Document:
    """Seal ``src`` (streaming) into a new document of ``owner_id``; record the upload."""
    document = Document(
        id=uuid.uuid4(),
        owner_id=owner_id,
        title=upload.title,
        kind=upload.kind.value,
        source=source,
        current_version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(document)
    session.flush()
    version = _write_version(
        session,
        ctx,
        document=document,
        version=1,
        upload=upload,
        src=src,
        max_bytes=max_bytes,
        now=now,
    )
    _log(
        session,
        EventTag.VAULT_DOCUMENT_UPLOADED,
        owner_id=owner_id,
        document_id=document.id,
        now=now,
        details={"title": document.title, "size": version.size, "media_type": version.media_type},
        actor=actor,
    )
    return document


def _next_version(
    session: Session,
    ctx: VaultContext,
    *,
    document: Document,
    upload: Upload,
    src: BinaryIO,
    max_bytes: int,
    now: dt.datetime,
    actor: str | None = None,
    details: Mapping[str, str] | None = None,
) -> DocumentVersion:
    """Seal ``src`` as the document's next version and record it."""
    version = _write_version(
        session,
        ctx,
        document=document,
        version=document.current_version + 1,
        upload=upload,
        src=src,
        max_bytes=max_bytes,
        now=now,
    )
    _log(
        session,
        EventTag.VAULT_DOCUMENT_VERSION_ADDED,
        owner_id=document.owner_id,
        document_id=document.id,
        now=now,
        details={
            "title": document.title,
            "version": version.version,
            "size": version.size,
            **(details or {}),
        },
        actor=actor,
    )
    return version


def add_version(
    session: Session,
    *,
    ctx: VaultContext,
    owner_id: int,
    document_id: uuid.UUID,
    upload: Upload,
    src: BinaryIO,
    max_bytes: int,
    now: dt.datetime,
) -> DocumentVersion:
    """Store a new version of an uploaded document (issued documents are not replaced)."""
    document = get_document(session, owner_id=owner_id, document_id=document_id)
    if document.source != "uploaded":
        raise UploadRejected("An issued certificate cannot be replaced.", code="issued_document")
    return _next_version(
        session, ctx, document=document, upload=upload, src=src, max_bytes=max_bytes, now=now
    )


def renew_issued_copy(
    session: Session,
    *,
    ctx: VaultContext,
    owner_id: int,
    document_id: uuid.UUID,
    data: bytes,
    now: dt.datetime,
    actor: str,
    details: Mapping[str, str] | None = None,
) -> DocumentVersion:
    """Store a renewed copy of an issued certificate (the same signed file with a new archive
    time-stamp) as its newest version; only the deployment's own jobs call this. ``details``
    join the ledger event's (the certificate's type, so the line names it in Urdu too)."""
    document = get_document(session, owner_id=owner_id, document_id=document_id)
    if document.source != "issued":
        raise UploadRejected("Only issued certificates are renewed.", code="not_issued_document")
    last = document.versions[-1]
    upload = Upload(
        title=document.title,
        kind=DocumentKind(document.kind),
        filename=last.filename,
        media_type=last.media_type,
    )
    return _next_version(
        session,
        ctx,
        document=document,
        upload=upload,
        src=io.BytesIO(data),
        max_bytes=len(data),
        now=now,
        actor=actor,
        details=details,
    )


def list_documents(session: Session, *, owner_id: int) -> Sequence[Document]:
    """The owner's documents, most recently changed first."""
    return session.scalars(
        select(Document)
        .where(Document.owner_id == owner_id)
        .options(selectinload(Document.versions))
        .order_by(Document.updated_at.desc(), Document.title)
    ).all()


def get_document(session: Session, *, owner_id: int, document_id: uuid.UUID) -> Document:
    """One of the owner's documents; DocumentNotFound for anyone else's (same answer)."""
    document = session.get(Document, document_id)
    if document is None or document.owner_id != owner_id:
        raise DocumentNotFound()
    return document


@dataclass
class OpenedDocument:
    """Decrypted, verified plaintext in a temporary file (closing the file deletes it)."""

    document: Document
    version: DocumentVersion
    file: IO[bytes]


def _decrypted(
    session: Session, *, ctx: VaultContext, document: Document, row: DocumentVersion
) -> IO[bytes]:
    """The version's plaintext in a temporary file, released only once the whole blob
    authenticated and its size and SHA-256 match the row (else DocumentUnreadable)."""
    out = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller, who closes it
    try:
        owner_row = session.get(OwnerKey, row.owner_key_id)
        if owner_row is None:
            raise DocumentUnreadable()
        owner_key = ctx.keystore.unwrap(
            owner_row.wrapped_key,
            version=owner_row.master_version,
            aad=_owner_aad(owner_row.account_id),
        )
        dek = unwrap_key(owner_key, row.wrapped_dek, aad=_dek_aad(document.id, row.version))
        digest = hashlib.sha256()

        class _Sink:
            def write(self, data: bytes) -> int:
                digest.update(data)
                return out.write(data)

        with ctx.blobs.open(row.blob_id) as blob:
            size = vault_stream.open_(
                blob, cast(BinaryIO, _Sink()), dek=dek, document_id=document.id, version=row.version
            )
        if size != row.size or digest.hexdigest() != row.sha256:
            raise DocumentUnreadable()
    except (DecryptionFailed, BlobStoreError, DocumentUnreadable):
        out.close()
        raise DocumentUnreadable() from None
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return out


def open_document(
    session: Session,
    *,
    ctx: VaultContext,
    owner_id: int,
    document_id: uuid.UUID,
    purpose: str,
    now: dt.datetime,
    version: int | None = None,
    actor: str | None = None,
) -> OpenedDocument:
    """Decrypt a document version into a temporary file, verify it, record the access.

    ``purpose`` is ``"view"``, ``"download"``, ``"share"`` (a fetch under a consent: the
    caller, :mod:`vault.shares`, records it as such), ``"export"`` (part of the citizen's
    export of everything, which ``signing.export`` records once) or ``"archive"`` (an issued
    certificate read to add an archive time-stamp: the renewed version is what is recorded).
    The plaintext is released only after the whole blob authenticated and its size and SHA-256
    match what was stored.
    """
    if purpose not in ("view", "download", "share", "export", "archive"):
        raise ValueError("purpose must be 'view', 'download', 'share', 'export' or 'archive'")
    document = get_document(session, owner_id=owner_id, document_id=document_id)
    wanted = version or document.current_version
    row = next((v for v in document.versions if v.version == wanted), None)
    if row is None:
        raise DocumentNotFound()
    out = _decrypted(session, ctx=ctx, document=document, row=row)
    if purpose in ("share", "export", "archive"):
        # Recorded by the caller: a fetch under its consent, the whole export as one event, or
        # the renewed copy of an archive.
        return OpenedDocument(document=document, version=row, file=out)
    tag = (
        EventTag.VAULT_DOCUMENT_VIEWED if purpose == "view" else EventTag.VAULT_DOCUMENT_DOWNLOADED
    )
    _log(
        session,
        tag,
        owner_id=owner_id,
        document_id=document.id,
        now=now,
        actor=actor,
        details={"title": document.title, "version": row.version},
    )
    return OpenedDocument(document=document, version=row, file=out)


def rename_document(
    session: Session, *, owner_id: int, document_id: uuid.UUID, title: str, now: dt.datetime
) -> Document:
    """Give a document a new title."""
    document = get_document(session, owner_id=owner_id, document_id=document_id)
    old = document.title
    document.title = clean_title(title, fallback=old)
    document.updated_at = now
    session.flush()
    _log(
        session,
        EventTag.VAULT_DOCUMENT_RENAMED,
        owner_id=owner_id,
        document_id=document.id,
        now=now,
        details={"from": old, "to": document.title},
    )
    return document


def delete_document(
    session: Session, *, ctx: VaultContext, owner_id: int, document_id: uuid.UUID, now: dt.datetime
) -> None:
    """Delete a document: its wrapped data keys go with the rows (crypto-shredding); its blobs
    are removed once the deletion commits."""
    document = get_document(session, owner_id=owner_id, document_id=document_id)
    blob_ids = [v.blob_id for v in document.versions]
    title = document.title
    session.delete(document)
    session.flush()
    for blob_id in blob_ids:
        remove_after_commit(session, ctx.blobs, blob_id)
    _log(
        session,
        EventTag.VAULT_DOCUMENT_DELETED,
        owner_id=owner_id,
        document_id=document_id,
        now=now,
        details={"title": title},
    )


def rewrap_owner_keys(session: Session, *, keystore: KeyStore, now: dt.datetime) -> int:
    """Rewrap every owner key under the key store's current master key (after ``keys rotate``).

    Blobs and data keys are untouched: only the small owner-key rows change.
    """
    current = keystore.current_version()
    count = 0
    for row in session.scalars(select(OwnerKey).where(OwnerKey.master_version != current)):
        aad = _owner_aad(row.account_id)
        key = keystore.unwrap(row.wrapped_key, version=row.master_version, aad=aad)
        row.master_version, row.wrapped_key = keystore.wrap(key, aad=aad)
        row.keystore = keystore.key_id
        row.rewrapped_at = now
        count += 1
    session.flush()
    return count


def sweep_orphan_blobs(session: Session, *, blobs: BlobStore, min_age_seconds: float = 3600) -> int:
    """Remove blobs no row references (left by a crash between blob write and commit) and
    half-written blobs (a crash during the write).

    Only files older than ``min_age_seconds`` are touched, so a write in flight is never removed.
    """
    referenced = set(session.scalars(select(DocumentVersion.blob_id)))
    removed = blobs.sweep_partial(min_age_seconds=min_age_seconds)
    for blob_id in list(blobs.ids()):
        if blob_id not in referenced and blobs.age_seconds(blob_id) >= min_age_seconds:
            blobs.delete(blob_id)
            removed += 1
    return removed


def referenced_blob_ids(session: Session) -> list[str]:
    """Every blob a document version points at (what a migration must carry over)."""
    return sorted(set(session.scalars(select(DocumentVersion.blob_id))))

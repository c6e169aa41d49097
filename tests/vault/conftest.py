"""Vault fixtures: a citizen, a vault context on a temporary blob folder."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from identity.accounts import create_account
from identity.models import Role
from keys.stores import FileKeyStore
from vault.blobs import FileBlobStore
from vault.service import VaultContext


@pytest.fixture(params=["file", "s3"])
def ctx(
    request: pytest.FixtureRequest, tmp_path: Path, file_keystore: FileKeyStore
) -> VaultContext:
    """The vault on each blob store: a folder, and an S3 bucket on a real Swift server."""
    if request.param == "s3":
        store = request.getfixturevalue("s3_store")
    else:
        store = FileBlobStore(tmp_path / "blobs")
    return VaultContext(keystore=file_keystore, blobs=store)


def partial_blobs(ctx: VaultContext) -> list[str]:
    """What a write in flight leaves in the store (temporary files, objects, uploads)."""
    store: Any = ctx.blobs
    if isinstance(store, FileBlobStore):
        return [p.name for p in store.tmp_dir.iterdir()]
    listed = store.client.list_objects_v2(Bucket=store.bucket, Prefix=store.prefix + "tmp/")
    uploads = store.client.list_multipart_uploads(Bucket=store.bucket, Prefix=store.prefix)
    return [o["Key"] for o in listed.get("Contents", [])] + [
        u["Key"] for u in uploads.get("Uploads", [])
    ]


def tamper_blob(ctx: VaultContext, blob_id: str) -> None:
    """Flip one bit in the middle of a stored blob, behind the vault's back."""
    store: Any = ctx.blobs
    with store.open(blob_id) as fh:
        raw = bytearray(fh.read())
    raw[len(raw) // 2] ^= 0x80
    if isinstance(store, FileBlobStore):
        store.path_of(blob_id).write_bytes(bytes(raw))
    else:
        store.client.put_object(Bucket=store.bucket, Key=store.key_of(blob_id), Body=bytes(raw))


def make_citizen(sessions: sessionmaker[Session], cnic: str, now: dt.datetime) -> int:
    with sessions() as s:
        account = create_account(s, role=Role.CITIZEN, display_name="Citizen", login=cnic, now=now)
        s.commit()
        return account.id


@pytest.fixture
def owner(sessions: sessionmaker[Session], now: dt.datetime) -> int:
    return make_citizen(sessions, "35202-1111111-1", now)


@pytest.fixture
def other(sessions: sessionmaker[Session], now: dt.datetime) -> int:
    return make_citizen(sessions, "35202-2222222-2", now)

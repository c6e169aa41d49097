"""Vault fixtures: a citizen, a vault context on a temporary blob folder."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from identity.accounts import create_account
from identity.models import Role
from keys.stores import FileKeyStore
from vault.blobs import FileBlobStore
from vault.service import VaultContext


@pytest.fixture
def ctx(tmp_path: Path, file_keystore: FileKeyStore) -> VaultContext:
    return VaultContext(keystore=file_keystore, blobs=FileBlobStore(tmp_path / "blobs"))


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

"""Key stores: where the master key (KEK) lives.

One interface, two homes (pyHanko's ``Signer`` → ``SimpleSigner`` / ``PKCS11Signer`` pattern):
:class:`FileKeyStore` keeps versioned master keys in a 0600 file in the instance folder;
:class:`keys.pkcs11.Pkcs11KeyStore` keeps them inside a PKCS#11 token, never extractable. Both wrap
owner keys with AES-256-GCM; the version of the master key used is returned with every wrap and must
be given back to unwrap, so that ``amanat keys rotate`` can add a version while everything wrapped
before stays readable.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Protocol

from amanat.settings import Settings
from keys import wrapping
from keys.errors import DecryptionFailed, KeyStoreError, NoToken
from keys.signers import Signer


class KeyStore(Protocol):
    """Holds versioned master keys and wraps/unwraps owner keys with them."""

    @property
    def key_id(self) -> str:
        """Stable name of this store (recorded next to wrapped keys)."""
        ...

    def current_version(self) -> int:
        """The master-key version new wraps use."""
        ...

    def wrap(self, key: bytes, *, aad: bytes) -> tuple[int, bytes]:
        """Wrap ``key`` under the current master key; return (version, wrapped)."""
        ...

    def unwrap(self, wrapped: bytes, *, version: int, aad: bytes) -> bytes:
        """Unwrap with master-key ``version``; any failure is :class:`DecryptionFailed`."""
        ...

    def rotate(self) -> int:
        """Add a new master-key version, make it current, and return it."""
        ...

    def check(self) -> None:
        """Raise :class:`KeyStoreError` unless the store is usable (health checks)."""
        ...

    def new_token_signer(self, label: str) -> Signer:
        """Generate an ECDSA P-256 key inside the store's token; :class:`NoToken` without one."""
        ...

    def token_signer(self, label: str) -> Signer:
        """The key called ``label`` in the store's token; :class:`NoToken` without one."""
        ...


class FileKeyStore:
    """Versioned master keys in a JSON file readable only by the service account (0600)."""

    FORMAT = "amanat-master-keys/1"

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._keys: dict[int, bytes] = {}
        self._current = 0
        self._load()

    @classmethod
    def create(cls, path: Path) -> FileKeyStore:
        """Create the key file with a first master key unless it exists; open it."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_keyfile(path, {1: wrapping.new_key()}, 1)
        return cls(path)

    @property
    def key_id(self) -> str:
        return "file"

    def _load(self) -> None:
        try:
            raw = self._path.read_bytes()
        except FileNotFoundError:
            raise KeyStoreError(
                f"master key file {self._path} is missing (run 'amanat init')"
            ) from None
        except OSError as exc:
            raise KeyStoreError(
                f"master key file {self._path} is unreadable: {exc.strerror}"
            ) from None
        if self._path.stat().st_mode & 0o077:
            raise KeyStoreError(
                f"master key file {self._path} must not be readable by others (chmod 600)"
            )
        try:
            data = json.loads(raw)
            if data["format"] != self.FORMAT:
                raise ValueError
            keys = {int(v): base64.b64decode(k, validate=True) for v, k in data["keys"].items()}
            current = int(data["current"])
            if current not in keys or any(len(k) != 32 for k in keys.values()):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            raise KeyStoreError(f"master key file {self._path} is malformed") from None
        self._keys, self._current = keys, current

    def current_version(self) -> int:
        return self._current

    def wrap(self, key: bytes, *, aad: bytes) -> tuple[int, bytes]:
        version = self._current
        return version, wrapping.wrap_key(self._keys[version], key, aad=aad)

    def unwrap(self, wrapped: bytes, *, version: int, aad: bytes) -> bytes:
        kek = self._keys.get(version)
        if kek is None:
            raise DecryptionFailed()
        return wrapping.unwrap_key(kek, wrapped, aad=aad)

    def rotate(self) -> int:
        with self._lock:
            self._load()
            version = max(self._keys) + 1
            keys = {**self._keys, version: wrapping.new_key()}
            _write_keyfile(self._path, keys, version)
            self._keys, self._current = keys, version
            return version

    def check(self) -> None:
        if not self._path.is_file():
            raise KeyStoreError("master key file is missing")

    def new_token_signer(self, label: str) -> Signer:
        """A file key store has no token: keys are sealed under the master key instead."""
        raise NoToken()

    def token_signer(self, label: str) -> Signer:
        """A file key store has no token."""
        raise NoToken()


def _write_keyfile(path: Path, keys: dict[int, bytes], current: int) -> None:
    """Write the key file atomically (temp file, fsync, rename), mode 0600 from the start."""
    data = {
        "format": FileKeyStore.FORMAT,
        "current": current,
        "keys": {str(v): base64.b64encode(k).decode() for v, k in sorted(keys.items())},
    }
    write_private_file(path, json.dumps(data).encode())


def write_private_file(path: Path, data: bytes) -> None:
    """Write a secret file atomically (temp file, fsync, rename), mode 0600 from the start."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def open_keystore(settings: Settings, *, create: bool = False) -> KeyStore:
    """The key store the settings name (``AMANAT_KEYSTORE``)."""
    if settings.keystore == "pkcs11":
        from keys.pkcs11 import Pkcs11KeyStore  # noqa: PLC0415 - python-pkcs11 only when AMANAT_KEYSTORE=pkcs11

        store = Pkcs11KeyStore(
            module=settings.pkcs11_module,
            token_label=settings.pkcs11_token,
            pin=settings.pkcs11_pin,
        )
        if create:
            store.ensure_key()
        return store
    if create:
        return FileKeyStore.create(settings.key_file)
    return FileKeyStore(settings.key_file)

"""Key stores: the file store and the PKCS#11 store (SoftHSM2) behave the same."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pkcs11
import pytest
from cryptography.hazmat.primitives.asymmetric.ec import ECDSA
from cryptography.hazmat.primitives.hashes import SHA256
from pkcs11 import Attribute, ObjectClass

from keys import DecryptionFailed, KeyStoreError
from keys.errors import NoToken
from keys.pkcs11 import Pkcs11KeyStore
from keys.pki import MemorySigner, cose_verify, load_public_key_der, new_private_key
from keys.signers import Signer
from keys.stores import FileKeyStore, KeyStore


@pytest.fixture(params=["file", "pkcs11"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> KeyStore:
    if request.param == "file":
        return FileKeyStore.create(tmp_path / "master.keys")
    hsm = request.getfixturevalue("softhsm")
    s = Pkcs11KeyStore(module=hsm["module"], token_label=hsm["token"], pin=hsm["pin"])
    s.ensure_key()
    return s


def test_wrap_round_trip(store: KeyStore) -> None:
    """A wrapped key unwraps to itself with the same AAD."""
    key = os.urandom(32)
    version, wrapped = store.wrap(key, aad=b"owner:1")
    assert version == 1
    assert key not in wrapped
    assert store.unwrap(wrapped, version=version, aad=b"owner:1") == key


def test_wrong_aad_fails(store: KeyStore) -> None:
    """A wrapped key moved to another context does not unwrap."""
    version, wrapped = store.wrap(os.urandom(32), aad=b"owner:1")
    with pytest.raises(DecryptionFailed):
        store.unwrap(wrapped, version=version, aad=b"owner:2")


def test_wrong_version_fails(store: KeyStore) -> None:
    """Unwrapping with a master-key version that does not exist fails vaguely."""
    version, wrapped = store.wrap(os.urandom(32), aad=b"a")
    with pytest.raises(DecryptionFailed):
        store.unwrap(wrapped, version=version + 5, aad=b"a")


def test_flipped_bit_fails(store: KeyStore) -> None:
    """A modified wrapped key fails."""
    version, wrapped = store.wrap(os.urandom(32), aad=b"a")
    tampered = bytearray(wrapped)
    tampered[-1] ^= 1
    with pytest.raises(DecryptionFailed):
        store.unwrap(bytes(tampered), version=version, aad=b"a")


def test_rotation_keeps_old_versions_readable(store: KeyStore) -> None:
    """After rotation new wraps use the new version and old wraps still unwrap."""
    key = os.urandom(32)
    v1, w1 = store.wrap(key, aad=b"a")
    v2 = store.rotate()
    assert v2 == v1 + 1
    assert store.current_version() == v2
    new_version, w2 = store.wrap(key, aad=b"a")
    assert new_version == v2
    assert store.unwrap(w1, version=v1, aad=b"a") == key
    assert store.unwrap(w2, version=v2, aad=b"a") == key
    with pytest.raises(DecryptionFailed):
        store.unwrap(w1, version=v2, aad=b"a")


def test_file_store_is_private_and_survives_reopen(tmp_path: Path) -> None:
    """The key file is 0600 and a reopened store reads what the first wrapped."""
    path = tmp_path / "master.keys"
    first = FileKeyStore.create(path)
    assert path.stat().st_mode & 0o777 == 0o600
    version, wrapped = first.wrap(b"k" * 32, aad=b"x")
    first.rotate()
    assert path.stat().st_mode & 0o777 == 0o600
    again = FileKeyStore(path)
    assert again.current_version() == 2
    assert again.unwrap(wrapped, version=version, aad=b"x") == b"k" * 32


def test_file_store_refuses_readable_key_file(tmp_path: Path) -> None:
    """A key file others can read is refused with a clear message."""
    path = tmp_path / "master.keys"
    FileKeyStore.create(path)
    path.chmod(0o644)
    with pytest.raises(KeyStoreError, match="chmod 600"):
        FileKeyStore(path)


def test_file_store_refuses_malformed_file(tmp_path: Path) -> None:
    """A corrupted key file is refused, not half-read."""
    path = tmp_path / "master.keys"
    path.write_text(
        json.dumps({"format": "amanat-master-keys/1", "current": 2, "keys": {"1": "AA=="}})
    )
    path.chmod(0o600)
    with pytest.raises(KeyStoreError, match="malformed"):
        FileKeyStore(path)


def test_missing_key_file_says_what_to_do(tmp_path: Path) -> None:
    """Opening a store without a key file tells the operator to run init."""
    with pytest.raises(KeyStoreError, match="amanat init"):
        FileKeyStore(tmp_path / "nope.keys")


def test_hsm_master_key_is_not_extractable(softhsm: dict[str, str]) -> None:
    """The master key generated in the token is sensitive and never extractable."""
    store = Pkcs11KeyStore(
        module=softhsm["module"], token_label=softhsm["token"], pin=softhsm["pin"]
    )
    store.ensure_key()
    token = pkcs11.lib(softhsm["module"]).get_token(token_label=softhsm["token"])
    # The store logged this process in already (PKCS#11 login is per process).
    with token.open() as session:
        key = session.get_key(object_class=ObjectClass.SECRET_KEY, label="amanat-kek-v1")
        assert key[Attribute.SENSITIVE] is True
        assert key[Attribute.EXTRACTABLE] is False
        assert key[Attribute.VALUE_LEN] == 32


def test_hsm_wrong_pin_is_a_clear_error(softhsm: dict[str, str]) -> None:
    """A wrong PIN gives a KeyStoreError naming the token, not a crash."""
    store = Pkcs11KeyStore(module=softhsm["module"], token_label=softhsm["token"], pin="0000")
    with pytest.raises(KeyStoreError, match=softhsm["token"]):
        store.ensure_key()


def test_hsm_session_reopens_after_fork(softhsm: dict[str, str]) -> None:
    """A forked child opens its own session and can unwrap what the parent wrapped."""
    store = Pkcs11KeyStore(
        module=softhsm["module"], token_label=softhsm["token"], pin=softhsm["pin"]
    )
    store.ensure_key()
    version, wrapped = store.wrap(b"s" * 32, aad=b"fork")
    pid = os.fork()
    if pid == 0:  # child
        try:
            ok = store.unwrap(wrapped, version=version, aad=b"fork") == b"s" * 32
        except Exception:
            ok = False
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


@pytest.mark.parametrize("ask", ["new_token_signer", "token_signer"])
def test_a_file_store_has_no_token(tmp_path: Path, ask: str) -> None:
    """Nothing above ``keys`` asks which store it has: a file store says it has no token."""
    store = FileKeyStore.create(tmp_path / "k")
    with pytest.raises(NoToken):
        getattr(store, ask)("amanat-department-x-1")


def test_a_token_store_hands_out_its_key_by_label(softhsm: dict[str, str]) -> None:
    """A key made in the token is found again by its label and signs what its public key checks."""
    store = Pkcs11KeyStore(
        module=softhsm["module"], token_label=softhsm["token"], pin=softhsm["pin"]
    )
    label = f"amanat-test-{os.urandom(4).hex()}"  # a token may be lent to another test later
    made = store.new_token_signer(label)
    found = store.token_signer(label)
    digest = hashlib.sha256(b"terms").digest()
    signature = found.sign_digest_raw(digest)
    public = load_public_key_der(made.public_key_der())
    assert found.public_key_der() == made.public_key_der()
    assert cose_verify(public, b"terms", signature)


@pytest.mark.parametrize("where", ["memory", "token"])
def test_a_key_in_memory_and_one_in_the_token_sign_alike(
    request: pytest.FixtureRequest, where: str
) -> None:
    """keys.signers.Signer: both kinds give a CMS (DER) and a COSE (r‖s) signature that the
    public key checks; signing code never asks which one it holds."""
    signer: Signer
    if where == "memory":
        signer = MemorySigner(new_private_key("ec-p256"))
    else:
        hsm = request.getfixturevalue("softhsm")
        store = Pkcs11KeyStore(module=hsm["module"], token_label=hsm["token"], pin=hsm["pin"])
        signer = store.new_token_signer(f"amanat-test-{os.urandom(4).hex()}")
    public = load_public_key_der(signer.public_key_der())
    assert signer.kind == "ec-p256"
    assert cose_verify(public, b"claims", signer.cose_sign(b"claims"))
    public.verify(signer.sign(b"cms", digest="sha256"), b"cms", ECDSA(SHA256()))

"""keys.age: files that the standard ``age`` tool (Debian's package) opens, with a key from
``age-keygen`` or with the passphrase typed at its prompt; bad recipients are clear errors."""

from __future__ import annotations

import io
import os
import pty
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from keys.age import (
    CHUNK,
    AgeRecipientInvalid,
    AgeWriter,
    Passphrase,
    passphrase_recipient,
    x25519_recipient,
)


def _age(tool: str = "age") -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is missing: install Debian's 'age' package (make test does)")
    return path


@pytest.fixture
def identity(tmp_path: Path) -> tuple[Path, str]:
    """An age identity file and its public key (age1...)."""
    key = tmp_path / "key.txt"
    subprocess.run([_age("age-keygen"), "-o", str(key)], check=True, capture_output=True)
    public = next(
        line.split(": ", 1)[1] for line in key.read_text().splitlines() if "public key" in line
    )
    return key, public


def _encrypt(recipient, plaintext: bytes, pieces: int = 3) -> bytes:
    out = io.BytesIO()
    writer = AgeWriter(out, recipient)
    step = max(1, len(plaintext) // pieces)
    for i in range(0, len(plaintext), step):
        writer.write(plaintext[i : i + step])
    writer.close()
    return out.getvalue()


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 200_000])
def test_age_opens_what_we_encrypt_to_its_key(identity, tmp_path: Path, size: int) -> None:
    key, public = identity
    plaintext = os.urandom(size)
    (tmp_path / "f.age").write_bytes(_encrypt(x25519_recipient(public), plaintext))
    opened = subprocess.run(
        [_age(), "-d", "-i", str(key), str(tmp_path / "f.age")], capture_output=True, check=True
    )
    assert opened.stdout == plaintext


def test_age_refuses_a_file_whose_end_was_cut(identity, tmp_path: Path) -> None:
    key, public = identity
    data = _encrypt(x25519_recipient(public), os.urandom(3 * CHUNK))
    (tmp_path / "f.age").write_bytes(data[: -CHUNK // 2])
    opened = subprocess.run(
        [_age(), "-d", "-i", str(key), str(tmp_path / "f.age")], capture_output=True
    )
    assert opened.returncode != 0


def _age_with_passphrase(path: Path, passphrase: str, out: Path) -> int:
    """Run ``age -d`` on a terminal of its own and type the passphrase at its prompt."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: age, with the pty as its controlling terminal
        os.execv(_age(), [_age(), "-d", "-o", str(out), str(path)])
    deadline, seen = time.monotonic() + 60, b""
    while b"passphrase" not in seen.lower() and time.monotonic() < deadline:
        try:
            seen += os.read(fd, 1024)
        except OSError:
            break
    os.write(fd, passphrase.encode() + b"\n")
    while True:
        try:
            if not os.read(fd, 1024):
                break
        except OSError:
            break
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


@pytest.mark.parametrize(("typed", "opens"), [("correct horse battery", True), ("wrong", False)])
def test_age_opens_it_with_the_passphrase_typed_at_its_prompt(
    tmp_path: Path, typed: str, opens: bool
) -> None:
    plaintext = os.urandom(100_000)
    path = tmp_path / "f.age"
    # A lower work factor than the default keeps the test quick; age accepts any.
    path.write_bytes(_encrypt(Passphrase("correct horse battery", work_factor=12), plaintext))
    code = _age_with_passphrase(path, typed, tmp_path / "out")
    assert (code == 0) is opens
    if opens:
        assert (tmp_path / "out").read_bytes() == plaintext


@pytest.mark.parametrize(
    "text",
    [
        "",
        "age1",
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",  # Bech32, but not age
        "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwk",  # checksum
        "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX",
        "age1ZVKYG2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj",  # mixed case
    ],
)
def test_a_bad_recipient_is_a_clear_error(text: str) -> None:
    with pytest.raises(AgeRecipientInvalid) as refused:
        x25519_recipient(text)
    assert refused.value.code == "age_recipient_invalid"


def test_the_spec_example_recipient_parses() -> None:
    spec = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj"
    assert len(x25519_recipient(spec).public_key) == 32


def test_a_short_passphrase_is_refused() -> None:
    with pytest.raises(AgeRecipientInvalid) as refused:
        passphrase_recipient("short")
    assert refused.value.code == "age_passphrase_short"

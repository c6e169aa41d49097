"""The ledger's tree heads as C2SP checkpoints, and witnesses that cosign them.

Formats (c2sp.org/tlog-checkpoint, c2sp.org/signed-note, c2sp.org/tlog-cosignature,
c2sp.org/tlog-witness), so that standard transparency-log tools read Amanat's heads:

- checkpoint body: ``<origin>\\n<size>\\n<base64 root>\\n``; the log signs it with its ECDSA P-256
  ledger key as a signed-note signature of type 0x02 (key ID: the first four bytes of SHA-256 of
  the key's SubjectPublicKeyInfo; signature: DER ECDSA over the body);
- a witness keeps, per origin, the newest checkpoint it verified; it cosigns a new one only when a
  consistency proof from its old size verifies (Ed25519 cosignature/v1, type 0x04), and refuses an
  older or forked one. ``amanat witness`` runs one; ``amanat audit verify --witness URL`` asks it
  what it saw, which catches a truncated ledger even when the database's heads were deleted too.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from audit import merkle
from audit.errors import AuditError
from keys.notes import WitnessKey, ecdsa_note_sign, ecdsa_note_verify, ed25519_verify
from keys.pki import PrivateKey

DASH = "\u2014"
MAX_NOTE_BYTES = 64 * 1024
MAX_PROOF_LINES = 63
_COSIGNATURE_TYPE = b"\x04"


class CheckpointError(AuditError):
    """A note, checkpoint or witness request that is malformed or does not verify."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise CheckpointError("not base64") from None


def origin_for(public_base_url: str) -> str:
    """A deployment's ledger origin line: its host (and port) and ``/amanat-ledger``."""
    return f"{urlsplit(public_base_url).netloc}/amanat-ledger"


def body(origin: str, size: int, root: bytes) -> bytes:
    """The checkpoint's note text (three lines)."""
    if not origin or any(c.isspace() or c == "+" for c in origin):
        raise CheckpointError("an origin has no spaces and no '+'")
    return f"{origin}\n{size}\n{_b64(root)}\n".encode()


def log_key_id(public_der: bytes) -> bytes:
    """The four-byte key ID of an ECDSA note key (type 0x02): SHA-256 of its SPKI."""
    return hashlib.sha256(public_der).digest()[:4]


def sign(origin: str, size: int, root: bytes, *, key: PrivateKey, public_der: bytes) -> str:
    """A checkpoint signed by the log (the ledger key)."""
    text = body(origin, size, root)
    signature = log_key_id(public_der) + ecdsa_note_sign(key, text)
    return text.decode() + f"\n{DASH} {origin} {_b64(signature)}\n"


@dataclass(frozen=True)
class Note:
    """A signed note: its text and its (key name, decoded signature) lines."""

    text: bytes
    signatures: tuple[tuple[str, bytes], ...]


def parse_note(data: bytes) -> Note:
    """Split a signed note into text and signatures; CheckpointError when it is malformed."""
    if len(data) > MAX_NOTE_BYTES:
        raise CheckpointError("note too large")
    try:
        text = data.decode()
    except UnicodeDecodeError:
        raise CheckpointError("a note is UTF-8") from None
    if any(ord(c) < 0x20 and c != "\n" for c in text) or not text.endswith("\n"):
        raise CheckpointError("a note has no control characters and ends in a newline")
    head, sep, tail = text.rpartition("\n\n")
    if not sep or not head:
        raise CheckpointError("a note has text, a blank line and signatures")
    signatures = []
    for line in tail.splitlines():
        prefix, _, rest = line.partition(" ")
        name, _, sig = rest.partition(" ")
        if prefix != DASH or not name or not sig or " " in sig:
            raise CheckpointError("malformed signature line")
        signatures.append((name, _unb64(sig)))
    if not signatures or len(signatures) > 16:
        raise CheckpointError("a note has 1 to 16 signatures")
    return Note((head + "\n").encode(), tuple(signatures))


@dataclass(frozen=True)
class Checkpoint:
    """The three facts a checkpoint states."""

    origin: str
    size: int
    root: bytes


def parse_checkpoint(text: bytes) -> Checkpoint:
    """The origin, size and root of a checkpoint body."""
    lines = text.decode().split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise CheckpointError("a checkpoint has an origin, a size and a root")
    origin, size, root = lines[0], lines[1], lines[2]
    if not size.isdigit() or (size != "0" and size.startswith("0")) or len(size) > 19:
        raise CheckpointError("a checkpoint size is a decimal number")
    digest = _unb64(root)
    if len(digest) != 32 or not origin:
        raise CheckpointError("a checkpoint root is 32 bytes")
    return Checkpoint(origin, int(size), digest)


def signed_by_log(note: Note, *, origin: str, public_der: bytes) -> bool:
    """Whether one of the note's signatures is the log's (unknown keys are ignored)."""
    kid = log_key_id(public_der)
    return any(
        name == origin and sig[:4] == kid and ecdsa_note_verify(public_der, note.text, sig[4:])
        for name, sig in note.signatures
    )


def cosigner_key_id(name: str, public: bytes) -> bytes:
    """The key ID of an Ed25519 cosigner (c2sp.org/tlog-cosignature)."""
    return hashlib.sha256(name.encode() + b"\n" + _COSIGNATURE_TYPE + public).digest()[:4]


def _cosigned_message(text: bytes, timestamp: int) -> bytes:
    return b"cosignature/v1\ntime %d\n" % timestamp + text


def cosign(key: WitnessKey, *, name: str, text: bytes, timestamp: int) -> str:
    """A cosignature line over a checkpoint text."""
    signature = key.sign(_cosigned_message(text, timestamp))
    raw = cosigner_key_id(name, key.public_bytes) + timestamp.to_bytes(8, "big") + signature
    return f"{DASH} {name} {_b64(raw)}\n"


def cosignature_time(line: str, *, name: str, public: bytes, text: bytes) -> int | None:
    """The time of a valid cosignature by (name, public) over ``text``, else None."""
    try:
        note = parse_note(text + b"\n" + line.encode())
    except CheckpointError:
        return None
    for signer, raw in note.signatures:
        if signer != name or raw[:4] != cosigner_key_id(name, public) or len(raw) != 76:
            continue
        timestamp = int.from_bytes(raw[4:12], "big")
        if ed25519_verify(public, _cosigned_message(text, timestamp), raw[12:]):
            return timestamp
    return None


# -- the add-checkpoint request (c2sp.org/tlog-witness) --------------------------------------------


def add_checkpoint_request(old_size: int, proof: Sequence[bytes], checkpoint: str) -> bytes:
    """The body of ``POST <witness>/add-checkpoint``."""
    lines = [f"old {old_size}", *(_b64(h) for h in proof), "", ""]
    return "\n".join(lines).encode() + checkpoint.encode()


def parse_add_checkpoint(data: bytes) -> tuple[int, list[bytes], Note]:
    """(old size, consistency proof, the checkpoint note) of a request body."""
    if len(data) > MAX_NOTE_BYTES:
        raise CheckpointError("request too large")
    head, sep, note = data.partition(b"\n\n")
    if not sep:
        raise CheckpointError("an old size line, proof lines, a blank line, a checkpoint")
    lines = head.decode(errors="replace").split("\n")
    old = lines[0].removeprefix("old ")
    if not lines[0].startswith("old ") or not old.isdigit() or len(old) > 19:
        raise CheckpointError("the first line is 'old <size>'")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise CheckpointError("at most 63 proof lines")
    proof = [_unb64(line) for line in lines[1:]]
    if any(len(h) != 32 for h in proof):
        raise CheckpointError("proof hashes are 32 bytes")
    return int(old), proof, parse_note(note)


# -- the witness ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WitnessAnswer:
    """An HTTP status, content type and body for an add-checkpoint request."""

    status: int
    content_type: str
    body: str


def _text(status: int, message: str) -> WitnessAnswer:
    return WitnessAnswer(status, "text/plain; charset=utf-8", message + "\n")


class Witness:
    """Keeps the newest consistent checkpoint of each known log and cosigns what extends it.

    The state file is read, checked and replaced under an exclusive lock (a lock file and a
    thread lock), so two requests never roll each other back (tlog-witness "race").
    """

    def __init__(
        self, *, name: str, key: WitnessKey, logs: Mapping[str, bytes], state: Path
    ) -> None:
        self.name, self.key, self.logs, self.state = name, key, dict(logs), state
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, dict[str, str | int]]]:
        self.state.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self._lock, open(self.state.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                data = json.loads(self.state.read_text()) if self.state.exists() else {}
            except (OSError, ValueError):
                raise AuditError(f"witness state {self.state} is unreadable") from None
            yield data

    def _save(self, data: Mapping[str, object]) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.state.parent, prefix=".state.", suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.state)

    def add_checkpoint(self, data: bytes, *, now: int) -> WitnessAnswer:
        """Handle one add-checkpoint request (status codes as c2sp.org/tlog-witness says)."""
        try:
            old, proof, note = parse_add_checkpoint(data)
            checkpoint = parse_checkpoint(note.text)
        except (CheckpointError, UnicodeDecodeError) as exc:
            return _text(400, str(exc))
        public = self.logs.get(checkpoint.origin)
        if public is None:
            return _text(404, "unknown log")
        if not signed_by_log(note, origin=checkpoint.origin, public_der=public):
            return _text(403, "no valid signature by the log's key")
        if old > checkpoint.size:
            return _text(400, "old size beyond the checkpoint size")
        with self._locked() as data_:
            return self._advance(data_, old, proof, note, checkpoint, now)

    def _advance(
        self,
        data: dict[str, dict[str, str | int]],
        old: int,
        proof: list[bytes],
        note: Note,
        checkpoint: Checkpoint,
        now: int,
    ) -> WitnessAnswer:
        seen = data.get(checkpoint.origin, {"size": 0, "root": _b64(merkle.EMPTY_ROOT)})
        seen_size, seen_root = int(seen["size"]), _unb64(str(seen["root"]))
        if old != seen_size:
            return WitnessAnswer(409, "text/x.tlog.size", f"{seen_size}\n")
        if old == checkpoint.size and seen_root != checkpoint.root:
            return WitnessAnswer(409, "text/x.tlog.size", f"{seen_size}\n")
        consistent = (
            (not proof)
            if old == 0
            else merkle.verify_consistency(
                old_size=old,
                new_size=checkpoint.size,
                old_root=seen_root,
                new_root=checkpoint.root,
                proof=proof,
            )
        )
        if not consistent:
            return _text(422, "the consistency proof does not verify")
        data[checkpoint.origin] = {"size": checkpoint.size, "root": _b64(checkpoint.root)}
        self._save(data)
        line = cosign(self.key, name=self.name, text=note.text, timestamp=now)
        return WitnessAnswer(200, "text/plain; charset=utf-8", line)

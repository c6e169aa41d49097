"""C2SP checkpoints and the witness (c2sp.org/tlog-checkpoint, signed-note, tlog-witness)."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from audit import checkpoint as cp
from audit import merkle
from keys import pki
from keys.notes import WitnessKey
from web.witness import create_witness_app

ORIGIN = "localhost:8000/amanat-ledger"


def _tree(n: int) -> list[bytes]:
    return [merkle.leaf_hash(b"event %d" % i) for i in range(n)]


def _root(n: int) -> bytes:
    return merkle.reference_root(_tree(n))


@pytest.fixture
def log_key():
    key = pki.new_private_key("ec-p256")
    return key, pki.public_key_der(key)


@pytest.fixture
def witness(tmp_path: Path, log_key) -> cp.Witness:
    _key, public = log_key
    return cp.Witness(
        name="auditor.example/w1",
        key=WitnessKey(tmp_path / "w.key"),
        logs={ORIGIN: public},
        state=tmp_path / "state.json",
    )


def _note(log_key, size: int, root: bytes | None = None) -> str:
    key, public = log_key
    return cp.sign(
        ORIGIN, size, root if root is not None else _root(size), key=key, public_der=public
    )


def _proof(old: int, new: int) -> list[bytes]:
    """A consistency proof computed from the leaves (independent of the stored tree)."""
    leaves = _tree(new)
    nodes = {}
    for level in range(new.bit_length() + 1):
        width = 1 << level
        for idx in range(new // width):
            nodes[(level, idx)] = merkle.reference_root(leaves[idx * width : (idx + 1) * width])
    return merkle.resolve(merkle.consistency_plan(old, new), nodes)


def test_a_checkpoint_is_a_signed_note_with_three_lines(log_key) -> None:
    _key, public = log_key
    note = cp.parse_note(_note(log_key, 5).encode())
    assert note.text == f"{ORIGIN}\n5\n{base64.b64encode(_root(5)).decode()}\n".encode()
    assert cp.signed_by_log(note, origin=ORIGIN, public_der=public)
    assert note.signatures[0][1][:4] == hashlib.sha256(public).digest()[:4]


def test_the_first_checkpoint_is_cosigned_and_the_cosignature_verifies(witness, log_key) -> None:
    answer = witness.add_checkpoint(cp.add_checkpoint_request(0, [], _note(log_key, 5)), now=1700)
    assert answer.status == 200
    assert answer.body.startswith(cp.DASH + " auditor.example/w1 ")
    text = cp.parse_note(_note(log_key, 5).encode()).text
    when = cp.cosignature_time(
        answer.body, name="auditor.example/w1", public=witness.key.public_bytes, text=text
    )
    assert when == 1700


def test_an_extension_with_a_valid_proof_is_cosigned(witness, log_key) -> None:
    witness.add_checkpoint(cp.add_checkpoint_request(0, [], _note(log_key, 5)), now=1)
    answer = witness.add_checkpoint(
        cp.add_checkpoint_request(5, _proof(5, 13), _note(log_key, 13)), now=2
    )
    assert answer.status == 200


@pytest.mark.parametrize(
    ("old", "size", "proof_for", "status"),
    [
        (0, 13, None, 409),  # the witness has 5: it answers its size
        (5, 13, (6, 13), 422),  # a proof that does not match
        (5, 5, None, 200),  # the same checkpoint again
        (5, 4, None, 400),  # old beyond the checkpoint
    ],
)
def test_the_witness_refuses_what_does_not_extend_its_view(
    witness, log_key, old, size, proof_for, status
) -> None:
    witness.add_checkpoint(cp.add_checkpoint_request(0, [], _note(log_key, 5)), now=1)
    proof = _proof(*proof_for) if proof_for else []
    answer = witness.add_checkpoint(
        cp.add_checkpoint_request(old, proof, _note(log_key, size)), now=2
    )
    assert answer.status == status
    if status == 409:
        assert answer.body == "5\n"
        assert answer.content_type == "text/x.tlog.size"


def test_a_fork_of_the_same_size_is_a_conflict(witness, log_key) -> None:
    witness.add_checkpoint(cp.add_checkpoint_request(0, [], _note(log_key, 5)), now=1)
    forked = _note(log_key, 5, root=bytes(32))
    assert witness.add_checkpoint(cp.add_checkpoint_request(5, [], forked), now=2).status == 409


def test_a_checkpoint_signed_by_another_key_is_forbidden(witness) -> None:
    other = pki.new_private_key("ec-p256")
    note = cp.sign(ORIGIN, 3, _root(3), key=other, public_der=pki.public_key_der(other))
    assert witness.add_checkpoint(cp.add_checkpoint_request(0, [], note), now=1).status == 403


def test_an_unknown_origin_is_not_found(witness, log_key) -> None:
    key, public = log_key
    note = cp.sign("other.example/log", 3, _root(3), key=key, public_der=public)
    assert witness.add_checkpoint(cp.add_checkpoint_request(0, [], note), now=1).status == 404


@pytest.mark.parametrize(
    "body",
    [b"", b"old x\n\n", b"old 1\nnot-base64!\n\nx\n", b"\xff\xfe", b"old 0\n\n" + b"a" * 70000],
)
def test_malformed_requests_are_a_400(witness, body: bytes) -> None:
    assert witness.add_checkpoint(body, now=1).status == 400


def test_the_witness_state_survives_a_restart(witness, log_key, tmp_path: Path) -> None:
    witness.add_checkpoint(cp.add_checkpoint_request(0, [], _note(log_key, 5)), now=1)
    again = cp.Witness(
        name=witness.name,
        key=WitnessKey(tmp_path / "w.key"),
        logs=witness.logs,
        state=witness.state,
    )
    answer = again.add_checkpoint(cp.add_checkpoint_request(0, [], _note(log_key, 4)), now=2)
    assert answer.status == 409
    assert answer.body == "5\n"


def test_a_witness_with_unreadable_state_answers_503(witness, log_key) -> None:

    witness.state.write_text("{not json")
    client = create_witness_app(witness).test_client()
    body = cp.add_checkpoint_request(0, [], _note(log_key, 5))
    res = client.post("/add-checkpoint", data=body)
    assert res.status_code == 503
    assert witness.state.read_text() == "{not json"

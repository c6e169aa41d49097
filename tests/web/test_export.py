"""Download everything (issue 14): the archive opens with Debian's age and tar, holds every
document version byte for byte, certificates with today's verdict, consents with receipts and the
activity with proofs that verify; bad locks are clear errors."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from audit import merkle
from tests.keys.test_age import _age_with_passphrase
from tests.web.certificates import issue_degree
from tests.web.conftest import csrf_of
from tests.web.helpers import register, upload


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: install Debian's 'age' package (make test does)")
    return path


@pytest.fixture
def age_key(tmp_path: Path) -> tuple[Path, str]:
    key = tmp_path / "key.txt"
    subprocess.run([_tool("age-keygen"), "-o", str(key)], check=True, capture_output=True)
    public = next(x.split(": ", 1)[1] for x in key.read_text().splitlines() if "public key" in x)
    return key, public


def _export(client: FlaskClient, **form: str):
    csrf = csrf_of(client, "/security")
    return client.post("/security/export", data={"csrf_token": csrf, **form})


def _opened(res, key: Path, tmp_path: Path) -> dict[str, bytes]:
    """The archive's files by path, after ``age -d`` with the key."""
    (tmp_path / "x.tar.age").write_bytes(res.get_data())
    plain = subprocess.run(
        [_tool("age"), "-d", "-i", str(key), str(tmp_path / "x.tar.age")],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(plain)) as archive:
        return {m.name: archive.extractfile(m).read() for m in archive.getmembers() if m.isfile()}


@pytest.fixture
def filled(app, client, sessions, file_keystore, clock):
    """A citizen with an issued certificate and two uploads, one of them in two versions."""
    _row, pdf = issue_degree(app, client, sessions, file_keystore, clock)
    first = upload(client, b"%PDF-1.7 first version", "cnic.pdf", title="CNIC").get_json()["id"]
    csrf = csrf_of(client, f"/vault/{first}")
    client.post(
        f"/vault/{first}/versions",
        data={"csrf_token": csrf, "file": (io.BytesIO(b"%PDF-1.7 second version"), "cnic2.pdf")},
    )
    upload(client, "نوٹ: اردو متن".encode(), "note.txt", title="نوٹ")
    return pdf


def test_the_export_opens_with_age_and_holds_every_version(
    client, filled, age_key, tmp_path
) -> None:
    key, public = age_key
    res = _export(client, age_key=public)
    assert res.status_code == 200
    assert "attachment" in res.headers["Content-Disposition"]
    files = _opened(res, key, tmp_path)
    contents = set(files.values())
    assert {filled, b"%PDF-1.7 first version", b"%PDF-1.7 second version"} <= contents
    assert "نوٹ: اردو متن".encode() in contents
    manifest = json.loads(files["manifest.json"])
    for entry in manifest["files"]:

        assert hashlib.sha256(files[entry["path"]]).hexdigest() == entry["sha256"]
    (certificate,) = json.loads(files["certificates.json"])
    assert certificate["verdict_today"]["indication"] == "TOTAL_PASSED"


def test_every_exported_event_is_proven_under_the_signed_head(
    client, filled, age_key, tmp_path
) -> None:
    key, public = age_key
    activity = json.loads(_opened(_export(client, age_key=public), key, tmp_path)["activity.json"])
    head = activity["tree_head"]
    root = base64.b64decode(head["root_hash"])
    tags = [e["tag"] for e in activity["events"]]
    assert "vault:exported" in tags
    assert "vault:document-uploaded" in tags
    for event in activity["events"]:
        proof = event["proof"]
        assert merkle.verify_inclusion(
            leaf=merkle.leaf_hash(base64.b64decode(proof["entry"])),
            index=proof["leaf_index"],
            size=head["tree_size"],
            path=[base64.b64decode(p) for p in proof["path"]],
            root=root,
        )


def test_the_export_is_a_line_in_the_activity(client, filled, age_key) -> None:
    _export(client, age_key=age_key[1])
    assert "You downloaded everything in your vault (3 documents)." in client.get(
        "/activity"
    ).get_data(as_text=True)


@pytest.mark.parametrize(
    ("form", "words"),
    [
        ({"age_key": "age1notakey"}, "This is not an age public key."),
        ({"passphrase": "short", "confirm": "short"}, "at least 10 characters"),
        ({"passphrase": "long enough passphrase", "confirm": "other"}, "not the same"),
    ],
)
def test_a_bad_lock_is_a_clear_error_and_exports_nothing(
    client, filled, form: dict[str, str], words: str
) -> None:
    res = _export(client, **form)
    assert res.status_code == 400
    assert words in res.get_data(as_text=True)
    assert "You downloaded everything" not in client.get("/activity").get_data(as_text=True)


def test_a_short_passphrase_is_refused_in_urdu(client, filled) -> None:
    client.get("/lang/ur")
    res = _export(client, passphrase="short", confirm="short")
    assert res.status_code == 400
    assert "کم از کم 10" in res.get_data(as_text=True)


def test_an_export_of_200_documents_opens_and_matches(client, age_key, tmp_path) -> None:

    register(client)
    stored = {f"doc {n}.txt": f"document number {n}\n".encode() for n in range(200)}
    for name, data in stored.items():
        assert upload(client, data, name).status_code in (200, 201)
    key, public = age_key
    files = _opened(_export(client, age_key=public), key, tmp_path)
    documents = {p: d for p, d in files.items() if p.startswith("documents/")}
    assert len(documents) == 200
    assert set(documents.values()) == set(stored.values())


def test_a_passphrase_export_opens_with_the_passphrase_typed_into_age(
    client, filled, tmp_path
) -> None:

    res = _export(client, passphrase="a long passphrase 1", confirm="a long passphrase 1")
    assert res.status_code == 200
    (tmp_path / "x.tar.age").write_bytes(res.get_data())
    code = _age_with_passphrase(tmp_path / "x.tar.age", "a long passphrase 1", tmp_path / "x.tar")
    assert code == 0
    with tarfile.open(tmp_path / "x.tar") as archive:
        assert "manifest.json" in archive.getnames()

"""English and Urdu: every user-facing string has an Urdu entry; Urdu pages run right to left."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask.testing import FlaskClient

from tests.web.conftest import csrf_of

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "web/translations/ur/LC_MESSAGES/messages.po"
MO = ROOT / "web/translations/ur/LC_MESSAGES/messages.mo"
KEYWORDS = [
    "_",
    "_l",
    "gettext",
    "lazy_gettext",
]  # as the Makefile's BABEL_KEYWORDS: domain refusals are codes (web/messages.py ERRORS)


def _extract(tmp_path: Path) -> set[str]:
    out = tmp_path / "messages.pot"
    args = [
        sys.executable,
        "-m",
        "babel.messages.frontend",
        "extract",
        "-F",
        "babel.cfg",
        "-o",
        str(out),
        "--omit-header",
    ]
    for k in KEYWORDS:
        args += ["-k", k]
    subprocess.run([*args, "."], cwd=ROOT, check=True, capture_output=True)
    return {m.id for m in read_po(out.open("rb")) if m.id}


def test_every_string_has_an_urdu_translation(tmp_path: Path) -> None:
    """New user-facing strings must be added to the Urdu catalogue (make translations)."""
    catalog = {m.id: m.string for m in read_po(PO.open("rb")) if m.id}
    wanted = _extract(tmp_path)
    missing = sorted(wanted - catalog.keys())
    untranslated = sorted(k for k in wanted if catalog.get(k) == "")
    assert not missing, f"missing: {missing}"
    assert not untranslated, f"untranslated: {untranslated}"


def test_compiled_catalogue_matches_the_source() -> None:
    """The shipped .mo is the compiled .po (run make translations after editing the .po)."""
    source = {m.id: m.string for m in read_po(PO.open("rb")) if m.id}
    compiled = {m.id: m.string for m in read_mo(io.BytesIO(MO.read_bytes())) if m.id}
    assert compiled == source


def test_urdu_pages_are_right_to_left(client: FlaskClient) -> None:
    page = client.get("/login?lang=ur").get_data(as_text=True)
    assert 'lang="ur" dir="rtl"' in page
    assert "پاس کی سے سائن اِن کریں" in page


def test_language_choice_is_remembered(client: FlaskClient) -> None:
    res = client.get("/lang/ur?next=/register")
    assert res.status_code == 302
    assert res.headers["Location"].endswith("/register")
    assert 'dir="rtl"' in client.get("/register").get_data(as_text=True)
    assert client.get("/lang/en?next=//evil.example").headers["Location"] == "/"
    assert client.get("/lang/en?next=/%5Cevil.example").headers["Location"] == "/"


def test_errors_are_translated(client: FlaskClient) -> None:

    csrf = csrf_of(client, "/register")
    res = client.post(
        "/register/begin",
        json={"name": "x", "cnic": "12"},
        headers={"X-CSRF-Token": csrf, "Accept-Language": "ur"},
    )
    assert res.status_code == 400
    assert "13 ہندسے" in res.get_json()["message"]

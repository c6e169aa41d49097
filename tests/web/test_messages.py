"""Every reason code the domain produces has English and Urdu words; every word has a code."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask_babel import Babel, force_locale

from verification import Reason
from web.messages import REASONS, reason_text

ROOT = Path(__file__).resolve().parents[2]
# The calls that take a reason code as their first argument, below web.
_MAKERS = {"of", "_fail", "_constraint"}


def _produced_codes() -> set[str]:
    codes: set[str] = set()
    for package in ("verification", "signing"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.Call):
                    continue
                name = (
                    node.func.attr
                    if isinstance(node.func, ast.Attribute)
                    else getattr(node.func, "id", "")
                )
                args = [
                    a for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
                ]
                if name in _MAKERS and args:
                    codes.add(args[0].value)
    return codes


@pytest.fixture(scope="module")
def app() -> Iterator[Flask]:
    bare = Flask(__name__)
    bare.config["BABEL_TRANSLATION_DIRECTORIES"] = str(ROOT / "web" / "translations")
    Babel(bare)
    yield bare


def test_the_scan_finds_the_codes() -> None:
    assert {"pdf_all_valid", "qr_genuine_offline", "register_mismatch"} <= _produced_codes()


def test_every_produced_code_has_words() -> None:
    assert _produced_codes() - set(REASONS) == set()


def test_every_word_is_for_a_produced_code() -> None:
    assert set(REASONS) - _produced_codes() == set()


@pytest.mark.parametrize("code", sorted(REASONS))
def test_every_reason_reads_in_urdu(app: Flask, code: str) -> None:
    reason = Reason.of(code, n=1, error="E", change="x", date="2026-12-01", reason="r", at="t")
    with app.test_request_context("/"):
        english = reason_text(reason)
        with force_locale("ur"):
            urdu = reason_text(reason)
    assert english != urdu and "%(" not in urdu and "%(" not in english


def test_an_unknown_code_still_reads(app: Flask) -> None:
    with app.test_request_context("/"):
        assert "future_code" in reason_text(Reason.of("future_code"))


@pytest.mark.parametrize(
    ("value", "urdu"), [("female", "خاتون"), ("male", "مرد"), ("Lahore", "Lahore")]
)
def test_fixed_vocabulary_values_read_in_urdu(app: Flask, value: str, urdu: str) -> None:
    from web.messages import choice_text

    with app.test_request_context("/"), force_locale("ur"):
        assert choice_text(value) == urdu

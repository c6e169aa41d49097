"""Every reason code the domain produces has English and Urdu words; every word has a code."""

from __future__ import annotations

import ast
import datetime as dt
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask_babel import Babel, force_locale

from amanat.errors import AmanatError
from verification import Reason
from web.messages import ERRORS, REASONS, choice_text, error_text, reason_text

ROOT = Path(__file__).resolve().parents[2]
# The calls that take a reason code as their first argument, below web.
_MAKERS = {"of", "_fail", "_constraint", "_verdict"}


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
    reason = Reason.of(
        code,
        n=1,
        error="E",
        change="x",
        date="2026-12-01",
        reason="r",
        at="t",
        as_of="2026-12-01 09:00 UTC",
        hours=2,
    )
    with app.test_request_context("/"):
        english = reason_text(reason)
        with force_locale("ur"):
            urdu = reason_text(reason)
    assert english != urdu
    assert "%(" not in urdu
    assert "%(" not in english


def test_an_unknown_code_still_reads(app: Flask) -> None:
    with app.test_request_context("/"):
        assert "future_code" in reason_text(Reason.of("future_code"))


@pytest.mark.parametrize(
    ("value", "urdu"), [("female", "خاتون"), ("male", "مرد"), ("Lahore", "Lahore")]
)
def test_fixed_vocabulary_values_read_in_urdu(app: Flask, value: str, urdu: str) -> None:

    with app.test_request_context("/"), force_locale("ur"):
        assert choice_text(value) == urdu


def _error_classes() -> set[str]:
    """The names of every error class of the domain packages (AmanatError's family)."""


    for module in ("audit.errors", "identity.errors", "keys.errors", "signing.errors",
                   "signing.recording", "vault.errors", "web.tasks", "web.backup",
                   "signing.transparency", "signing.requests", "signing.webhooks",
                   "signing.applications", "signing.disputes", "signing.erasure", "amanat.migrate",
                   "vault.notices", "web.notices", "verification.status_list",
                   "web.offline"):  # fmt: skip
        importlib.import_module(module)  # each registers its classes

    found, todo = set(), [AmanatError]
    while todo:
        cls = todo.pop()
        found.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return found


def _raised_error_codes() -> set[str]:
    """Every ``code=`` given to a domain error below web, and the values of module-level
    ``*_CODES`` tables handed to one (a code chosen by state)."""
    classes = _error_classes()
    codes: set[str] = set()
    # web too: its own limiter raises a domain error with a code.
    for package in (
        "amanat",
        "audit",
        "identity",
        "keys",
        "signing",
        "vault",
        "verification",
        "web",
    ):
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text())
            tables = {
                target.id: node.value
                for node in tree.body
                if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict)
                for target in node.targets
                if isinstance(target, ast.Name) and target.id.endswith("_CODES")
            }
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                # A domain error, or an error class handing its code to its parent's __init__.
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name not in classes and not (name == "__init__" and "errors" in path.name):
                    continue
                for keyword in node.keywords:
                    if keyword.arg != "code":
                        continue
                    for part in ast.walk(keyword.value):  # 'x', code or 'x', TABLE[state]
                        if isinstance(part, ast.Constant) and isinstance(part.value, str):
                            codes.add(part.value)
                        elif isinstance(part, ast.Subscript) and isinstance(part.value, ast.Name):
                            table = tables[part.value.id].values
                            codes.update(v.value for v in table if isinstance(v, ast.Constant))
    return codes


def test_the_error_scan_finds_the_codes() -> None:
    assert {"unsupported_type", "share_withdrawn", "share_purpose_length"} <= _raised_error_codes()


def test_every_raised_error_code_has_words() -> None:

    assert _raised_error_codes() - set(ERRORS) - {"upload_rejected"} == set()


def test_every_error_word_is_for_a_raised_code() -> None:

    assert set(ERRORS) - _raised_error_codes() == set()


def _errors() -> list[str]:

    return sorted(ERRORS)


@pytest.mark.parametrize("code", _errors())
def test_every_error_reads_in_urdu(app: Flask, code: str) -> None:

    params = {"mib": 25, "low": 1, "high": 365, "n": 50, "scopes": "verify", "type": "T",
              "known": "a, b", "field": "f", "fields": "f", "choices": "a, b", "level": "X",
              "levels": "B-B", "error": "E", "tool": "pg_dump", "path": "/b", "file": "x",
              "kind": "sqlite", "scope": "issue", "name": "fields", "serial": "7K2M-9QXD-41TB",
              "kib": 256, "kinds": "id-card", "organisation": "BANK", "site": "https://x",
              "statuses": "submitted", "outcomes": "upheld", "date": "2026-12-01",
              "due": "2026-12-04", "table": "signing_certificate_copies",
              "wait": dt.timedelta(minutes=14, seconds=3)}  # fmt: skip
    with app.test_request_context("/"):
        english = error_text(code, params)
        with force_locale("ur"):
            urdu = error_text(code, params)
    assert english
    assert urdu
    assert english != urdu
    assert "%(" not in urdu + english

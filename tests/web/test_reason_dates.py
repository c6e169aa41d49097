"""Reason parameters are ISO strings below ``web`` (a verdict is plain data, and the JSON API
keeps them so); on a page, in the report and on the command line they read as dates in the
reader's language and the service's time zone (Asia/Karachi by default)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask_babel import force_locale

from verification import Reason
from web.messages import reason_text


@pytest.mark.parametrize(
    ("lang", "words"),
    [("en", "from 1 December 2026, 19:30;"), ("ur", "1 دسمبر 2026، 19:30 سے")],
)
def test_a_moment_reads_as_the_pages_write_it(app: Flask, lang: str, words: str) -> None:
    with app.test_request_context("/"), force_locale(lang):
        text = reason_text(Reason.of("register_key_compromised", at="2026-12-01T14:30+00:00"))
    assert words in text
    assert "2026-12-01" not in text


@pytest.mark.parametrize(("lang", "words"), [("en", "1 December 2026"), ("ur", "1 دسمبر 2026")])
def test_a_day_reads_as_the_pages_write_it(app: Flask, lang: str, words: str) -> None:
    with app.test_request_context("/"), force_locale(lang):
        text = reason_text(Reason.of("register_revoked", date="2026-12-01", reason="error"))
    assert words in text
    assert "2026-12-01" not in text

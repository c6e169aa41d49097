"""Dates on pages: words in the reader's language, in the service's time zone, never ISO strings."""

from __future__ import annotations

import datetime as dt

import pytest
from flask_babel import force_locale

from amanat.settings import SettingsError, load_settings
from tests.web.helpers import register, upload
from web.app import _day, _when

MOMENT = dt.datetime(2026, 12, 1, 7, 25, tzinfo=dt.UTC)


def test_a_moment_reads_in_english_in_karachi_time(app) -> None:
    with app.test_request_context("/"):
        assert _when(MOMENT) == "1 December 2026, 12:25"
        assert _day(MOMENT) == "1 December 2026"


def test_a_moment_reads_in_urdu(app) -> None:
    with app.test_request_context("/"), force_locale("ur"):
        text = _when(MOMENT)
    assert "دسمبر" in text
    assert "12:25" in text
    assert "2026\u060c" in text


def test_an_unknown_time_zone_is_refused(tmp_path) -> None:
    with pytest.raises(SettingsError, match="AMANAT_TIME_ZONE"):
        load_settings({"AMANAT_INSTANCE": str(tmp_path), "AMANAT_TIME_ZONE": "Mars/Olympus"})


def test_the_vault_page_shows_no_iso_dates(client) -> None:

    register(client)
    upload(client, b"%PDF-1.7 x", "a.pdf")
    page = client.get("/vault").get_data(as_text=True)
    visible = page.split("<main", 1)[-1]
    assert "November 2026" in visible
    assert "2026-11-27 " not in visible

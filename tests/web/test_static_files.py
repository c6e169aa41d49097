"""Static files: versioned URLs cached for a year, the Urdu web font shipped and declared."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "web" / "static"


def _versioned(client, name: str) -> str:
    page = client.get("/").get_data(as_text=True)
    match = re.search(rf'"(/static/{re.escape(name)}\?v=[0-9a-f]{{12}})"', page)
    assert match, f"{name} is not linked with its version"
    return match.group(1)


@pytest.mark.parametrize("name", ["style.css", "app.js"])
def test_a_versioned_static_file_is_cached_for_a_year(client, name: str) -> None:
    res = client.get(_versioned(client, name))
    assert res.status_code == 200
    assert res.headers["Cache-Control"] == "public, max-age=31536000, immutable"


def test_an_unversioned_or_stale_url_is_revalidated(client) -> None:
    assert client.get("/static/style.css").headers["Cache-Control"] == "no-cache"
    assert client.get("/static/style.css?v=000000000000").headers["Cache-Control"] == "no-cache"


def test_the_urdu_font_is_declared_first_for_urdu_and_cached_for_a_year(client) -> None:
    css = (STATIC / "style.css").read_text()
    font = re.search(r'url\("(fonts/noto-naskh-urdu-([0-9a-f]{10})\.woff2)"\)', css)
    assert font and ':lang(ur) { font-family: "Amanat Urdu"' in css and "font-display: swap" in css
    data = (STATIC / font.group(1)).read_bytes()
    import hashlib

    assert data[:4] == b"wOF2" and len(data) <= 120 * 1024
    assert hashlib.sha256(data).hexdigest()[:10] == font.group(2)  # the name is its content
    res = client.get("/static/" + font.group(1))
    assert res.status_code == 200 and "immutable" in res.headers["Cache-Control"]

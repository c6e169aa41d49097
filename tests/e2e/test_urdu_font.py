"""In headless Chromium with no Urdu system font: Urdu pages draw every letter with the shipped
web font (ہ ے ۔ were empty boxes), at phone width."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e
SHOTS = os.environ.get("AMANAT_SCREENSHOTS")


@pytest.mark.parametrize("path", ["/", "/verify", "/login"])
def test_urdu_pages_load_the_urdu_font(live_server: str, browser_context: Any, path: str) -> None:
    page = browser_context.new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    browser_context.add_cookies([{"name": "lang", "value": "ur", "url": live_server}])
    fonts: list[str] = []
    page.on("response", lambda r: fonts.append(r.url) if r.url.endswith(".woff2") else None)
    page.goto(live_server + path)
    loaded = page.evaluate(
        """async () => { await document.fonts.ready;
             await document.fonts.load('16px "Amanat Urdu"', 'ہے۔');
             return document.fonts.check('16px "Amanat Urdu"', 'ہے۔'); }"""
    )
    assert loaded, "the Urdu web font did not load"
    assert any("noto-naskh-urdu-" in url for url in fonts)
    family = page.evaluate("getComputedStyle(document.body).fontFamily")
    assert family.startswith('"Amanat Urdu"')
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"ur{path.replace('/', '-') or '-home'}.png"))

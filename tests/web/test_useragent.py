# ruff: noqa: E501 - real User-Agent strings
"""Sessions are named by browser and system, as a person names them."""

from __future__ import annotations

import pytest

from web.useragent import describe_agent

UA = {
    "android-chrome": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36",
    "iphone-safari": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "windows-edge": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36 Edg/131.0",
    "linux-firefox": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "linux-headless": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36",
}


@pytest.mark.parametrize(
    ("agent", "named"),
    [
        (UA["android-chrome"], "Chrome on Android"),
        (UA["iphone-safari"], "Safari on iPhone"),
        (UA["windows-edge"], "Edge on Windows"),
        (UA["linux-firefox"], "Firefox on Linux"),
        (UA["linux-headless"], "Chrome on Linux"),
        ("curl/8.5", "Unknown browser"),
        ("", "Unknown browser"),
        (None, "Unknown browser"),
    ],
)
def test_a_session_is_named_by_browser_and_system(app, agent, named: str) -> None:
    with app.test_request_context("/"):
        assert describe_agent(agent) == named

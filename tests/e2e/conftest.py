"""Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright, against a live server."""

from __future__ import annotations

import os
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright
from sqlalchemy.engine import Engine
from werkzeug.serving import make_server

from amanat.settings import Settings
from keys.stores import FileKeyStore
from tests.conftest import TEST_PASSWORD_PROFILE
from web.app import create_app
from web.runtime import build_runtime

CHROMIUM = os.environ.get("AMANAT_TEST_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture
def live_overrides() -> dict[str, Any]:
    """Settings a test module wants changed on its live server (override this fixture)."""
    return {}


@pytest.fixture
def live_state() -> dict[str, Any]:
    """The live server's runtime, for tests that run its jobs themselves ("runtime")."""
    return {}


@pytest.fixture
def live_server(
    tmp_path: Path,
    db_url: str,
    engine: Engine,
    file_keystore: FileKeyStore,
    live_overrides: dict[str, Any],
    live_state: dict[str, Any],
) -> Iterator[str]:
    """The app served on http://localhost:<free port> in a background thread."""
    instance = tmp_path / "live-instance"
    instance.mkdir()
    server = make_server("localhost", 0, None, threaded=True)  # type: ignore[arg-type]
    port = server.socket.getsockname()[1]
    settings = Settings(
        instance=instance, database_url=db_url, public_base_url=f"http://localhost:{port}",
        password_profile=TEST_PASSWORD_PROFILE, **live_overrides,
    )  # fmt: skip
    runtime = live_state["runtime"] = build_runtime(settings, engine=engine, keystore=file_keystore)
    server.app = create_app(runtime_=runtime)  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{port}"
    server.shutdown()
    thread.join(timeout=10)
    runtime.close()  # buffered verifications are written before the database goes


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    """One Playwright per test process: its sync API cannot be started twice in one process,
    so a test that needs a browser with other flags launches it from this one."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium is missing at {CHROMIUM}: install Debian's chromium (make test does)"
        )

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def chromium(playwright: Any) -> Iterator[Any]:
    """One headless Chromium for the session."""
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    )
    yield browser
    browser.close()


@pytest.fixture
def browser_context(chromium: Any) -> Iterator[Any]:
    """A fresh browser profile (cookies, downloads) per test."""
    context = chromium.new_context(accept_downloads=True)
    yield context
    context.close()


def add_virtual_authenticator(page: Any) -> tuple[Any, str]:
    """Attach a CDP virtual platform authenticator (resident keys, user verification) to a page."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    result = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, result["authenticatorId"]


def register_with_passkey(page: Any, live_server: str, *, name: str, cnic: str) -> None:
    """Register a citizen on ``page`` with a new virtual passkey; the page ends on the vault."""
    page.goto(live_server + "/")
    add_virtual_authenticator(page)
    page.goto(live_server + "/register")
    page.fill("#name", name)
    page.fill("#cnic", cnic)
    page.click("#register-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/vault$"))


def api_get(url: str, key: str) -> tuple[int, bytes]:
    """GET with an API key; the status and body (an error status too)."""

    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def password_sign_in(page: Any, live_server: str, login: str, password: str) -> None:
    """Sign in on ``page`` with a password (members, officers, the office)."""
    page.goto(live_server + "/login")
    page.click("details summary")
    page.fill("#pw-login", login)
    page.fill("input[name=password]", password)
    page.click("details button[type=submit]")
    page.wait_for_load_state()


def open_activity_with(page: Any, live_server: str, selector: str) -> None:
    """Open the activity page once it shows ``selector``: on PostgreSQL an event may wait in
    audit_pending until the next lock holder or tree head chains it (SECURITY.md, "merge
    delay", at most AMANAT_TREE_HEAD_SECONDS)."""
    for _ in range(20):
        page.goto(live_server + "/activity")
        if page.locator(selector).count():
            return
        page.wait_for_timeout(500)

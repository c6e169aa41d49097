"""Sharing under consent end to end in headless Chromium, with a virtual passkey."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

from sqlalchemy.orm import sessionmaker

from amanat.db import transaction
from identity.organisations import create_api_key, create_organisation
from tests.e2e.conftest import add_virtual_authenticator, api_get

DEGREE = b"%PDF-1.4\n% degree\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
DOMICILE = b"%PDF-1.4\n% domicile\n" + bytes(range(255, -1, -1)) * 50 + b"\n%%EOF\n"


def _citizen_with_documents(page: Any, live_server: str, tmp_path: Path) -> None:
    page.goto(live_server + "/")
    add_virtual_authenticator(page)
    page.goto(live_server + "/register")
    page.fill("#name", "Ayesha Khan")
    page.fill("#cnic", "35202-7654321-3")
    page.click("#register-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/vault$"))
    for title, data in (("Degree certificate", DEGREE), ("Domicile certificate", DOMICILE)):
        source = tmp_path / f"{title}.pdf"
        source.write_bytes(data)
        page.goto(live_server + "/vault")
        page.set_input_files("#file", str(source))
        page.fill("#title", title)
        page.click("form[data-upload] button[type=submit]")
        page.wait_for_url(re.compile(r".*/vault/[0-9a-f-]{36}$"))


def _consent(page: Any, live_server: str, recipient: str) -> str:
    page.goto(live_server + "/shares/new")
    page.check("text=Degree certificate")
    page.check("text=Domicile certificate")
    page.select_option("#recipient", recipient)
    page.fill("#purpose", "loan application")
    page.fill("#days", "30")
    page.click("#review")
    assert "loan application" in page.inner_text("#terms")
    page.click("#confirm")  # the virtual authenticator signs the terms' hash
    page.wait_for_url(re.compile(r".*/shares/[0-9a-f-]{36}(#.*)?$"))
    return page.url.split("/shares/")[1].split("#")[0]


def test_citizen_shares_bank_fetches_citizen_sees_and_withdraws(
    live_server: str, browser_context: Any, tmp_path: Path, sessions: sessionmaker
) -> None:
    with transaction(sessions) as s:
        now = dt.datetime.now(dt.UTC)
        create_organisation(s, code="BANK", name="Example Bank", now=now)
        key = create_api_key(s, code="BANK", label="e2e", scopes=["shares:read"], now=now).token
    page = browser_context.new_page()
    _citizen_with_documents(page, live_server, tmp_path)
    grant = _consent(page, live_server, "BANK")

    listing_status, listing = api_get(f"{live_server}/api/v1/shared/{grant}", key)
    assert listing_status == 200
    got = {}
    for doc in json.loads(listing)["documents"]:
        status, body = api_get(live_server + doc["href"], key)
        assert status == 200
        got[doc["title"]] = body
    assert got == {"Degree certificate": DEGREE, "Domicile certificate": DOMICILE}

    page.goto(live_server + "/shares")
    assert page.locator(f"li[data-grant='{grant}'] li[data-tag='consent:used']").count() == 2
    page.goto(live_server + "/activity")
    activity = page.inner_text("ol.activity")
    assert "Example Bank downloaded your Degree certificate" in activity
    assert "Example Bank downloaded your Domicile certificate" in activity
    page.click("#check-ledger")
    page.wait_for_selector("#ledger-check[data-result]")
    assert page.get_attribute("#ledger-check", "data-result") == "ok", page.inner_text(
        "#ledger-check"
    )

    page.goto(f"{live_server}/shares/{grant}")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#withdraw")
    page.wait_for_selector("#state[data-state='withdrawn']")
    status, _ = api_get(f"{live_server}/api/v1/shared/{grant}", key)
    assert status == 403
    page.reload()
    assert page.locator("#accesses li[data-tag='consent:access-refused']").count() == 1


def test_link_share_opens_from_the_fragment_in_another_browser(
    live_server: str, chromium: Any, browser_context: Any, tmp_path: Path
) -> None:
    page = browser_context.new_page()
    _citizen_with_documents(page, live_server, tmp_path)
    _consent(page, live_server, "link")
    link = page.input_value("#share-link")
    assert "#" in link
    assert "#link=" not in page.url
    stranger = chromium.new_context(accept_downloads=True)
    try:
        other = stranger.new_page()
        other.goto(link)
        other.wait_for_selector("text=Documents shared with you")
        other.wait_for_selector("text=Domicile certificate")
        with other.expect_download() as info:
            other.locator("li", has_text="Degree certificate").locator("button").click()
        assert Path(info.value.path()).read_bytes() == DEGREE
    finally:
        stranger.close()

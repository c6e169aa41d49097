"""Requests end to end in headless Chromium: a bank member asks on the bank's page, the citizen
opens the link and approves with the (virtual) passkey, the bank fetches the documents, a signed
webhook reaches a receiver on this machine, the citizen's activity shows each step; a decline, a
second answer and an expired request."""

from __future__ import annotations

import datetime as dt
import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import sessionmaker

from amanat.db import transaction
from identity import passwords
from identity.organisations import add_member, create_api_key, create_organisation
from keys.stores import FileKeyStore
from signing.requests import CallbackPolicy, check_asked, create_request
from signing.webhooks import rotate_webhook_secret, signature_valid
from tests.e2e.conftest import (
    add_virtual_authenticator,
    api_get,
    open_activity_with,
    password_sign_in,
)
from tests.web.receiver import Receiver, receiver
from web.webhooks import deliver_due_webhooks

CNIC = "35202-7654321-3"
SLIP = b"%PDF-1.4\n% pay slip\n" + bytes(range(256)) * 30 + b"\n%%EOF\n"


@pytest.fixture
def live_overrides() -> dict[str, Any]:
    return {"webhook_allowed_networks": "127.0.0.1/32"}


@pytest.fixture
def hook() -> Iterator[Receiver]:
    with receiver() as r:
        yield r


@pytest.fixture
def bank(sessions: sessionmaker, file_keystore: FileKeyStore) -> dict[str, str]:
    now = dt.datetime.now(dt.UTC)
    with transaction(sessions) as s:
        create_organisation(s, code="BANK", name="Demo Bank", name_ur="ڈیمو بینک", now=now)
        member = add_member(s, code="BANK", login="bank.clerk", display_name="Clerk", now=now)
        passwords.set_password(s, account=member, password="clerk passphrase", now=now)
        return {
            "secret": rotate_webhook_secret(s, keystore=file_keystore, code="BANK", now=now),
            "key": create_api_key(
                s, code="BANK", label="e2e", scopes=["requests", "shares:read"], now=now
            ).token,
        }


def _citizen(page: Any, live_server: str, tmp_path: Path) -> None:
    page.goto(live_server + "/")
    add_virtual_authenticator(page)
    page.goto(live_server + "/register")
    page.fill("#name", "Ayesha Khan")
    page.fill("#cnic", CNIC)
    page.click("#register-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/vault$"))
    source = tmp_path / "slip.pdf"
    source.write_bytes(SLIP)
    page.set_input_files("#file", str(source))
    page.fill("#title", "Pay slip November")
    page.select_option("#kind", "pay-slip")
    page.click("form[data-upload] button[type=submit]")
    page.wait_for_url(re.compile(r".*/vault/[0-9a-f-]{36}$"))


def _member_asks(page: Any, live_server: str, callback: str) -> str:
    """Sign in as the bank's clerk and ask; the request's link."""
    password_sign_in(page, live_server, "bank.clerk", "clerk passphrase")
    page.goto(live_server + "/org/requests/new")
    page.check("input[name=kind][value=pay-slip]")
    page.fill("#purpose", "home loan")
    page.fill("#cnic", CNIC)
    page.fill("#callback_url", callback)
    page.click("#ask")
    page.wait_for_selector("#request-link")
    return str(page.input_value("#request-link"))


def test_the_bank_asks_the_citizen_approves_and_the_bank_is_told(
    live_server: str, chromium: Any, browser_context: Any, tmp_path: Path, bank, hook,
    live_state: dict[str, Any],
) -> None:  # fmt: skip
    page = browser_context.new_page()
    _citizen(page, live_server, tmp_path)
    clerk_context = chromium.new_context()
    try:
        link = _member_asks(clerk_context.new_page(), live_server, hook.url)
    finally:
        clerk_context.close()
    request_id = link.rsplit("/", 1)[1]

    page.goto(live_server + "/requests")
    page.click(f"a[href='/r/{request_id}']")
    assert page.is_checked("text=Pay slip November")  # the asked kind, preselected
    page.click("#review")
    assert "home loan" in page.inner_text("#terms")
    page.click("#confirm")  # the virtual authenticator signs the consent's hash
    page.wait_for_url(re.compile(r".*/shares/[0-9a-f-]{36}$"))

    status, body = api_get(f"{live_server}/api/v1/requests/{request_id}", bank["key"])
    answer = json.loads(body)
    assert status == 200
    assert answer["status"] == "approved"
    status, listing = api_get(live_server + answer["grant_href"], bank["key"])
    (document,) = json.loads(listing)["documents"]
    assert api_get(live_server + document["href"], bank["key"]) == (200, SLIP)

    assert deliver_due_webhooks(live_state["runtime"]) == 1
    ((headers, sent),) = hook.received
    now = dt.datetime.now(dt.UTC)
    assert signature_valid(bank["secret"], header=headers["Amanat-Signature"], body=sent, now=now)
    assert json.loads(sent)["grant"] == answer["grant"]

    open_activity_with(page, live_server, "li[data-tag='request:approved']")
    activity = page.inner_text("ol.activity")
    assert "Demo Bank asked for your Pay slip for \u201chome loan\u201d." in activity
    assert "You approved Demo Bank's request for \u201chome loan\u201d and shared 1 documents." in (
        activity
    )
    assert "Demo Bank downloaded your Pay slip November" in activity


def test_a_decline_then_a_second_answer_then_an_expired_request(
    live_server: str, browser_context: Any, tmp_path: Path, bank, hook, sessions: sessionmaker,
    live_state: dict[str, Any],
) -> None:  # fmt: skip
    page = browser_context.new_page()
    _citizen(page, live_server, tmp_path)
    asked = {"kinds": ["pay-slip"], "purpose": "account opening", "cnic": CNIC,
             "callback_url": hook.url}  # fmt: skip
    status, body = _post(live_server, bank["key"], asked)
    assert status == 201
    request_id = json.loads(body)["request"]

    page.goto(f"{live_server}/r/{request_id}")
    second_tab = page.context.new_page()
    second_tab.goto(f"{live_server}/r/{request_id}")  # the form is open in another tab
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#decline")
    page.wait_for_selector("#request-state[data-state='declined']")
    second_tab.click("#review")
    assert "already been answered" in second_tab.inner_text("main")
    _, body = api_get(f"{live_server}/api/v1/requests/{request_id}", bank["key"])
    assert json.loads(body)["status"] == "declined"
    deliver_due_webhooks(live_state["runtime"])
    assert [json.loads(b)["event"] for _, b in hook.received] == ["request.declined"]

    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    with transaction(sessions) as s:
        asked = check_asked(
            types=[], kinds=["pay-slip"], purpose="old request", days=30, max_fetches=None,
            cnic=CNIC, callback_url=None, open_days=1, policy=CallbackPolicy(False),
        )  # fmt: skip
        old = create_request(s, organisation_code="BANK", actor="t", asked=asked, now=past).id
    page.goto(f"{live_server}/r/{old}")
    assert page.get_attribute("#request-state", "data-state") == "expired"
    assert page.locator("#review").count() == 0
    assert page.locator("#decline").count() == 0
    open_activity_with(page, live_server, "li[data-tag='request:expired']")
    activity = page.inner_text("ol.activity")
    assert "You declined Demo Bank's request for \u201caccount opening\u201d." in activity
    assert "Demo Bank's request for \u201cold request\u201d expired without an answer." in activity


def _post(live_server: str, key: str, body: dict[str, Any]) -> tuple[int, bytes]:
    request = urllib.request.Request(
        f"{live_server}/api/v1/requests",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read()

"""Assisted recovery end to end in headless Chromium (both databases): the officer starts it at
the desk, the citizen's own browser shows it, and after the wait the person's new device adds a
passkey through the link and signs in with it."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import sessionmaker

from amanat.db import transaction
from identity import passwords
from identity.accounts import create_account
from identity.models import AssistedRecovery, Role
from tests.e2e.conftest import add_virtual_authenticator, password_sign_in, register_with_passkey

CNIC = "35202-7654321-5"


def test_a_recovery_from_the_desk_to_a_new_passkey(
    live_server: str, chromium: Any, browser_context: Any, sessions: sessionmaker
) -> None:
    now = dt.datetime.now(dt.UTC)
    with transaction(sessions) as s:
        officer = create_account(s, role=Role.RECOVERY, display_name="Officer Bilal",
                                 login="desk.one", now=now)  # fmt: skip
        passwords.set_password(s, account=officer, password="desk passphrase", now=now)
    lost = browser_context.new_page()  # the device the citizen then loses
    register_with_passkey(lost, live_server, name="Ayesha Khan", cnic=CNIC)

    desk = chromium.new_context().new_page()
    password_sign_in(desk, live_server, "desk.one", "desk passphrase")
    desk.fill("#cnic", CNIC)
    desk.check("input[name=card_checked]")
    desk.click("main form button[type=submit]")
    link = desk.inner_text("#recovery-link")

    lost.goto(live_server + "/security")
    assert "started at a service centre by Officer Bilal" in lost.inner_text("#recoveries")
    with transaction(sessions) as s:
        s.execute(update(AssistedRecovery).values(due_at=now - dt.timedelta(minutes=1)))

    fresh = chromium.new_context().new_page()  # the new phone
    fresh.goto(live_server + "/")
    add_virtual_authenticator(fresh)
    fresh.goto(link)
    fresh.click("form[data-webauthn=recover] button[type=submit]")
    fresh.wait_for_url(re.compile(r".*/login$"))
    fresh.click("#login-form button[type=submit]")
    fresh.wait_for_url(re.compile(r".*/vault$"))
    lost.goto(live_server + "/vault")
    assert lost.url.startswith(live_server + "/login")  # its session ended with the recovery

"""A dispute end to end in headless Chromium, in English and in Urdu: from the activity line
("I did not expect this") through the bank's answer to the data-protection office's closing, and
the public record that counts it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from amanat.db import transaction
from audit import EventTag, record_event
from identity import passwords
from identity.accounts import create_account
from identity.models import Account, Role
from identity.organisations import add_member, create_organisation
from tests.e2e.conftest import (
    open_activity_with,
    password_sign_in,
    register_with_passkey,
)

CNIC = "35202-7654321-3"
TEXTS = {
    "en": {"closed": "Closed", "outcome": "Not upheld: the access was allowed",
           "counts": "1 opened, 1 closed"},
    "ur": {"closed": "بند", "outcome": "درست نہیں: یہ رسائی جائز تھی",
           "counts": "1 کھلے، 1 بند"},
}  # fmt: skip


def _sign_in(context: Any, live_server: str, login: str) -> Any:
    page = context.new_page()
    password_sign_in(page, live_server, login, "clerk passphrase")
    return page


@pytest.mark.parametrize("lang", ["en", "ur"])
def test_a_dispute_from_the_activity_line_to_its_closing(
    live_server: str, chromium: Any, browser_context: Any, sessions: sessionmaker, lang: str
) -> None:
    now = dt.datetime.now(dt.UTC)
    with transaction(sessions) as s:
        create_organisation(s, code="BANK", name="Demo Bank", name_ur="ڈیمو بینک", now=now)
        clerk = add_member(s, code="BANK", login="bank.clerk", display_name="Clerk", now=now)
        office = create_account(s, role=Role.DPO, display_name="DPO", login="dpo.one", now=now)
        for account in (clerk, office):
            passwords.set_password(s, account=account, password="clerk passphrase", now=now)

    page = browser_context.new_page()
    register_with_passkey(page, live_server, name="Ayesha Khan", cnic=CNIC)
    with transaction(sessions) as s:
        citizen = s.scalars(select(Account).where(Account.login == CNIC)).one()
        record_event(
            s, tag=EventTag.CONSENT_USED, actor="organisation:BANK api-key:k1",
            subject_id=citizen.id, object_type="grant", object_id="g1", now=now,
            details={"recipient": "Demo Bank", "purpose": "loan", "title": "Pay slip"},
        )  # fmt: skip
    page.goto(f"{live_server}/lang/{lang}?next=/activity")
    page.click("li[data-tag='consent:used'] a.dispute")
    page.fill("#note", "I never shared my pay slip with this bank.")
    page.click("#send-dispute")
    page.wait_for_selector("#dispute-state[data-state='open']")
    dispute_url = page.url

    clerk_context = chromium.new_context()
    office_context = chromium.new_context()
    try:
        bank = _sign_in(clerk_context, live_server, "bank.clerk")
        bank.goto(live_server + "/disputes/inbox")
        bank.click("#inbox a")
        bank.fill("#note", "The citizen consented on 1 December; the receipt says so.")
        bank.click("#add-note")
        bank.wait_for_selector("#dispute-state[data-state='answered']")

        dpo = _sign_in(office_context, live_server, "dpo.one")
        dpo.goto(live_server + "/disputes/inbox")
        dpo.click("#inbox a")
        dpo.select_option("#outcome-choice", "not_upheld")
        dpo.fill("#close-note", "The receipt carries the citizen's passkey signature.")
        dpo.click("#close-dispute")
        dpo.wait_for_selector("#dispute-state[data-state='closed']")
    finally:
        clerk_context.close()
        office_context.close()

    page.goto(dispute_url)
    assert page.inner_text("#dispute-state").startswith(TEXTS[lang]["closed"])
    assert page.inner_text("#outcome") == TEXTS[lang]["outcome"]
    timeline = page.inner_text("#timeline")
    assert "receipt says so" in timeline
    assert "passkey signature" in timeline
    open_activity_with(page, live_server, "li[data-tag='dispute:closed']")
    assert page.locator("li[data-tag='dispute:closed']").count() == 1

    page.goto(live_server + "/public")
    page.fill("input[name=q]", "Demo")
    page.press("input[name=q]", "Enter")
    page.click("a[href='/public/organisation/BANK']")
    assert page.inner_text("#disputes") == TEXTS[lang]["counts"]

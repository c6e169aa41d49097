"""Closing an account end to end in headless Chromium, in English and Urdu: asked for with the
passkey, the citizen's link kept, the job erasing once the grace period is over, and the deletion
certificate offered at the link."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.orm import sessionmaker

from amanat.db import transaction
from signing.models import Erasure
from tests.e2e.conftest import add_virtual_authenticator
from web.tasks import erase_due_accounts

TEXTS = {
    "en": {"pending": "Keep this link", "erased": "Download the certificate (PDF)"},
    "ur": {"pending": "یہ لنک سنبھال کر رکھیں", "erased": "سرٹیفکیٹ ڈاؤن لوڈ کریں (PDF)"},
}


@pytest.mark.parametrize("lang", ["en", "ur"])
def test_closing_an_account_from_the_security_page_to_the_certificate(
    live_server: str, browser_context: Any, sessions: sessionmaker, live_state: dict[str, Any],
    lang: str,
) -> None:  # fmt: skip
    page = browser_context.new_page()
    page.goto(f"{live_server}/lang/{lang}?next=/register")
    add_virtual_authenticator(page)
    page.fill("#name", "Ayesha Khan")
    page.fill("#cnic", "35202-7654321-9")
    page.click("#register-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/vault$"))
    page.goto(live_server + "/security/close-account")
    page.click("#confirm")
    page.wait_for_selector("#erasure-link")
    assert TEXTS[lang]["pending"] in page.inner_text("main")
    link = page.get_attribute("#erasure-link", "href")
    assert link is not None
    assert link.startswith(live_server + "/erasure/")
    with transaction(sessions) as s:
        s.execute(update(Erasure).values(due_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)))
    assert erase_due_accounts(live_state["runtime"]) == 1
    page.goto(link)
    assert TEXTS[lang]["erased"] in page.inner_text("main")
    pdf = page.request.get(link + "/certificate.pdf")
    assert pdf.ok
    assert pdf.body().startswith(b"%PDF-")
    page.goto(live_server + "/vault")
    assert page.url.startswith(live_server + "/login")

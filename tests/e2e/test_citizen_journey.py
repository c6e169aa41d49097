"""The walking skeleton end to end in headless Chromium with a virtual passkey."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.e2e.conftest import add_virtual_authenticator

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    + bytes(range(256)) * 300
    + b"\n%%EOF\n"
)


def test_citizen_registers_uploads_downloads_deletes_and_sees_activity(
    live_server: str, browser_context: Any, tmp_path: Path
) -> None:
    """Register with a passkey, sign out, sign in usernameless, upload, download, delete, review."""
    page = browser_context.new_page()
    page.goto(live_server + "/")
    cdp, authenticator_id = add_virtual_authenticator(page)

    page.goto(live_server + "/register")
    page.fill("#name", "Ayesha Khan")
    page.fill("#cnic", "35202-7654321-3")
    page.fill("#passkey_name", "Laptop")
    page.click("#register-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/vault$"))
    creds = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})[
        "credentials"
    ]
    assert len(creds) == 1
    assert creds[0]["isResidentCredential"]

    page.click("text=Sign out")
    page.wait_for_url(live_server + "/")
    page.goto(live_server + "/login")
    page.click("#login-form button[type=submit]")  # usernameless: nothing typed
    page.wait_for_url(re.compile(r".*/vault$"))

    source = tmp_path / "Degree Certificate.pdf"
    source.write_bytes(PDF)
    page.set_input_files("#file", str(source))
    page.fill("#title", "My degree")
    page.select_option("#kind", "degree")
    page.click("form[data-upload] button[type=submit]")
    page.wait_for_url(re.compile(r".*/vault/[0-9a-f-]{36}$"))
    document_url = page.url
    page.goto(live_server + "/vault")
    assert page.locator("table.list").get_by_text("My degree").is_visible()

    page.goto(document_url)
    with page.expect_download() as info:
        page.click("#download")
    downloaded = Path(info.value.path())
    assert downloaded.read_bytes() == PDF
    assert info.value.suggested_filename == "Degree Certificate.pdf"

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#delete")
    page.wait_for_url(re.compile(r".*/vault$"))
    assert page.get_by_text("My degree").count() == 0
    assert page.request.get(document_url).status == 404

    page.goto(live_server + "/activity")
    lines = page.locator("ol.activity li").all_inner_texts()
    text = "\n".join(lines)
    for expected in (
        "Your account was created.",
        "Passkey \u201cLaptop\u201d was added.",
        "You signed in (passkey).",
        "You signed out.",
        "You uploaded \u201cMy degree\u201d.",
        "You downloaded \u201cMy degree\u201d.",
        "You deleted \u201cMy degree\u201d.",
    ):
        assert expected in text, f"missing from /activity: {expected}\n{text}"
    assert lines[0].endswith("You deleted \u201cMy degree\u201d."), "newest first"


def test_second_citizen_cannot_reach_first_citizens_document(
    live_server: str, chromium: Any, tmp_path: Path
) -> None:
    """Another citizen asking for a document id gets a bare 404 that says nothing about it."""
    contexts = [chromium.new_context(), chromium.new_context()]
    try:
        urls = []
        for i, ctx in enumerate(contexts):
            page = ctx.new_page()
            page.goto(live_server + "/")
            add_virtual_authenticator(page)
            page.goto(live_server + "/register")
            page.fill("#name", f"Citizen {i}")
            page.fill("#cnic", f"35202-765432{i}-3")
            page.click("#register-form button[type=submit]")
            page.wait_for_url(re.compile(r".*/vault$"))
            urls.append(page)
        first, second = urls
        source = tmp_path / "secret.txt"
        source.write_text("private land record of citizen 0")
        first.set_input_files("#file", str(source))
        first.fill("#title", "Land record Plot 42")
        first.click("form[data-upload] button[type=submit]")
        first.wait_for_url(re.compile(r".*/vault/[0-9a-f-]{36}$"))
        doc_url = first.url
        for path in ("", "/file", "/file?download=1"):
            res = second.request.get(doc_url + path)
            assert res.status == 404
            body = res.text()
            assert (
                "Plot 42" not in body
            )
            assert (
                "secret" not in body
            )
            assert (
                "land record" not in body.lower()
            )
        res = second.request.post(
            doc_url + "/delete",
            form={"csrf_token": second.locator('meta[name="csrf-token"]').get_attribute("content")},
        )
        assert res.status == 404
        assert first.request.get(doc_url + "/file").status == 200
    finally:
        for ctx in contexts:
            ctx.close()

"""Every page state a citizen, an officer, a bank member and a stranger reach, in English and in
Urdu at phone width: axe-core (WCAG 2.1 A and AA rules) finds nothing; and the Urdu pages where
trust is decided carry no English word outside an element marked ``lang="en"``."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import sessionmaker

from amanat.db import transaction
from identity.accounts import create_account, find_by_login
from identity.models import Role
from identity.organisations import add_member, create_organisation
from identity.passwords import set_password
from keys.stores import FileKeyStore
from signing.issuance import IssuanceContext, IssueRequest, issue_certificate
from signing.pki import create_department, ensure_pki, load_pki
from tests.e2e.conftest import password_sign_in, register_with_passkey
from tests.signing.test_issuance import _decode_qr
from vault.service import open_document

pytestmark = pytest.mark.e2e

AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
CNIC = "35202-7654321-3"
PASSWORD = "a long demo pass phrase"
# Words an Urdu reader meets in Latin letters on any government page (the issue's short list).
ALLOWED = {"PDF", "QR", "CNIC", "Amanat"}
# A format example in a placeholder (XXXX-XXXX-XXXX) or any code with a digit: not a word.
CODE_LIKE = re.compile(r"^(?:[A-Z]{4}(?:-[A-Z]{4})+|.*\d.*)$")


@pytest.fixture(scope="module")
def axe_source() -> str:
    """The axe-core script, installed by ``make test`` (npm ci in tests/e2e)."""
    if not AXE.is_file():
        pytest.fail(f"axe-core is missing at {AXE}: run `make test` (npm ci --prefix tests/e2e)")
    return AXE.read_text()


@dataclass
class World:
    """What the walk visits: a citizen's issued certificate and her consent to a bank."""

    base: str
    serial: str = ""
    fragment: str = ""
    pdf: Path | None = None
    document: str = ""
    grant: str = ""


def _staff(sessions: sessionmaker, keystore: FileKeyStore, base: str) -> None:
    now = dt.datetime.now(dt.UTC)
    with transaction(sessions) as s:
        ensure_pki(s, keystore=keystore, now=now)
        material = load_pki(s, keystore=keystore, base_url=base)
        create_department(
            s, keystore=keystore, material=material, code="UNI",
            name="University of the Punjab", name_ur="جامعہ پنجاب", now=now,
        )  # fmt: skip
        officer = create_account(
            s, role=Role.OFFICER, display_name="Officer Ali", login="uni-officer",
            affiliation="UNI", now=now,
        )  # fmt: skip
        create_organisation(s, code="BANK", name="Example Bank", name_ur="مثالی بینک", now=now)
        member = add_member(s, code="BANK", login="bank-member", display_name="Sana", now=now)
        for account in (officer, member):
            set_password(s, account=account, password=PASSWORD, now=now)


@pytest.fixture
def world(
    live_server: str, live_state: dict[str, Any], chromium: Any, sessions: sessionmaker,
    file_keystore: FileKeyStore, tmp_path: Path,
) -> World:  # fmt: skip
    """Staff, a citizen registered with a passkey in the browser, her degree, and her consent."""
    _staff(sessions, file_keystore, live_server)
    context = chromium.new_context()
    page = context.new_page()
    register_with_passkey(page, live_server, name="عائشہ خان", cnic=CNIC)
    with transaction(sessions) as s:
        citizen = find_by_login(s, login=CNIC)
        assert citizen is not None
        set_password(s, account=citizen, password=PASSWORD, now=dt.datetime.now(dt.UTC))
    world = World(base=live_server)
    _issue(world, sessions, live_state["runtime"].issuance(), tmp_path)
    world.grant = _consent(page, live_server)
    context.close()
    return world


def _issue(world: World, sessions: sessionmaker, ctx: IssuanceContext, tmp_path: Path) -> None:
    fields = {"name": "Ayesha Khan", "name:ur": "عائشہ خان", "degree": "BSc Computer Science",
              "year": "2024", "grade": "A"}  # fmt: skip
    request = IssueRequest.build(department="UNI", citizen=CNIC, type_code="degree", fields=fields)
    now = dt.datetime.now(dt.UTC)
    with transaction(sessions) as s:
        row = issue_certificate(s, ctx=ctx, request=request, now=now)
    with sessions() as s:
        pdf = open_document(
            s, ctx=ctx.vault, owner_id=row.holder_id, document_id=row.document_id,
            purpose="view", now=now,
        ).file.read()  # fmt: skip
    world.serial, world.document = row.serial, str(row.document_id)
    world.pdf = tmp_path / "degree.pdf"
    world.pdf.write_bytes(pdf)
    world.fragment = _decode_qr(pdf, tmp_path).split("#", 1)[1]


def _consent(page: Any, base: str) -> str:
    page.goto(base + "/shares/new")
    page.locator("input[name=document]").first.check()
    page.select_option("#recipient", "BANK")
    page.fill("#purpose", "قرض کی درخواست")
    page.fill("#days", "30")
    page.click("#review")
    page.click("#confirm")
    page.wait_for_url(re.compile(r".*/shares/[0-9a-f-]{36}(#.*)?$"))
    return str(page.url.split("/shares/")[1].split("#")[0])


Step = Callable[[Any, World], None]


def _go(path: str) -> Step:
    def step(page: Any, world: World) -> None:
        page.goto(world.base + path.format(w=world))

    step.__name__ = path
    return step


def _failed_sign_in(page: Any, world: World) -> None:
    password_sign_in(page, world.base, "bank-member", "not the password")


def _verified_upload(page: Any, world: World) -> None:
    page.goto(world.base + "/verify")
    page.set_input_files("#file", str(world.pdf))
    page.click("form[data-verify] button[type=submit]")
    page.wait_for_selector(".verdict")


def _qr_landing(page: Any, world: World) -> None:
    page.goto(f"{world.base}/v/{world.serial}#{world.fragment}")
    page.wait_for_selector("#qr-check .qr-result")


def _share_review(page: Any, world: World) -> None:
    page.goto(world.base + "/shares/new")
    page.locator("input[name=document]").first.check()
    page.select_option("#recipient", "BANK")
    page.fill("#purpose", "ملازمت")
    page.click("#review")
    page.wait_for_selector("#terms")


def _holder_checked(page: Any, world: World) -> None:
    page.goto(world.base + "/department/issue?type=degree")
    page.fill("#lookup-cnic", CNIC)
    page.click("#lookup button[type=submit]")
    page.wait_for_load_state()


PUBLIC: list[Step] = [
    _go("/"), _go("/login"), _failed_sign_in, _go("/register"), _go("/verify"),
    _verified_upload, _qr_landing, _go("/v/{w.serial}"), _go("/public"), _go("/no-such-page"),
]  # fmt: skip
CITIZEN: list[Step] = [
    _go("/vault"), _go("/vault/{w.document}"), _go("/shares"), _go("/shares/new"),
    _share_review, _go("/shares/{w.grant}"), _go("/activity"), _go("/security"),
    _go("/requests"), _go("/apply"), _go("/applications"), _go("/disputes"),
]  # fmt: skip
OFFICER: list[Step] = [
    _go("/department"), _go("/department/issue?type=degree"), _go("/department/issue?type=birth"),
    _holder_checked,
    _go("/department/certificates/{w.serial}"), _go("/department/batch"), _go("/security"),
]  # fmt: skip
MEMBER: list[Step] = [
    _go("/org"), _go("/org/grants/{w.grant}"), _go("/org/requests"), _go("/org/requests/new"),
    _verified_upload,
]  # fmt: skip


def _sign_in(page: Any, world: World, role: str) -> None:
    # The citizen's passkey lives in the world's own browser; she also has a password.
    logins = {"citizen": CNIC, "officer": "uni-officer", "member": "bank-member"}
    if role in logins:
        password_sign_in(page, world.base, logins[role], PASSWORD)


def _axe(page: Any, source: str) -> list[str]:
    page.add_script_tag(content=source)
    found = page.evaluate(
        """async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}}))
             .violations.map(v => v.id + ' (' + v.help + '): '
               + v.nodes.map(n => n.target.join(' ')).join(', '))""",
        WCAG,
    )
    return [str(line) for line in found]


STEPS = {"public": PUBLIC, "citizen": CITIZEN, "officer": OFFICER, "member": MEMBER}


def _walk(
    chromium: Any, world: World, *, lang: str, role: str, steps: list[Step],
    check: Callable[[Any], object],
) -> dict[str, object]:
    """Sign ``role`` in at phone width in ``lang``, take each step, and keep what ``check`` finds
    on each page (by step)."""
    # The page's Content-Security-Policy forbids inline scripts; only this test browser ignores
    # it, to inject axe.
    context = chromium.new_context(bypass_csp=True, viewport={"width": 390, "height": 844})
    context.add_cookies([{"name": "lang", "value": lang, "url": world.base}])
    try:
        page = context.new_page()
        page.goto(world.base + "/")
        _sign_in(page, world, role)
        found = {}
        for step in steps:
            step(page, world)
            if result := check(page):
                found[f"{step.__name__} ({page.url})"] = result
        return found
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["en", "ur"])
@pytest.mark.parametrize("role", list(STEPS))
def test_every_page_state_passes_axe(
    world: World, chromium: Any, axe_source: str, role: str, lang: str
) -> None:
    found = _walk(
        chromium, world, lang=lang, role=role, steps=STEPS[role],
        check=lambda page: _axe(page, axe_source),
    )  # fmt: skip
    assert not found, "\n".join(f"{k}:\n  " + "\n  ".join(v) for k, v in found.items())


# Text a reader sees or hears: text nodes and the attributes a screen reader speaks.
VISIBLE_TEXT = """() => {
  const foreign = (el) => el.closest('[lang]:not([lang="ur"])');
  const out = [document.title];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (foreign(el) || el.closest('script,style,noscript,template')) continue;
    out.push(n.textContent);
  }
  for (const el of document.querySelectorAll('[aria-label],[title],[placeholder],[alt]')) {
    if (foreign(el)) continue;
    for (const a of ['aria-label', 'title', 'placeholder', 'alt'])
      if (el.hasAttribute(a)) out.push(el.getAttribute(a));
  }
  return out.join('\\n');
}"""
TRUST: list[Step] = [
    _go("/"), _go("/login"), _go("/register"), _go("/verify"), _verified_upload, _qr_landing,
    _go("/v/{w.serial}"),
]  # fmt: skip


def _english_words(text: str) -> set[str]:
    words = re.findall(r"[A-Za-z0-9][A-Za-z0-9'’\-]*", text)
    return {w for w in words if re.search("[A-Za-z]", w) and w not in ALLOWED
            and not CODE_LIKE.match(w)}  # fmt: skip


# Where trust is decided, by who reads it: the public's pages and the QR landing, the citizen's
# documents, consents and activity, the bank member's shared documents, the officer's register.
URDU_PAGES: dict[str, list[Step]] = {
    "public": TRUST,
    "citizen": [_go("/activity"), _go("/vault"), _go("/shares"), _go("/shares/{w.grant}"),
                _go("/shares/new")],
    "member": [_go("/org"), _go("/org/grants/{w.grant}"), _verified_upload],
    "officer": [_go("/department"), _go("/department/certificates/{w.serial}"),
                _go("/department/issue?type=birth")],
}  # fmt: skip


@pytest.mark.parametrize("role", list(URDU_PAGES))
def test_urdu_pages_have_no_english_words(world: World, chromium: Any, role: str) -> None:
    found = _walk(
        chromium, world, lang="ur", role=role, steps=URDU_PAGES[role],
        check=lambda page: sorted(_english_words(page.evaluate(VISIBLE_TEXT))),
    )  # fmt: skip
    assert not found, "\n".join(f"{k}: {' '.join(v)}" for k, v in found.items())

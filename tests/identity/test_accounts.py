"""Accounts and CNIC rules."""

from __future__ import annotations

import pytest

from identity.accounts import clean_display_name, create_account, normalize_cnic
from identity.errors import Conflict, InvalidInput
from identity.models import Role


@pytest.mark.parametrize(
    "raw",
    ["35202-1234567-1", "3520212345671", " 35202-1234567-1 ", "35202-12345671", "۳۵۲۰۲-۱۲۳۴۵۶۷-۱"],
)
def test_cnic_forms_normalise(raw: str) -> None:
    assert normalize_cnic(raw) == "35202-1234567-1"


@pytest.mark.parametrize(
    "raw", ["", "35202-1234567", "35202-1234567-12", "3520A-1234567-1", "35202_1234567_1"]
)
def test_malformed_cnic_is_refused(raw: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        normalize_cnic(raw)
    assert refused.value.code == "cnic_format"


def test_names_are_nfc_and_trimmed() -> None:
    assert clean_display_name("  Ayesha \t Khan ") == "Ayesha Khan"
    assert clean_display_name("عائشہ خان") == "عائشہ خان"


@pytest.mark.parametrize("bad", ["", "   ", "x" * 121, "Ali\x00", "Ali\u202eKhan"])
def test_bad_names_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput):
        clean_display_name(bad)


def test_cnic_is_unique(session, now) -> None:
    create_account(session, role=Role.CITIZEN, display_name="A", login="35202-1234567-1", now=now)
    with pytest.raises(Conflict):
        create_account(session, role=Role.CITIZEN, display_name="B", login="3520212345671", now=now)


def test_user_handle_is_random_not_the_cnic(session, now) -> None:
    a = create_account(
        session, role=Role.CITIZEN, display_name="A", login="35202-1234567-1", now=now
    )
    assert len(a.user_handle) == 32
    assert b"35202" not in a.user_handle


def test_staff_login_names_are_checked(session, now) -> None:
    with pytest.raises(InvalidInput):
        create_account(session, role=Role.OFFICER, display_name="O", login="a b", now=now)
    officer = create_account(
        session,
        role=Role.OFFICER,
        display_name="O",
        login="Registry.Officer",
        now=now,
        affiliation="CRD",
    )
    assert officer.login == "registry.officer"
    assert officer.role == "officer"

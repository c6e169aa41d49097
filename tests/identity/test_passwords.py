"""Argon2id passwords."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from argon2.low_level import Type

from identity import passwords
from identity.accounts import create_account
from identity.errors import AuthenticationFailed, InvalidInput
from identity.models import Role


@pytest.fixture
def citizen(session, now):
    return create_account(
        session, role=Role.CITIZEN, display_name="A", login="35202-1234567-1", now=now
    )


def test_hash_uses_argon2id_with_owasp_minimum_parameters() -> None:
    from argon2 import extract_parameters

    params = extract_parameters(passwords.hash_password("correct horse battery"))
    assert params.type is Type.ID
    assert params.memory_cost >= 19 * 1024
    assert params.time_cost >= 2
    assert params.parallelism == 1


def test_correct_password_signs_in(session, citizen, now) -> None:
    passwords.set_password(session, account=citizen, password="correct horse battery", now=now)
    assert (
        passwords.authenticate_password(
            session, login="3520212345671", password="correct horse battery"
        )
        is citizen
    )


def test_wrong_password_fails(session, citizen, now) -> None:
    passwords.set_password(session, account=citizen, password="correct horse battery", now=now)
    with pytest.raises(AuthenticationFailed):
        passwords.authenticate_password(
            session, login=citizen.login, password="wrong horse battery"
        )


def test_unknown_account_fails_the_same_way_after_hashing(session, monkeypatch) -> None:
    """An unknown account still costs one Argon2 verification (no timing oracle)."""
    calls = []
    real = passwords._verify
    monkeypatch.setattr(passwords, "_verify", lambda h, p: calls.append(h) or real(h, p))
    with pytest.raises(AuthenticationFailed) as info:
        passwords.authenticate_password(session, login="35202-0000000-0", password="whatever12345")
    assert str(info.value) == "sign-in failed"
    assert len(calls) == 1


def test_account_without_password_fails(session, citizen) -> None:
    with pytest.raises(AuthenticationFailed):
        passwords.authenticate_password(session, login=citizen.login, password="")


def test_old_parameters_are_upgraded_on_sign_in(session, citizen) -> None:
    """A hash made with weaker parameters is replaced at the next correct sign-in."""
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
    citizen.password_hash = weak.hash("correct horse battery")
    passwords.authenticate_password(session, login=citizen.login, password="correct horse battery")
    from argon2 import extract_parameters

    assert extract_parameters(citizen.password_hash).memory_cost == 19 * 1024


@pytest.mark.parametrize("bad", ["short", "x" * 11, "y" * 257])
def test_password_length_rules(session, citizen, now, bad) -> None:
    with pytest.raises(InvalidInput):
        passwords.set_password(session, account=citizen, password=bad, now=now)

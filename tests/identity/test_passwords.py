"""Argon2id passwords."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher, extract_parameters
from argon2.low_level import Type

from amanat.settings import Settings, SettingsError, load_settings
from identity import passwords
from identity.accounts import create_account
from identity.errors import AuthenticationFailed, InvalidInput
from identity.models import Role
from tests.conftest import TEST_PASSWORD_PROFILE


@pytest.fixture
def citizen(session, now):
    return create_account(
        session, role=Role.CITIZEN, display_name="A", login="35202-1234567-1", now=now
    )


@pytest.fixture
def production_profile() -> Iterator[None]:
    """The service's own profile for one test (the others hash with CHEAPEST)."""
    passwords.use_profile(Settings(instance=Path("/x"), database_url="sqlite://").password_profile)
    yield
    passwords.use_profile(TEST_PASSWORD_PROFILE)


def test_the_service_hashes_with_rfc_9106_low_memory(production_profile) -> None:
    """Argon2id, 64 MiB, 3 passes, 4 lanes (argon2.profiles.RFC_9106_LOW_MEMORY)."""
    params = extract_parameters(passwords.hash_password("correct horse battery"))
    assert params.type is Type.ID
    assert (params.memory_cost, params.time_cost, params.parallelism) == (64 * 1024, 3, 4)


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


def test_old_parameters_are_upgraded_on_sign_in(session, citizen, production_profile) -> None:
    """A hash made with older parameters (the OWASP minimum of earlier releases) is replaced
    with the profile's at the next correct sign-in."""
    old = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
    citizen.password_hash = old.hash("correct horse battery")
    passwords.authenticate_password(session, login=citizen.login, password="correct horse battery")
    assert extract_parameters(citizen.password_hash).memory_cost == 64 * 1024


@pytest.mark.parametrize("name", ["OWASP", "rfc_9106_low_memory", "", "Parameters"])
def test_an_unknown_profile_stops_the_start(name: str) -> None:
    with pytest.raises(SettingsError, match="AMANAT_PASSWORD_PROFILE"):
        load_settings({"AMANAT_INSTANCE": "/tmp/x", "AMANAT_PASSWORD_PROFILE": name})


@pytest.mark.parametrize("bad", ["short", "x" * 11, "y" * 257])
def test_password_length_rules(session, citizen, now, bad) -> None:
    with pytest.raises(InvalidInput):
        passwords.set_password(session, account=citizen, password=bad, now=now)

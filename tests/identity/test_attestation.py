"""Staff passkeys: only an authenticator whose attestation chains to a root the FIDO Metadata
Service lists for it (a blob checked offline under its own root), with an AAGUID on the
deployment's allow-list. Citizens keep attestation "none"."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import pytest

from identity.accounts import create_account
from identity.ceremonies import consume_ceremony
from identity.errors import AttestationPolicyError, PasskeyRejected
from identity.models import Role
from identity.passkeys import finish_adding_passkey, start_adding_passkey
from identity.webauthn import (
    RelyingParty,
    load_attestation_policy,
    registration_options,
    verify_registration,
)
from tests.identity.mds import AAGUID, make_mds, make_model
from tests.softauthn import SoftAuthenticator

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture(scope="module")
def model():
    return make_model()


@pytest.fixture(scope="module")
def mds():
    return make_mds()


@pytest.fixture
def policy(mds, model):
    return load_attestation_policy(
        mds.blob(model), root_der=mds.root_der, allowed=[str(AAGUID)], now=NOW
    )


RP = RelyingParty(id="localhost", name="Amanat", origin="http://localhost:8000")


def _register(policy, authenticator: SoftAuthenticator):
    options, state = registration_options(
        RP, user_handle=b"u" * 16, login="officer", display_name="Officer", policy=policy
    )
    response = authenticator.register(options)
    return verify_registration(RP, state=state, response=response, policy=policy)


def test_a_certified_allowed_key_registers(policy, model) -> None:
    key = SoftAuthenticator(aaguid=model.aaguid.bytes, attestation=model.attestation)
    assert _register(policy, key).credential_id == key.credential_id


def test_staff_options_ask_for_attestation(policy) -> None:
    options, _state = registration_options(
        RP, user_handle=b"u" * 16, login="o", display_name="O", policy=policy
    )
    assert options["publicKey"]["attestation"] == "direct"


def test_citizen_options_ask_for_none() -> None:
    options, _state = registration_options(RP, user_handle=b"u" * 16, login="c", display_name="C")
    assert options["publicKey"].get("attestation", "none") == "none"


def test_a_key_without_attestation_is_refused(policy, model) -> None:
    key = SoftAuthenticator(aaguid=model.aaguid.bytes)
    with pytest.raises(PasskeyRejected) as caught:
        _register(policy, key)
    assert caught.value.code == "passkey_attestation_untrusted"


def test_a_model_not_on_the_allow_list_is_refused(mds, model) -> None:
    other = uuid.uuid4()
    narrow = load_attestation_policy(
        mds.blob(model), root_der=mds.root_der, allowed=[str(other)], now=NOW
    )
    key = SoftAuthenticator(aaguid=model.aaguid.bytes, attestation=model.attestation)
    with pytest.raises(PasskeyRejected) as caught:
        _register(narrow, key)
    assert caught.value.code == "passkey_authenticator_not_allowed"


def test_a_key_claiming_a_listed_model_under_another_root_is_refused(policy, model) -> None:
    forger = make_model(model.aaguid)  # same AAGUID, a root the metadata does not list
    key = SoftAuthenticator(aaguid=model.aaguid.bytes, attestation=forger.attestation)
    with pytest.raises(PasskeyRejected) as caught:
        _register(policy, key)
    assert caught.value.code == "passkey_attestation_untrusted"


def test_an_allowed_model_missing_from_the_metadata_is_refused(mds, model) -> None:
    unlisted = make_model(uuid.uuid4())
    blob_policy = load_attestation_policy(
        mds.blob(model), root_der=mds.root_der, allowed=[str(unlisted.aaguid)], now=NOW
    )
    key = SoftAuthenticator(aaguid=unlisted.aaguid.bytes, attestation=unlisted.attestation)
    with pytest.raises(PasskeyRejected) as caught:
        _register(blob_policy, key)
    assert caught.value.code == "passkey_attestation_untrusted"


def test_a_blob_under_another_root_is_refused(mds, model) -> None:
    other = make_mds()
    with pytest.raises(AttestationPolicyError) as caught:
        load_attestation_policy(
            mds.blob(model), root_der=other.root_der, allowed=[str(AAGUID)], now=NOW
        )
    assert caught.value.code == "mds_blob_invalid"


@pytest.mark.parametrize("blob", [b"", b"a.b.c", b"not a jwt at all"])
def test_a_damaged_blob_is_refused(mds, blob: bytes) -> None:
    with pytest.raises(AttestationPolicyError) as caught:
        load_attestation_policy(blob, root_der=mds.root_der, allowed=[str(AAGUID)], now=NOW)
    assert caught.value.code == "mds_blob_invalid"


def test_a_blob_past_its_next_update_is_refused(mds, model) -> None:
    stale = mds.blob(model, next_update=NOW.date() - dt.timedelta(days=1))
    with pytest.raises(AttestationPolicyError) as caught:
        load_attestation_policy(stale, root_der=mds.root_der, allowed=[str(AAGUID)], now=NOW)
    assert caught.value.code == "mds_blob_stale"


def test_an_allow_list_entry_that_is_no_aaguid_is_refused(mds, model) -> None:
    with pytest.raises(AttestationPolicyError) as caught:
        load_attestation_policy(
            mds.blob(model), root_der=mds.root_der, allowed=["yubikey"], now=NOW
        )
    assert caught.value.code == "mds_aaguid_invalid"


def _add_passkey(session, rp, account, authenticator: SoftAuthenticator) -> None:

    started = start_adding_passkey(session, rp=rp, account=account, now=NOW)
    ceremony = consume_ceremony(session, token=started.token, kind="add-passkey", now=NOW)
    finish_adding_passkey(
        session,
        rp=rp,
        ceremony=ceremony,
        account=account,
        response=authenticator.register(started.options),
        passkey_name="Key",
        now=NOW,
    )


@pytest.mark.parametrize(
    ("role", "attested", "accepted"),
    [
        ("officer", True, True),
        ("officer", False, False),
        ("dpo", False, False),
        ("citizen", False, True),
        ("verifier", False, True),
    ],
)
def test_the_policy_binds_staff_only(session, policy, model, role, attested, accepted) -> None:


    rp = dataclasses.replace(RP, staff_attestation=policy)
    login = "35202-7654321-1" if role == "citizen" else f"{role}.one"
    account = create_account(session, role=Role(role), display_name="A", login=login, now=NOW)
    key = SoftAuthenticator(
        aaguid=model.aaguid.bytes, attestation=model.attestation if attested else None
    )
    if accepted:
        _add_passkey(session, rp, account, key)
    else:
        with pytest.raises(PasskeyRejected):
            _add_passkey(session, rp, account, key)

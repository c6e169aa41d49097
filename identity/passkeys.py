"""Passkey flows: citizen registration, adding, naming and removing passkeys, signing in.

Each flow has a *start* (returns WebAuthn options and an opaque ceremony token) and a *finish*
that takes a ceremony already consumed by :func:`identity.ceremonies.consume_ceremony`. The web
layer consumes the ceremony in its own committed transaction first, so that a failed finish can
never leave the ceremony usable for a replay.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit import EventTag, record_event
from identity import webauthn
from identity.accounts import (
    clean_display_name,
    create_account,
    find_by_login,
    new_user_handle,
    normalize_cnic,
    record_own,
)
from identity.ceremonies import b64, open_ceremony, unb64
from identity.errors import (
    InvalidInput,
    NotAllowed,
    NotFound,
    PasskeyRejected,
    RegistrationRefused,
)
from identity.models import Account, Ceremony, Passkey, Role
from identity.webauthn import RelyingParty

MAX_PASSKEY_NAME = 64
# Staff whose passkeys must be attested authenticators on the deployment's allow-list (when
# AMANAT_MDS_BLOB is set): officers, the data-protection office, administrators.
STAFF = frozenset({Role.OFFICER, Role.DPO, Role.ADMIN, Role.RECOVERY})


def _policy(rp: RelyingParty, account: Account) -> webauthn.AttestationPolicy | None:
    return rp.staff_attestation if Role(account.role) in STAFF else None


@dataclass(frozen=True)
class Started:
    """A started ceremony: options for ``navigator.credentials`` and the token to send back."""

    options: dict[str, Any]
    token: str


def clean_passkey_name(value: str) -> str:
    """A passkey label: trimmed, 1-64 characters."""
    name = " ".join((value or "").split())
    if not name or len(name) > MAX_PASSKEY_NAME:
        raise InvalidInput(
            "Passkey name length.", code="passkey_name_length", low=1, high=MAX_PASSKEY_NAME
        )
    return name


def start_citizen_registration(
    session: Session, *, rp: RelyingParty, display_name: str, cnic: str, now: dt.datetime
) -> Started:
    """Check name and CNIC, then start creating the first passkey of a new citizen.

    Nothing is stored but the ceremony: the account exists only once the passkey is verified.
    Whether the CNIC already has an account is not checked here: a stranger typing CNICs would
    learn it from one cheap request (:func:`finish_citizen_registration` refuses it).
    """
    name = clean_display_name(display_name)
    cnic = normalize_cnic(cnic)
    handle = new_user_handle()
    options, state = webauthn.registration_options(
        rp, user_handle=handle, login=cnic, display_name=name
    )
    state.update(display_name=name, cnic=cnic, user_handle=b64(handle))
    return Started(options, open_ceremony(session, kind="register", state=state, now=now))


def _store_passkey(
    session: Session, *, account: Account, cred: webauthn.NewCredential, name: str, now: dt.datetime
) -> Passkey:
    if session.scalar(select(Passkey.id).where(Passkey.credential_id == cred.credential_id)):
        raise PasskeyRejected("Already registered.", code="passkey_already_registered")
    passkey = Passkey(
        account_id=account.id,
        credential_id=cred.credential_id,
        credential_data=cred.credential_data,
        name=name,
        sign_count=cred.sign_count,
        backup_eligible=cred.backup_eligible,
        backed_up=cred.backed_up,
        created_at=now,
    )
    session.add(passkey)
    session.flush()
    record_own(
        session, account, EventTag.ACCOUNT_PASSKEY_ADDED, now=now,
        object_type="passkey",
        object_id=str(passkey.id),
        details={"name": name},
    )  # fmt: skip
    return passkey


def finish_citizen_registration(
    session: Session,
    *,
    rp: RelyingParty,
    ceremony: Ceremony,
    response: Mapping[str, Any],
    passkey_name: str,
    now: dt.datetime,
) -> Account:
    """Verify the new passkey, then create the citizen account with it.

    A CNIC that already has an account is refused (RegistrationRefused) only now, after a
    passkey ceremony, in words that do not say why; :func:`record_registration_refused` tells
    the owner.
    """
    if ceremony.kind != "register":
        raise PasskeyRejected()
    cred = webauthn.verify_registration(rp, state=ceremony.state, response=response)
    holder = find_by_login(session, login=ceremony.state["cnic"])
    if holder is not None:
        raise RegistrationRefused(holder.id)
    account = create_account(
        session,
        role=Role.CITIZEN,
        display_name=ceremony.state["display_name"],
        login=ceremony.state["cnic"],
        user_handle=unb64(ceremony.state["user_handle"]),
        now=now,
    )
    _store_passkey(
        session, account=account, cred=cred, name=clean_passkey_name(passkey_name), now=now
    )
    return account


def record_registration_refused(
    session: Session, *, refused: RegistrationRefused, now: dt.datetime
) -> None:
    """Tell the CNIC's owner, in their activity, that someone tried to register it again."""
    record_event(
        session,
        tag=EventTag.ACCOUNT_REGISTRATION_REFUSED,
        actor="anonymous",
        now=now,
        subject_id=refused.holder_id,
    )


def start_adding_passkey(
    session: Session, *, rp: RelyingParty, account: Account, now: dt.datetime
) -> Started:
    """Start registering another passkey for a signed-in account."""
    options, state = webauthn.registration_options(
        rp,
        user_handle=account.user_handle,
        login=account.login,
        display_name=account.display_name,
        exclude=[p.credential_data for p in account.passkeys],
        policy=_policy(rp, account),
    )
    return Started(
        options,
        open_ceremony(session, kind="add-passkey", state=state, now=now, account_id=account.id),
    )


def finish_adding_passkey(
    session: Session,
    *,
    rp: RelyingParty,
    ceremony: Ceremony,
    account: Account,
    response: Mapping[str, Any],
    passkey_name: str,
    now: dt.datetime,
) -> Passkey:
    """Verify and store an additional passkey (the ceremony must belong to this account)."""
    if ceremony.kind != "add-passkey" or ceremony.account_id != account.id:
        raise PasskeyRejected()
    cred = webauthn.verify_registration(
        rp, state=ceremony.state, response=response, policy=_policy(rp, account)
    )
    return _store_passkey(
        session, account=account, cred=cred, name=clean_passkey_name(passkey_name), now=now
    )


def start_sign_in(
    session: Session, *, rp: RelyingParty, login: str | None, now: dt.datetime
) -> Started:
    """Start a passkey sign-in: usernameless, or limited to one account's passkeys.

    An unknown login gets the same answer as a usernameless start, so the answer does not tell
    whether an account exists.
    """
    allow: list[bytes] = []
    if login:
        account = find_by_login(session, login=login)
        if account is not None:
            allow = [p.credential_data for p in account.passkeys]
    options, state = webauthn.authentication_options(rp, allow=allow)
    return Started(options, open_ceremony(session, kind="sign-in", state=state, now=now))


def finish_sign_in(
    session: Session,
    *,
    rp: RelyingParty,
    ceremony: Ceremony,
    response: Mapping[str, Any],
    now: dt.datetime,
) -> Account:
    """Verify an assertion; update the passkey's counter and backup state; return the account."""
    if ceremony.kind != "sign-in":
        raise PasskeyRejected()
    credential_id, _ = webauthn.assertion_credential(response)
    passkey = session.scalar(select(Passkey).where(Passkey.credential_id == credential_id))
    if passkey is None:
        raise PasskeyRejected("Unknown passkey.", code="passkey_unknown")
    _use_passkey(session, rp=rp, ceremony=ceremony, passkey=passkey, response=response, now=now)
    return passkey.account


def _use_passkey(
    session: Session,
    *,
    rp: RelyingParty,
    ceremony: Ceremony,
    passkey: Passkey,
    response: Mapping[str, Any],
    now: dt.datetime,
) -> None:
    """Verify an assertion by ``passkey``; move its counter and backup state forward."""
    verified = webauthn.verify_authentication(
        rp,
        state=ceremony.state,
        response=response,
        user_handle=passkey.account.user_handle,
        stored=webauthn.StoredCredential(
            credential_data=passkey.credential_data,
            sign_count=passkey.sign_count,
            backup_eligible=passkey.backup_eligible,
        ),
    )
    passkey.sign_count = verified.sign_count
    passkey.backed_up = verified.backed_up
    passkey.last_used_at = now
    session.flush()


def _own_passkey(session: Session, *, account: Account, passkey_id: int) -> Passkey:
    passkey = session.get(Passkey, passkey_id)
    if passkey is None or passkey.account_id != account.id:
        raise NotFound("no such passkey")
    return passkey


def rename_passkey(
    session: Session, *, account: Account, passkey_id: int, name: str, now: dt.datetime
) -> Passkey:
    """Give one of the account's passkeys a new name."""
    passkey = _own_passkey(session, account=account, passkey_id=passkey_id)
    passkey.name = clean_passkey_name(name)
    record_own(
        session, account, EventTag.ACCOUNT_PASSKEY_RENAMED, now=now,
        object_type="passkey",
        object_id=str(passkey.id),
        details={"name": passkey.name},
    )  # fmt: skip
    return passkey


def remove_passkey(
    session: Session, *, account: Account, passkey_id: int, now: dt.datetime
) -> None:
    """Remove a passkey — never the last one, so the account cannot lock itself out."""
    passkey = _own_passkey(session, account=account, passkey_id=passkey_id)
    count = session.scalar(
        select(func.count()).select_from(Passkey).where(Passkey.account_id == account.id)
    )
    if (count or 0) <= 1:
        raise NotAllowed("Only passkey.", code="passkey_last")
    name = passkey.name
    session.delete(passkey)
    session.flush()
    session.expire(account, ["passkeys"])
    record_own(
        session, account, EventTag.ACCOUNT_PASSKEY_REMOVED, now=now,
        object_type="passkey",
        object_id=str(passkey_id),
        details={"name": name},
    )  # fmt: skip


@dataclass(frozen=True)
class Confirmation:
    """An action confirmed with a passkey: which passkey, the signed terms, and the evidence."""

    passkey_id: int
    credential_data: bytes
    payload: dict[str, Any]
    evidence: dict[str, str]


def start_confirmation(
    session: Session,
    *,
    rp: RelyingParty,
    account: Account,
    challenge: bytes,
    payload: Mapping[str, Any],
    now: dt.datetime,
) -> Started:
    """Ask the account's passkey to sign ``challenge`` (a hash of ``payload``, kept server-side)."""
    if not account.passkeys:
        raise NotAllowed("No passkey.", code="passkey_needed_for_consent")
    options, state = webauthn.authentication_options(
        rp, allow=[p.credential_data for p in account.passkeys], challenge=challenge
    )
    state = {**state, "payload": dict(payload)}
    token = open_ceremony(session, kind="confirm", state=state, now=now, account_id=account.id)
    return Started(options, token)


def finish_confirmation(
    session: Session,
    *,
    rp: RelyingParty,
    ceremony: Ceremony,
    account: Account,
    response: Mapping[str, Any],
    now: dt.datetime,
) -> Confirmation:
    """Verify the confirming assertion: the account's own passkey, over the ceremony's challenge."""
    if ceremony.kind != "confirm" or ceremony.account_id != account.id:
        raise PasskeyRejected()
    credential_id, _ = webauthn.assertion_credential(response)
    passkey = session.scalar(
        select(Passkey).where(
            Passkey.credential_id == credential_id, Passkey.account_id == account.id
        )
    )
    if passkey is None:
        raise PasskeyRejected("Not own passkey.", code="passkey_not_yours")
    _use_passkey(session, rp=rp, ceremony=ceremony, passkey=passkey, response=response, now=now)
    return Confirmation(
        passkey_id=passkey.id,
        credential_data=passkey.credential_data,
        payload=dict(ceremony.state.get("payload") or {}),
        evidence=webauthn.assertion_evidence(response),
    )


def check_confirmation(
    *, rp: RelyingParty, credential_data: bytes, evidence: Mapping[str, str], challenge: bytes
) -> bool:
    """Re-check kept evidence with the passkey's public credential data (kept with it)."""
    return webauthn.check_evidence(
        rp, credential_data=credential_data, evidence=evidence, challenge=challenge
    )

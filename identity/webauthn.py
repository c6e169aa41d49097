"""Passkey ceremonies with ``fido2`` — the only module that imports it.

fido2 checks the challenge, origin (through the callback we give it), RP id hash, user presence,
user verification and the signature. It does not check the sign counter, the backup flags or the
user handle, and its default origin check accepts any https subdomain; this module adds those
checks and pins the exact origin. Every fido2 error is wrapped into :class:`PasskeyRejected`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from fido2.attestation.base import InvalidAttestation
from fido2.mds3 import MdsAttestationVerifier, parse_blob
from fido2.server import Fido2Server
from fido2.utils import websafe_decode, websafe_encode
from fido2.webauthn import (
    AttestationConveyancePreference,
    AttestationObject,
    AttestedCredentialData,
    AuthenticationResponse,
    AuthenticatorData,
    CollectedClientData,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialUserEntity,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from identity.errors import AttestationPolicyError, PasskeyRejected

_FIDO_ERRORS = (ValueError, KeyError, TypeError, IndexError, AttributeError)


@dataclass(frozen=True)
class AttestationPolicy:
    """Which authenticators staff may register: one whose attestation chains to a root the FIDO
    Metadata Service lists for it (a blob verified offline), with an AAGUID on the allow-list."""

    verifier: MdsAttestationVerifier = field(compare=False)
    allowed: frozenset[bytes]

    def check(self, attestation: AttestationObject, client_data_hash: bytes) -> None:
        """PasskeyRejected (with a code) unless the authenticator is allowed and attested."""
        cred = attestation.auth_data.credential_data
        if cred is None or bytes(cred.aaguid) not in self.allowed:
            raise PasskeyRejected("not allowed", code="passkey_authenticator_not_allowed")
        try:
            entry = self.verifier.find_entry(attestation, client_data_hash)
        except (InvalidAttestation, InvalidSignature, *_FIDO_ERRORS):
            entry = None
        if entry is None:
            raise PasskeyRejected("attestation", code="passkey_attestation_untrusted")


def load_attestation_policy(
    blob: bytes, *, root_der: bytes, allowed: Iterable[str], now: dt.datetime
) -> AttestationPolicy:
    """The staff policy from an MDS3 blob (its signature checked against ``root_der``) and the
    allowed AAGUIDs; AttestationPolicyError when the blob is bad or past its next update."""
    try:
        payload = parse_blob(blob, root_der)
    except (InvalidAttestation, InvalidSignature, *_FIDO_ERRORS):
        raise AttestationPolicyError("bad MDS blob", code="mds_blob_invalid") from None
    if payload.next_update < now.date():
        raise AttestationPolicyError(
            "stale MDS blob", code="mds_blob_stale", date=payload.next_update.isoformat()
        )
    try:
        aaguids = frozenset(uuid.UUID(a.strip()).bytes for a in allowed if a.strip())
    except ValueError:
        raise AttestationPolicyError("bad AAGUID", code="mds_aaguid_invalid") from None
    return AttestationPolicy(MdsAttestationVerifier(payload), aaguids)


@dataclass(frozen=True)
class RelyingParty:
    """The service as passkeys see it: RP id (host name), display name, exact origin, and the
    attestation staff passkeys must carry (None: staff register as citizens do)."""

    id: str
    name: str
    origin: str
    staff_attestation: AttestationPolicy | None = field(default=None, compare=False)

    def server(self, policy: AttestationPolicy | None = None) -> Fido2Server:
        """A fido2 server pinned to the exact origin; with ``policy``, asking for and checking
        the authenticator's attestation (citizens keep attestation "none")."""
        origin = self.origin
        return Fido2Server(
            PublicKeyCredentialRpEntity(name=self.name, id=self.id),
            attestation=(
                AttestationConveyancePreference.DIRECT
                if policy
                else AttestationConveyancePreference.NONE
            ),
            verify_origin=lambda o: o == origin,
            verify_attestation=policy.check if policy else None,
        )


@dataclass(frozen=True)
class NewCredential:
    """A verified new passkey, ready to store."""

    credential_id: bytes
    credential_data: bytes
    sign_count: int
    backup_eligible: bool
    backed_up: bool


@dataclass(frozen=True)
class StoredCredential:
    """What the server remembers of a passkey."""

    credential_data: bytes
    sign_count: int
    backup_eligible: bool


@dataclass(frozen=True)
class VerifiedAssertion:
    """A verified sign-in assertion."""

    credential_id: bytes
    sign_count: int
    backed_up: bool


def _json_state(state: Mapping[str, Any]) -> dict[str, Any]:
    return {"challenge": state["challenge"], "user_verification": str(state["user_verification"])}


def _plain_state(state: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return {
            "challenge": str(state["challenge"]),
            "user_verification": UserVerificationRequirement(state["user_verification"]),
        }
    except (KeyError, ValueError):
        raise PasskeyRejected() from None


def _check_flags(auth_data: AuthenticatorData) -> tuple[bool, bool]:
    flags = auth_data.flags
    eligible = bool(flags & AuthenticatorData.FLAG.BE)
    backed_up = bool(flags & AuthenticatorData.FLAG.BS)
    if backed_up and not eligible:
        # WebAuthn §6.1: BS=1 with BE=0 is an invalid combination.
        raise PasskeyRejected()
    return eligible, backed_up


def registration_options(
    rp: RelyingParty,
    *,
    user_handle: bytes,
    login: str,
    display_name: str,
    exclude: Sequence[bytes] = (),
    policy: AttestationPolicy | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Creation options (WebAuthn L3 JSON) and the state to keep server-side."""
    try:
        options, state = rp.server(policy).register_begin(
            PublicKeyCredentialUserEntity(name=login, id=user_handle, display_name=display_name),
            credentials=[AttestedCredentialData(c) for c in exclude],
            resident_key_requirement=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        )
    except _FIDO_ERRORS:
        raise PasskeyRejected("could not start passkey registration") from None
    return dict(options), _json_state(state)


def verify_registration(
    rp: RelyingParty,
    *,
    state: Mapping[str, Any],
    response: Mapping[str, Any],
    policy: AttestationPolicy | None = None,
) -> NewCredential:
    """Check a registration response against the kept state (and ``policy``'s attestation)."""
    try:
        auth_data = rp.server(policy).register_complete(_plain_state(state), response)
    except PasskeyRejected:
        raise
    except _FIDO_ERRORS:
        raise PasskeyRejected() from None
    cred = auth_data.credential_data
    if cred is None:
        raise PasskeyRejected()
    eligible, backed_up = _check_flags(auth_data)
    return NewCredential(
        credential_id=bytes(cred.credential_id),
        credential_data=bytes(cred),
        sign_count=auth_data.counter,
        backup_eligible=eligible,
        backed_up=backed_up,
    )


def authentication_options(
    rp: RelyingParty, *, allow: Sequence[bytes] = (), challenge: bytes | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Request options (empty allow list = usernameless) and the state to keep.

    ``challenge`` binds the assertion to data (a consent's terms); random when None.
    """
    try:
        options, state = rp.server().authenticate_begin(
            credentials=[AttestedCredentialData(c) for c in allow] or None,
            user_verification=UserVerificationRequirement.REQUIRED,
            challenge=challenge,
        )
    except _FIDO_ERRORS:
        raise PasskeyRejected("could not start passkey sign-in") from None
    return dict(options), _json_state(state)


def assertion_credential(response: Mapping[str, Any]) -> tuple[bytes, bytes | None]:
    """The credential id and user handle an assertion response claims (not yet verified)."""
    try:
        parsed = AuthenticationResponse.from_dict(response)
    except _FIDO_ERRORS:
        raise PasskeyRejected() from None
    return bytes(parsed.raw_id), parsed.response.user_handle


def verify_authentication(
    rp: RelyingParty,
    *,
    state: Mapping[str, Any],
    response: Mapping[str, Any],
    stored: StoredCredential,
    user_handle: bytes,
) -> VerifiedAssertion:
    """Check an assertion against one stored passkey, its counter, flags and user handle."""
    try:
        parsed = AuthenticationResponse.from_dict(response)
        rp.server().authenticate_complete(
            _plain_state(state), [AttestedCredentialData(stored.credential_data)], parsed
        )
    except PasskeyRejected:
        raise
    except _FIDO_ERRORS:
        raise PasskeyRejected() from None
    if parsed.response.user_handle is not None and parsed.response.user_handle != user_handle:
        raise PasskeyRejected()
    auth_data = parsed.response.authenticator_data
    eligible, backed_up = _check_flags(auth_data)
    if eligible != stored.backup_eligible:
        # Backup eligibility is fixed when a credential is created; a change means another device.
        raise PasskeyRejected()
    counter = auth_data.counter
    if (counter or stored.sign_count) and counter <= stored.sign_count:
        # A counter that does not move forward suggests a cloned authenticator.
        raise PasskeyRejected()
    return VerifiedAssertion(
        credential_id=bytes(parsed.raw_id), sign_count=counter, backed_up=backed_up
    )


def assertion_evidence(response: Mapping[str, Any]) -> dict[str, str]:
    """The signed parts of an assertion, kept as evidence (base64url, as WebAuthn JSON has them)."""
    try:
        parsed = AuthenticationResponse.from_dict(response)
        return {
            "credential_id": websafe_encode(bytes(parsed.raw_id)),
            "authenticator_data": websafe_encode(bytes(parsed.response.authenticator_data)),
            "client_data_json": websafe_encode(bytes(parsed.response.client_data)),
            "signature": websafe_encode(bytes(parsed.response.signature)),
        }
    except _FIDO_ERRORS:
        raise PasskeyRejected() from None


def check_evidence(
    rp: RelyingParty, *, credential_data: bytes, evidence: Mapping[str, str], challenge: bytes
) -> bool:
    """Re-check kept assertion evidence on its own: the passkey signed ``challenge`` for us.

    Checks the client data (type, challenge, exact origin), the RP id hash, user presence and
    verification, and the signature over authenticator data ‖ SHA-256(client data).
    """
    try:
        client_data = CollectedClientData(websafe_decode(evidence["client_data_json"]))
        auth_data = AuthenticatorData(websafe_decode(evidence["authenticator_data"]))
        signature = websafe_decode(evidence["signature"])
        if (
            client_data.type != CollectedClientData.TYPE.GET
            or client_data.challenge != challenge
            or client_data.origin != rp.origin
            or auth_data.rp_id_hash != hashlib.sha256(rp.id.encode()).digest()
            or not auth_data.is_user_present()
            or not auth_data.is_user_verified()
        ):
            return False
        cred = AttestedCredentialData(credential_data)
        if websafe_decode(evidence["credential_id"]) != bytes(cred.credential_id):
            return False
        cred.public_key.verify(bytes(auth_data) + client_data.hash, signature)
    except (*_FIDO_ERRORS, InvalidSignature):
        return False
    return True


def decode_b64url(value: str) -> bytes:
    """Decode base64url without padding (as WebAuthn JSON uses); PasskeyRejected if malformed."""
    try:
        return websafe_decode(value)
    except _FIDO_ERRORS:
        raise PasskeyRejected() from None

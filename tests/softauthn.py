"""A software WebAuthn authenticator for tests that do not need a browser.

It builds real registration and assertion responses (ES256, attestation "none") in the WebAuthn
L3 JSON form a browser posts, with knobs to produce hostile ones (wrong origin, no user
verification, a counter that goes backwards, changed backup flags).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fido2.cose import ES256
from fido2.utils import websafe_decode, websafe_encode
from fido2.webauthn import (
    AttestationObject,
    AttestedCredentialData,
    AuthenticatorData,
    CollectedClientData,
)

F = AuthenticatorData.FLAG


@dataclass
class SoftAuthenticator:
    """One authenticator holding one credential (created on register)."""

    origin: str = "http://localhost:8000"
    rp_id: str = "localhost"
    backup_eligible: bool = False
    backed_up: bool = False
    counter: int = 0
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    # A model's AAGUID, and its attestation key and certificate: with one, registration answers
    # with "packed" attestation (x5c), as a certified security key does; without, "none".
    aaguid: bytes = bytes(16)
    attestation: tuple[ec.EllipticCurvePrivateKey, bytes] | None = None
    credential_id: bytes = field(default_factory=lambda: os.urandom(32))
    user_handle: bytes | None = None

    def _flags(self, uv: bool, attested: bool = False) -> AuthenticatorData.FLAG:
        flags = F.UP
        if uv:
            flags |= F.UV
        if self.backup_eligible:
            flags |= F.BE
        if self.backed_up:
            flags |= F.BS
        if attested:
            flags |= F.AT
        return flags

    def register(
        self,
        options: dict[str, Any],
        *,
        origin: str | None = None,
        uv: bool = True,
        rp_id: str | None = None,
    ) -> dict[str, Any]:
        pk = options["publicKey"]
        self.user_handle = websafe_decode(pk["user"]["id"])
        client_data = CollectedClientData.create(
            type="webauthn.create",
            challenge=websafe_decode(pk["challenge"]),
            origin=origin or self.origin,
        )
        cred = AttestedCredentialData.create(
            self.aaguid, self.credential_id, ES256.from_cryptography_key(self.key.public_key())
        )
        auth_data = AuthenticatorData.create(
            hashlib.sha256((rp_id or self.rp_id).encode()).digest(),
            self._flags(uv, attested=True),
            self.counter,
            bytes(cred),
        )
        if self.attestation is None:
            att = AttestationObject.create("none", auth_data, {})
        else:
            att_key, att_cert = self.attestation
            signed = bytes(auth_data) + client_data.hash
            sig = att_key.sign(signed, ec.ECDSA(hashes.SHA256()))
            att = AttestationObject.create(
                "packed", auth_data, {"alg": -7, "sig": sig, "x5c": [att_cert]}
            )
        return {
            "id": websafe_encode(self.credential_id),
            "rawId": websafe_encode(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": websafe_encode(bytes(client_data)),
                "attestationObject": websafe_encode(bytes(att)),
            },
            "clientExtensionResults": {},
        }

    def assert_(
        self,
        options: dict[str, Any],
        *,
        origin: str | None = None,
        uv: bool = True,
        counter: int | None = None,
        user_handle: bytes | None = None,
    ) -> dict[str, Any]:
        pk = options["publicKey"]
        if counter is None:
            self.counter += 1
            counter = self.counter
        client_data = CollectedClientData.create(
            type="webauthn.get",
            challenge=websafe_decode(pk["challenge"]),
            origin=origin or self.origin,
        )
        auth_data = AuthenticatorData.create(
            hashlib.sha256(self.rp_id.encode()).digest(), self._flags(uv), counter
        )
        signature = self.key.sign(bytes(auth_data) + client_data.hash, ec.ECDSA(hashes.SHA256()))
        handle = user_handle if user_handle is not None else self.user_handle
        return {
            "id": websafe_encode(self.credential_id),
            "rawId": websafe_encode(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": websafe_encode(bytes(client_data)),
                "authenticatorData": websafe_encode(bytes(auth_data)),
                "signature": websafe_encode(signature),
                "userHandle": websafe_encode(handle or b""),
            },
            "clientExtensionResults": {},
        }

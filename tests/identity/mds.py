"""A test FIDO Metadata Service: an attestation root and a security-key model certified under
it, and an MDS3 blob (a JWT signed under a metadata root) listing that model."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

AAGUID = uuid.UUID("6d44ba9b-f6ec-4e2b-9a3d-2b1f0c7e9a11")
_FIDO_AAGUID_OID = x509.ObjectIdentifier("1.3.6.1.4.1.45724.1.1.4")


def _name(cn: str, ou: str | None = None) -> x509.Name:
    parts = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "PK"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test Keys Ltd"),
    ]
    if ou:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou))
    parts.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(parts)


def _cert(
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
    aaguid: uuid.UUID | None = None,
) -> bytes:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if aaguid is not None:
        # id-fido-gen-ce-aaguid: an OCTET STRING holding the AAGUID, DER-wrapped once more.
        value = b"\x04\x10" + aaguid.bytes
        builder = builder.add_extension(
            x509.UnrecognizedExtension(_FIDO_AAGUID_OID, value), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


@dataclass
class TestModel:
    """A security-key model: its attestation key and certificate, and the root above them."""

    aaguid: uuid.UUID
    root_der: bytes
    attestation: tuple[ec.EllipticCurvePrivateKey, bytes] | None


def listed_root(aaguid: uuid.UUID, root_der: bytes) -> TestModel:
    """A model known only by its AAGUID and attestation root (a real authenticator's own, such
    as Chromium's virtual one): the blob can list it; the tests hold no key of it."""
    return TestModel(aaguid, root_der, attestation=None)


def make_model(aaguid: uuid.UUID = AAGUID) -> TestModel:
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name("Test Keys Attestation Root")
    root = _cert(root_name, root_key, root_name, root_key, ca=True)
    att_key = ec.generate_private_key(ec.SECP256R1())
    leaf = _cert(
        _name("Test Key Batch 1", "Authenticator Attestation"),
        att_key,
        root_name,
        root_key,
        ca=False,
        aaguid=aaguid,
    )
    return TestModel(aaguid, root, (att_key, leaf))


def _b64u(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _entry(model: TestModel) -> dict:
    return {
        "aaguid": str(model.aaguid),
        "metadataStatement": {
            "description": "Test Key",
            "aaguid": str(model.aaguid),
            "authenticatorVersion": 1,
            "schema": 3,
            "upv": [{"major": 1, "minor": 1}],
            "attestationTypes": ["basic_full"],
            "userVerificationDetails": [[{"userVerificationMethod": "presence_internal"}]],
            "keyProtection": ["hardware", "secure_element"],
            "matcherProtection": ["on_chip"],
            "attachmentHint": ["external"],
            "tcDisplay": [],
            "attestationRootCertificates": [base64.b64encode(model.root_der).decode()],
        },
        "statusReports": [{"status": "FIDO_CERTIFIED_L1", "effectiveDate": "2025-01-01"}],
        "timeOfLastStatusChange": "2025-01-01",
    }


@dataclass
class TestMds:
    """A metadata root and what it signs."""

    root_der: bytes
    _signer_key: rsa.RSAPrivateKey
    _signer_der: bytes

    def blob(self, *models: TestModel, next_update: dt.date | None = None) -> bytes:
        """An MDS3 blob listing ``models``, valid until ``next_update`` (a month by default)."""
        payload = {
            "legalHeader": "Test metadata, not for production.",
            "no": 1,
            "nextUpdate": (next_update or dt.date.today() + dt.timedelta(days=30)).isoformat(),
            "entries": [_entry(m) for m in models],
        }
        # RS256, as the FIDO Alliance signs its own blob.
        header = {
            "alg": "RS256",
            "typ": "JWT",
            "x5c": [base64.b64encode(self._signer_der).decode()],
        }
        message = _b64u(json.dumps(header).encode()) + b"." + _b64u(json.dumps(payload).encode())
        signature = self._signer_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        return message + b"." + _b64u(signature)


def make_mds() -> TestMds:
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name("Test Metadata Root")
    root = _cert(root_name, root_key, root_name, root_key, ca=True)
    signer_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signer = _cert(_name("Test Metadata Signer"), signer_key, root_name, root_key, ca=False)
    return TestMds(root, signer_key, signer)

"""PKI recipes: keys, certificates, CRLs, OCSP responses and raw signatures.

Everything that needs ``cryptography.hazmat`` for the deployment PKI lives here (DESIGN 2: only
``keys`` touches it). ``signing`` decides *what* to issue and keeps the records; this module only
knows *how*. Private keys at rest are PKCS#8 DER sealed under a random key that the key store wraps
(:func:`seal_private_key`), so they are as safe as the master key.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from asn1crypto import keys as asn1_keys
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from keys import _hazmat
from keys.errors import DecryptionFailed, KeysError
from keys.signers import Signer
from keys.stores import KeyStore
from keys.wrapping import new_key

Certificate = x509.Certificate
ReasonFlags = x509.ReasonFlags
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey
KeyKind = Literal["ec-p256", "rsa-3072", "rsa-2048"]

OCSP_NOCHECK = (
    x509.OID_OCSP_NO_CHECK
    if hasattr(x509, "OID_OCSP_NO_CHECK")
    else x509.ObjectIdentifier("1.3.6.1.5.5.7.48.1.5")
)


class PkiError(KeysError):
    """A PKI object could not be built, parsed or verified."""


def new_private_key(kind: KeyKind = "ec-p256") -> PrivateKey:
    """A fresh signing key: ECDSA P-256 (default) or RSA."""
    if kind == "ec-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if kind in ("rsa-3072", "rsa-2048"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(kind[4:]))
    raise PkiError(f"unknown key kind {kind!r}")


def key_kind(key: PrivateKey | PublicKey) -> KeyKind:
    """The kind of a key."""
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return "ec-p256"
    return "rsa-3072" if key.key_size >= 3072 else "rsa-2048"


@dataclass(frozen=True)
class SealedKey:
    """A private key at rest: PKCS#8 DER under a random key wrapped by the key store."""

    master_version: int
    wrapped_key: bytes
    ciphertext: bytes


def seal_private_key(keystore: KeyStore, key: PrivateKey, *, label: str) -> SealedKey:
    """Encrypt a private key for storage, bound to ``label``."""
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    kek = new_key()
    aad = b"amanat-pki-key/1:" + label.encode()
    version, wrapped = keystore.wrap(kek, aad=aad)
    nonce = os.urandom(_hazmat.NONCE_BYTES)
    body = nonce + _hazmat.gcm_encrypt(_hazmat.aesgcm(kek), nonce, der, aad)
    return SealedKey(master_version=version, wrapped_key=wrapped, ciphertext=body)


def open_private_key(keystore: KeyStore, sealed: SealedKey, *, label: str) -> PrivateKey:
    """Reverse :func:`seal_private_key`."""
    aad = b"amanat-pki-key/1:" + label.encode()
    kek = keystore.unwrap(sealed.wrapped_key, version=sealed.master_version, aad=aad)
    nonce, body = sealed.ciphertext[: _hazmat.NONCE_BYTES], sealed.ciphertext[_hazmat.NONCE_BYTES :]
    der = _hazmat.gcm_decrypt(_hazmat.aesgcm(kek), nonce, body, aad)
    key = serialization.load_der_private_key(der, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise DecryptionFailed()
    return key


def rewrap_sealed_key(keystore: KeyStore, sealed: SealedKey, *, label: str) -> SealedKey:
    """Rewrap a sealed key's wrapping key under the current master key (rotation)."""
    aad = b"amanat-pki-key/1:" + label.encode()
    kek = keystore.unwrap(sealed.wrapped_key, version=sealed.master_version, aad=aad)
    version, wrapped = keystore.wrap(kek, aad=aad)
    return SealedKey(master_version=version, wrapped_key=wrapped, ciphertext=sealed.ciphertext)


def private_key_der(key: PrivateKey) -> bytes:
    """PKCS#8 DER of a key (for libraries that take key bytes; never stored in the clear)."""
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_key_der(key: PrivateKey | PublicKey) -> bytes:
    """SubjectPublicKeyInfo DER."""
    public = (
        key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) else key
    )
    return public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_public_key_der(der: bytes) -> PublicKey:
    """Parse a SubjectPublicKeyInfo."""
    key = serialization.load_der_public_key(der)
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise PkiError("unsupported public key")
    return key


def _name(common_name: str, organisation: str, unit: str | None = None) -> x509.Name:
    parts = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "PK"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
    ]
    if unit:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    parts.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(parts)


def _serial() -> int:
    return int.from_bytes(os.urandom(16), "big") >> 1


def _hash_for(key: PrivateKey) -> hashes.SHA256 | hashes.SHA384:
    return hashes.SHA256() if isinstance(key, ec.EllipticCurvePrivateKey) else hashes.SHA384()


def create_root(
    key: PrivateKey, *, organisation: str, common_name: str, now: dt.datetime, years: int = 20
) -> x509.Certificate:
    """A self-signed deployment root CA."""
    name = _name(common_name, organisation)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(_serial())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, _hash_for(key))
    )


Purpose = Literal["ocsp", "tsa", "department"]


def _with_purpose(builder: x509.CertificateBuilder, purpose: Purpose) -> x509.CertificateBuilder:
    """Key usage for every end entity, nonRepudiation for departments, and the EKUs of the OCSP
    responder (with id-pkix-ocsp-nocheck) and the TSA (critical)."""
    usage = dict(
        digital_signature=True,
        content_commitment=purpose == "department",  # nonRepudiation
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    builder = builder.add_extension(x509.KeyUsage(**usage), critical=True)
    if purpose == "ocsp":
        return builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), critical=False
        ).add_extension(x509.OCSPNoCheck(), critical=False)
    if purpose == "tsa":
        return builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
        )
    return builder


def _with_revocation_pointers(
    builder: x509.CertificateBuilder, *, crl_url: str | None, ocsp_url: str | None
) -> x509.CertificateBuilder:
    """Where relying parties find revocation: the CRL distribution point and the OCSP URL."""
    if crl_url:
        point = x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(crl_url)],
            relative_name=None,
            reasons=None,
            crl_issuer=None,
        )
        builder = builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)
    if ocsp_url:
        access = x509.AccessDescription(
            x509.oid.AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url)
        )
        builder = builder.add_extension(x509.AuthorityInformationAccess([access]), critical=False)
    return builder


def issue_certificate(
    *,
    issuer_key: PrivateKey,
    issuer_cert: x509.Certificate,
    subject_key: PublicKey,
    purpose: Purpose,
    common_name: str,
    organisation: str,
    unit: str | None,
    now: dt.datetime,
    years: int,
    crl_url: str | None = None,
    ocsp_url: str | None = None,
) -> x509.Certificate:
    """An end-entity certificate issued by the root for one purpose.

    ``department``: digitalSignature + nonRepudiation, CRL distribution point and OCSP URL.
    ``ocsp``: OCSPSigning EKU with id-pkix-ocsp-nocheck. ``tsa``: critical timeStamping EKU.
    """
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, organisation, unit))
        .issuer_name(issuer_cert.subject)
        .public_key(subject_key)
        .serial_number(_serial())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(subject_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    builder = _with_purpose(builder, purpose)
    builder = _with_revocation_pointers(builder, crl_url=crl_url, ocsp_url=ocsp_url)
    return builder.sign(issuer_key, _hash_for(issuer_key))


def cert_der(cert: x509.Certificate) -> bytes:
    """DER bytes of a certificate."""
    return cert.public_bytes(serialization.Encoding.DER)


def cert_pem(cert: x509.Certificate) -> bytes:
    """PEM bytes of a certificate."""
    return cert.public_bytes(serialization.Encoding.PEM)


def load_cert(der: bytes) -> x509.Certificate:
    """Parse a DER certificate."""
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError:
        raise PkiError("malformed certificate") from None


def load_certs_file(data: bytes) -> list[bytes]:
    """DER certificates from a PEM bundle or a single DER certificate."""
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            return [cert_der(c) for c in x509.load_pem_x509_certificates(data)]
        return [cert_der(x509.load_der_x509_certificate(data))]
    except ValueError:
        raise PkiError("not a certificate file (PEM or DER)") from None


def kid_of(cert: x509.Certificate | bytes) -> bytes:
    """DESIGN 4.2 key id: the first 8 bytes of SHA-256 over the certificate DER."""
    der = cert if isinstance(cert, bytes) else cert_der(cert)
    return hashlib.sha256(der).digest()[:8]


@dataclass(frozen=True)
class Revoked:
    """A revoked certificate for a CRL or an OCSP answer."""

    serial: int
    revoked_at: dt.datetime
    reason: x509.ReasonFlags = x509.ReasonFlags.unspecified
    # RFC 5280 5.3.2: since when the key is known or suspected compromised, when that is before
    # the revocation itself (the revocation date stays the day the root processed it).
    invalid_since: dt.datetime | None = None


REASONS = {r.name: r for r in x509.ReasonFlags}


def build_crl(
    *,
    issuer_key: PrivateKey,
    issuer_cert: x509.Certificate,
    revoked: Sequence[Revoked],
    number: int,
    now: dt.datetime,
    next_update: dt.timedelta = dt.timedelta(days=1),
) -> bytes:
    """A DER CRL listing ``revoked``."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer_cert.subject)
        .last_update(now - dt.timedelta(minutes=1))
        .next_update(now + next_update)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    for item in revoked:
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(item.serial)
            .revocation_date(item.revoked_at)
        )
        if item.reason is not x509.ReasonFlags.unspecified:
            entry = entry.add_extension(x509.CRLReason(item.reason), critical=False)
        if item.invalid_since is not None and item.invalid_since < item.revoked_at:
            # GeneralizedTime, whole seconds: what RFC 5280 allows in the extension.
            since = item.invalid_since.astimezone(dt.UTC).replace(microsecond=0, tzinfo=None)
            entry = entry.add_extension(x509.InvalidityDate(since), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(issuer_key, _hash_for(issuer_key)).public_bytes(serialization.Encoding.DER)


def parse_ocsp_request(der: bytes) -> tuple[int, bytes, bytes, str, bytes | None]:
    """(serial, issuer name hash, issuer key hash, hash algorithm name, nonce) of a request."""
    try:
        req = ocsp.load_der_ocsp_request(der)
        nonce = None
        with contextlib.suppress(x509.ExtensionNotFound):
            nonce = req.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
        # Every field is read here: an unknown hash algorithm or a damaged extension is a
        # malformed request, not an exception in the responder.
        return (
            req.serial_number,
            req.issuer_name_hash,
            req.issuer_key_hash,
            req.hash_algorithm.name,
            nonce,
        )
    except (ValueError, UnsupportedAlgorithm):
        raise PkiError("malformed OCSP request") from None


def issuer_hashes(cert: x509.Certificate, algorithm: str) -> tuple[bytes, bytes]:
    """The (name hash, key hash) an OCSP request uses to name ``cert`` as issuer."""
    algo = {"sha1": hashes.SHA1(), "sha256": hashes.SHA256()}.get(algorithm)  # noqa: S303
    if algo is None:
        raise PkiError("unsupported OCSP hash")
    h = hashes.Hash(algo)
    h.update(cert.subject.public_bytes())
    name_hash = h.finalize()
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # The key hash covers the subjectPublicKey BIT STRING contents, not the whole SPKI.
    bits = asn1_keys.PublicKeyInfo.load(spki)["public_key"].contents[1:]
    h = hashes.Hash(algo)
    h.update(bits)
    return name_hash, h.finalize()


OcspStatus = Literal["good", "revoked", "unknown"]


def build_ocsp_response(
    *,
    cert: x509.Certificate | None,
    issuer_cert: x509.Certificate,
    responder_cert: x509.Certificate,
    responder_key: PrivateKey,
    status: OcspStatus,
    now: dt.datetime,
    revoked: Revoked | None = None,
    nonce: bytes | None = None,
    serial: int | None = None,
) -> bytes:
    """A signed OCSP response (RFC 6960) about one certificate."""
    if status == "unknown" or cert is None:
        return ocsp.OCSPResponseBuilder.build_unsuccessful(
            ocsp.OCSPResponseStatus.UNAUTHORIZED
        ).public_bytes(serialization.Encoding.DER)
    cert_status = {
        "good": ocsp.OCSPCertStatus.GOOD,
        "revoked": ocsp.OCSPCertStatus.REVOKED,
    }[status]
    builder = ocsp.OCSPResponseBuilder().add_response(
        cert=cert,
        issuer=issuer_cert,
        algorithm=hashes.SHA1(),  # noqa: S303 - the CertID hash RFC 6960 clients expect
        cert_status=cert_status,
        this_update=now - dt.timedelta(minutes=1),
        next_update=now + dt.timedelta(hours=12),
        revocation_time=revoked.revoked_at if revoked else None,
        revocation_reason=(
            revoked.reason
            if revoked and revoked.reason is not x509.ReasonFlags.unspecified
            else None
        ),
    )
    builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, responder_cert).certificates(
        [responder_cert]
    )
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.sign(responder_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def unauthorized_ocsp_response() -> bytes:
    """The OCSP answer for a certificate this responder does not know or cannot parse."""
    return ocsp.OCSPResponseBuilder.build_unsuccessful(
        ocsp.OCSPResponseStatus.UNAUTHORIZED
    ).public_bytes(serialization.Encoding.DER)


def malformed_ocsp_response() -> bytes:
    """The OCSP answer for a request that cannot be parsed."""
    return ocsp.OCSPResponseBuilder.build_unsuccessful(
        ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    ).public_bytes(serialization.Encoding.DER)


def sign_raw(key: PrivateKey, data: bytes, *, digest: str, pss: bool = False) -> bytes:
    """A raw signature (DER ECDSA, or RSA PKCS#1 v1.5 / PSS) over ``data`` hashed by ``digest``."""
    algo = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}[
        digest.lower()
    ]
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(algo))
    if pss:
        return key.sign(
            data, padding.PSS(mgf=padding.MGF1(algo), salt_length=algo.digest_size), algo
        )
    return key.sign(data, padding.PKCS1v15(), algo)


class MemorySigner:
    """A :class:`keys.signers.Signer` over a private key held in memory (opened from its sealed
    form, or made for a test)."""

    def __init__(self, key: PrivateKey) -> None:
        self._key = key
        self.kind: KeyKind = key_kind(key)

    def public_key_der(self) -> bytes:
        """The public key as SubjectPublicKeyInfo DER."""
        return public_key_der(self._key)

    def sign(self, data: bytes, *, digest: str, pss: bool = False) -> bytes:
        """:func:`sign_raw` with this key."""
        return sign_raw(self._key, data, digest=digest, pss=pss)

    def cose_sign(self, data: bytes) -> bytes:
        """ES256 as r‖s (32 + 32), PS256 for RSA keys."""
        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            r, s = decode_dss_signature(self._key.sign(data, ec.ECDSA(hashes.SHA256())))
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        return self._key.sign(data, pss, hashes.SHA256())


# What signing code is handed: a Signer, or (in tests and one-off tools) a bare private key.
SigningKey = PrivateKey | Signer


def signer_of(key: SigningKey) -> Signer:
    """The :class:`Signer` for ``key`` (a bare private key is wrapped)."""
    if isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        return MemorySigner(key)
    return key


def signing_key_kind(key: SigningKey) -> KeyKind:
    """The kind of a signing key, wherever it lives."""
    kind = signer_of(key).kind
    return "rsa-3072" if kind == "rsa-3072" else "ec-p256"


def sign_with(key: SigningKey, data: bytes, *, digest: str, pss: bool = False) -> bytes:
    """A CMS signature value by a key in memory or in a token (ECDSA signatures come out DER)."""
    return signer_of(key).sign(data, digest=digest, pss=pss)


def cose_sign(key: SigningKey, data: bytes) -> bytes:
    """COSE signature bytes: ES256 as r‖s (32 + 32), PS256 for RSA keys."""
    return signer_of(key).cose_sign(data)


def cose_verify(public: PublicKey, data: bytes, signature: bytes) -> bool:
    """Check a COSE ES256 (r‖s) or PS256 signature."""
    try:
        if isinstance(public, ec.EllipticCurvePublicKey):
            if len(signature) != 64:
                return False
            der = encode_dss_signature(
                int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            )
            public.verify(der, data, ec.ECDSA(hashes.SHA256()))
        else:
            public.verify(
                signature,
                data,
                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                hashes.SHA256(),
            )
    except InvalidSignature:
        return False
    return True


def _certified(
    issuer_der: bytes, cert_der_: bytes, purpose: x509.ObjectIdentifier
) -> x509.Certificate | None:
    """``cert_der_`` when ``issuer_der`` issued it (signature and name) for ``purpose``."""
    try:
        issuer, cert = load_cert(issuer_der), load_cert(cert_der_)
        cert.verify_directly_issued_by(issuer)
        purposes = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except (PkiError, ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return None
    except x509.ExtensionNotFound:
        return None
    return cert if purpose in purposes else None


def signs_status(issuer_der: bytes, cert_der_: bytes, *, now: dt.datetime) -> bool:
    """Whether ``cert_der_`` is a revocation-status signer that ``issuer_der`` certified: issued
    by it (signature and name), within its validity at ``now``, with the OCSP-signing purpose.

    The deployment signs its status lists with its OCSP responder's key, so a verifier that trusts
    the root needs nothing else to trust a list (DESIGN 4.2)."""
    cert = _certified(issuer_der, cert_der_, ExtendedKeyUsageOID.OCSP_SIGNING)
    return cert is not None and cert.not_valid_before_utc <= now <= cert.not_valid_after_utc


def ocsp_urls(cert: x509.Certificate) -> list[str]:
    """The OCSP responders a certificate names (its Authority Information Access)."""
    try:
        access = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return []
    return [
        str(a.access_location.value)
        for a in access
        if a.access_method == x509.oid.AuthorityInformationAccessOID.OCSP
    ]


def stamps_time(issuer_der: bytes, cert_der_: bytes) -> x509.Certificate | None:
    """``cert_der_`` when it is a time-stamping authority that ``issuer_der`` certified (the
    deployment's TSA of today or of before: its revocation status is the root's to answer)."""
    return _certified(issuer_der, cert_der_, ExtendedKeyUsageOID.TIME_STAMPING)

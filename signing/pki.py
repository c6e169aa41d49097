"""The deployment PKI: root CA, OCSP responder, TSA, department signing keys, CRL and OCSP answers.

Created by ``amanat init`` (:func:`ensure_pki`), loaded once per process (:func:`load_pki`). The
certificates of departments carry this service's CRL and OCSP URLs, so validation data comes from
the machine itself; a department key compromise revokes its certificate (CRL and OCSP at once) and
rolls a new key.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import EventTag, record_operator
from keys import pki
from keys.errors import NoToken
from keys.signers import Signer
from keys.stores import KeyStore
from signing.errors import InvalidRequest, PkiNotReady, UnknownDepartment
from signing.models import Authority, CrlState, Department, DepartmentCert, KeyStatus, PkiKey

ORGANISATION = "Amanat e-Government"
_CODE = re.compile(r"^[A-Z][A-Z0-9_-]{1,15}$")
# Regenerate the CRL when less than this remains before its next update.
_CRL_REFRESH = dt.timedelta(hours=12)


@dataclass
class PkiMaterial:
    """The deployment's certificates and keys, loaded once per process."""

    root_cert: pki.Certificate
    root_key: pki.PrivateKey
    ocsp_cert: pki.Certificate
    ocsp_key: pki.PrivateKey
    tsa_cert: pki.Certificate
    tsa_key: pki.PrivateKey
    base_url: str
    _department_keys: dict[int, pki.SigningKey] = field(default_factory=dict, repr=False)

    @property
    def crl_url(self) -> str:
        """Where the root's CRL is published."""
        return f"{self.base_url}/pki/crl/root.crl"

    @property
    def ocsp_url(self) -> str:
        """Where the OCSP responder answers."""
        return f"{self.base_url}/pki/ocsp"


def _store_key(
    session: Session, keystore: KeyStore, key: pki.PrivateKey, label: str, now: dt.datetime
) -> PkiKey:
    sealed = pki.seal_private_key(keystore, key, label=label)
    row = PkiKey(
        label=label,
        kind=pki.key_kind(key),
        storage="sealed",
        master_version=sealed.master_version,
        wrapped_key=sealed.wrapped_key,
        ciphertext=sealed.ciphertext,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def _token_key(
    session: Session, keystore: KeyStore, label: str, key_kind: pki.KeyKind, now: dt.datetime
) -> tuple[Signer, PkiKey]:
    """Generate a department key inside the PKCS#11 token of the key store."""
    if key_kind != "ec-p256":
        raise InvalidRequest("Keys in the token are ECDSA P-256.")
    token_label = "amanat-" + label.replace(":", "-").lower()
    try:
        key = keystore.new_token_signer(token_label)
    except NoToken:
        needs = "--hsm needs AMANAT_KEYSTORE=pkcs11 (a token to hold the key)."
        raise InvalidRequest(needs) from None
    row = PkiKey(
        label=label,
        kind="ec-p256",
        storage="pkcs11",
        ciphertext=token_label.encode(),
        created_at=now,
    )
    session.add(row)
    session.flush()
    return key, row


def _open_signing_key(keystore: KeyStore, row: PkiKey) -> Signer:
    if row.storage == "pkcs11":
        if row.ciphertext is None:
            raise PkiNotReady(f"key {row.label} has no token label")
        try:
            return keystore.token_signer(row.ciphertext.decode())
        except NoToken:
            raise PkiNotReady(
                f"key {row.label} is in a PKCS#11 token: set AMANAT_KEYSTORE=pkcs11"
            ) from None
    return pki.MemorySigner(_open_key(keystore, row))


def _open_key(keystore: KeyStore, row: PkiKey) -> pki.PrivateKey:
    if row.storage != "sealed" or row.wrapped_key is None or row.ciphertext is None:
        raise PkiNotReady(f"key {row.label} is not held by this key store")
    return pki.open_private_key(
        keystore,
        pki.SealedKey(row.master_version or 0, row.wrapped_key, row.ciphertext),
        label=row.label,
    )


# The OCSP responder (5 years) is rolled this long before it ends: its answers last hours, but a
# responder that expired signs nothing a verifier accepts, status lists included.
RESPONDER_MARGIN = dt.timedelta(days=90)
# What a rolled authority is: (key kind, years, name). RSA for the TSA: pyHanko's RFC 3161 token
# builder writes rsassa_pkcs1v15 SignerInfos.
_ROLLED = {
    "tsa": ("rsa-3072", 10, "Amanat Time-Stamping Authority"),
    "ocsp": ("ec-p256", 5, "Amanat OCSP Responder"),
}


def _authority(
    issuer_key: pki.PrivateKey,
    issuer_cert: pki.Certificate,
    *,
    role: str,
    base_url: str,
    now: dt.datetime,
) -> tuple[pki.Certificate, pki.PrivateKey]:
    """A new key and certificate from the root for ``role`` ("tsa" or "ocsp"). A TSA's names
    the OCSP responder (with a public ``base_url``): where its status is asked per certificate,
    which validates a time-stamp years later without the root's CRL (see stamp_crls)."""
    kind, years, name = _ROLLED[role]
    key = pki.new_private_key(kind)  # type: ignore[arg-type]
    cert = pki.issue_certificate(
        issuer_key=issuer_key,
        issuer_cert=issuer_cert,
        subject_key=key.public_key(),
        purpose=role,  # type: ignore[arg-type]
        common_name=name,
        organisation=ORGANISATION,
        unit=None,
        now=now,
        years=years,
        ocsp_url=f"{base_url}/pki/ocsp" if role == "tsa" and base_url else None,
    )
    return cert, key


def ensure_pki(
    session: Session, *, keystore: KeyStore, now: dt.datetime, base_url: str = ""
) -> bool:
    """Create the root CA, OCSP responder and TSA certificates unless they exist. With the
    public ``base_url``, the TSA's certificate names the OCSP responder (see ``_authority``)."""
    if session.get(Authority, "root") is not None:
        return False
    root_key = pki.new_private_key("ec-p256")
    root = pki.create_root(
        root_key, organisation=ORGANISATION, common_name="Amanat Root CA", now=now
    )
    root_row = _store_key(session, keystore, root_key, "root", now)
    session.add(
        Authority(role="root", cert_der=pki.cert_der(root), key_id=root_row.id, created_at=now)
    )
    for role in ("ocsp", "tsa"):
        cert, key = _authority(root_key, root, role=role, base_url=base_url, now=now)
        row = _store_key(session, keystore, key, role, now)
        session.add(
            Authority(role=role, cert_der=pki.cert_der(cert), key_id=row.id, created_at=now)
        )
    session.flush()
    return True


def _pair(material: PkiMaterial, role: str) -> tuple[pki.Certificate, pki.PrivateKey]:
    if role == "tsa":
        return material.tsa_cert, material.tsa_key
    return material.ocsp_cert, material.ocsp_key


def _set_pair(material: PkiMaterial, role: str, cert: pki.Certificate, key: pki.PrivateKey) -> None:
    if role == "tsa":
        material.tsa_cert, material.tsa_key = cert, key
    else:
        material.ocsp_cert, material.ocsp_key = cert, key


def follow_authorities(session: Session, *, keystore: KeyStore, material: PkiMaterial) -> bool:
    """Whether another process rolled the time-stamping authority or the OCSP responder since
    ``material`` was loaded; ``material`` (shared by everything in this process) then holds the
    new ones."""
    changed = False
    for role in _ROLLED:
        authority = session.get(Authority, role)
        if authority is None or authority.cert_der == pki.cert_der(_pair(material, role)[0]):
            continue
        key_row = session.get(PkiKey, authority.key_id)
        assert key_row is not None
        _set_pair(material, role, pki.load_cert(authority.cert_der), _open_key(keystore, key_row))
        changed = True
    return changed


def _roll(
    session: Session, *, keystore: KeyStore, material: PkiMaterial, role: str, now: dt.datetime
) -> None:
    """Replace ``role``'s key and certificate ("tsa" or "ocsp") with new ones from the root."""
    cert, key = _authority(
        material.root_key, material.root_cert, role=role, base_url=material.base_url, now=now
    )
    row = _store_key(session, keystore, key, f"{role}:{now:%Y%m%dT%H%M%S}", now)
    authority = session.get(Authority, role)
    assert authority is not None
    authority.cert_der, authority.key_id = pki.cert_der(cert), row.id
    session.flush()
    _set_pair(material, role, cert, key)


def fresh_tsa(
    session: Session,
    *,
    keystore: KeyStore,
    material: PkiMaterial,
    now: dt.datetime,
    margin: dt.timedelta,
) -> bool:
    """Make ``material``'s time-stamping authority one whose certificate outlasts ``margin``: a
    new TSA key and certificate from the root when the current one ends sooner (its time-stamps
    stay valid: each carries its own certificate). Whether the TSA changed. The register's
    authorities are followed first: another process may have rolled them already."""
    changed = follow_authorities(session, keystore=keystore, material=material)
    if material.tsa_cert.not_valid_after_utc - now >= margin:
        return changed
    _roll(session, keystore=keystore, material=material, role="tsa", now=now)
    return True


def fresh_responder(
    session: Session, *, keystore: KeyStore, material: PkiMaterial, now: dt.datetime
) -> bool:
    """Make ``material``'s OCSP responder one that outlasts RESPONDER_MARGIN (rolled from the
    root when it ends sooner); whether it changed. Answers it signed before stay valid: each
    carries the responder's certificate of its day."""
    changed = follow_authorities(session, keystore=keystore, material=material)
    if material.ocsp_cert.not_valid_after_utc - now >= RESPONDER_MARGIN:
        return changed
    _roll(session, keystore=keystore, material=material, role="ocsp", now=now)
    return True


def load_pki(session: Session, *, keystore: KeyStore, base_url: str) -> PkiMaterial:
    """The PKI material, decrypted (call once per process and keep it)."""
    rows = {a.role: a for a in session.scalars(select(Authority))}
    if not {"root", "ocsp", "tsa"} <= rows.keys():
        raise PkiNotReady("the deployment PKI is missing: run 'amanat init'")

    def pair(role: str) -> tuple[pki.Certificate, pki.PrivateKey]:
        row = rows[role]
        key_row = session.get(PkiKey, row.key_id)
        assert key_row is not None
        return pki.load_cert(row.cert_der), _open_key(keystore, key_row)

    root, root_key = pair("root")
    ocsp_cert, ocsp_key = pair("ocsp")
    tsa_cert, tsa_key = pair("tsa")
    return PkiMaterial(
        root_cert=root,
        root_key=root_key,
        ocsp_cert=ocsp_cert,
        ocsp_key=ocsp_key,
        tsa_cert=tsa_cert,
        tsa_key=tsa_key,
        base_url=base_url.rstrip("/"),
    )


def _clean_code(code: str) -> str:
    value = (code or "").strip().upper()
    if not _CODE.match(value):
        raise InvalidRequest("A department code has 2 to 16 capital letters, digits, '-' or '_'.")
    return value


def _new_cert(
    session: Session,
    *,
    keystore: KeyStore,
    material: PkiMaterial,
    department: Department,
    key_kind: pki.KeyKind,
    now: dt.datetime,
    hsm: bool = False,
) -> DepartmentCert:
    count = len(department.certs) + 1
    label = f"department:{department.code}:{count}"
    key: pki.SigningKey
    if hsm:
        token_key, key_row = _token_key(session, keystore, label, key_kind, now)
        key, public = token_key, pki.load_public_key_der(token_key.public_key_der())
    else:
        local = pki.new_private_key(key_kind)
        key, public = local, local.public_key()
    cert = pki.issue_certificate(
        issuer_key=material.root_key,
        issuer_cert=material.root_cert,
        subject_key=public,
        purpose="department",
        common_name=department.name,
        organisation=ORGANISATION,
        unit=department.code,
        now=now,
        years=3,
        crl_url=material.crl_url,
        ocsp_url=material.ocsp_url,
    )
    if not hsm:
        key_row = _store_key(session, keystore, local, label, now)
    row = DepartmentCert(
        department_code=department.code,
        cert_der=pki.cert_der(cert),
        serial_hex=format(cert.serial_number, "x"),
        kid=pki.kid_of(cert),
        key_id=key_row.id,
        status=KeyStatus.ACTIVE,
        created_at=now,
    )
    session.add(row)
    department.certs.append(row)
    session.flush()
    material._department_keys[key_row.id] = key
    return row


def create_department(
    session: Session,
    *,
    keystore: KeyStore,
    material: PkiMaterial,
    code: str,
    name: str,
    now: dt.datetime,
    name_ur: str | None = None,
    key_kind: pki.KeyKind = "ec-p256",
    hsm: bool = False,
) -> Department:
    """Create an issuing department with its signing key and certificate."""
    code = _clean_code(code)
    name = " ".join((name or "").split())
    if not name or len(name) > 120:
        raise InvalidRequest("A department needs a name of 1 to 120 characters.")
    if key_kind not in ("ec-p256", "rsa-3072"):
        raise InvalidRequest("A department key is ec-p256 or rsa-3072.")
    if session.get(Department, code) is not None:
        raise InvalidRequest(f"Department {code} already exists.")
    department = Department(code=code, name=name, name_ur=name_ur, created_at=now)
    session.add(department)
    session.flush()
    _new_cert(
        session,
        keystore=keystore,
        material=material,
        department=department,
        key_kind=key_kind,
        now=now,
        hsm=hsm,
    )
    record_operator(
        session, EventTag.DEPARTMENT_CREATED,
        object_type="department",
        object_id=code,
        now=now,
        details={"name": name},
    )
    return department


def get_department(session: Session, *, code: str) -> Department:
    """The department with this code, or UnknownDepartment."""
    department = session.get(Department, (code or "").strip().upper())
    if department is None:
        raise UnknownDepartment(f"There is no department {code!r}.")
    return department


@dataclass(frozen=True)
class PublishedTrust:
    """What the trust list publishes: the root, every department certificate (revoked ones too,
    so that a verifier knows them), and the status-list signer (the OCSP responder)."""

    root: bytes | None
    departments: tuple[DepartmentCert, ...]
    status_signer: bytes | None


def published_trust(session: Session) -> PublishedTrust:
    """The trust list's material, as of this session."""
    root = session.get(Authority, "root")
    ocsp = session.get(Authority, "ocsp")
    certs = session.scalars(select(DepartmentCert).order_by(DepartmentCert.id))
    return PublishedTrust(
        root.cert_der if root else None, tuple(certs), ocsp.cert_der if ocsp else None
    )


def urdu_names(session: Session) -> dict[str, str]:
    """Each department's Urdu name by its English name (the name its certificates carry), for
    the departments that have one: a verdict names its signer by the certificate's name."""
    rows = session.execute(select(Department.name, Department.name_ur))
    return {name: name_ur for name, name_ur in rows if name_ur}


def active_cert(session: Session, *, code: str) -> DepartmentCert:
    """The department's current signing certificate."""
    department = get_department(session, code=code)
    for row in reversed(department.certs):
        if row.status == KeyStatus.ACTIVE:
            return row
    raise UnknownDepartment(f"Department {code} has no active signing key.")


def department_key(
    session: Session, *, keystore: KeyStore, material: PkiMaterial, cert: DepartmentCert
) -> pki.SigningKey:
    """The signing key of a department certificate (decrypted or found once per process)."""
    key = material._department_keys.get(cert.key_id)
    if key is None:
        row = session.get(PkiKey, cert.key_id)
        assert row is not None
        key = material._department_keys[cert.key_id] = _open_signing_key(keystore, row)
    return key


def revoke_department_key(
    session: Session,
    *,
    keystore: KeyStore,
    material: PkiMaterial,
    code: str,
    now: dt.datetime,
    reason: str = "key_compromise",
    invalid_since: dt.datetime | None = None,
) -> DepartmentCert:
    """Revoke the department's signing certificate (CRL and OCSP at once) and roll a new key.

    ``invalid_since`` dates a compromise found late (the CRL's invalidity date): certificates the
    register recorded from then on fail on every channel, older ones stay valid."""
    if reason not in pki.REASONS:
        raise InvalidRequest("Unknown revocation reason.", code="revoke_reason_unknown")
    if invalid_since is not None and invalid_since > now:
        raise InvalidRequest("Invalidity date in the future.", code="revoke_invalid_since_future")
    old = active_cert(session, code=code)
    old.status = KeyStatus.REVOKED
    old.revoked_at = now
    old.revocation_reason = reason
    old.invalid_since = invalid_since
    department = get_department(session, code=code)
    kind = pki.key_kind(pki.load_cert(old.cert_der).public_key())  # type: ignore[arg-type]
    old_key = session.get(PkiKey, old.key_id)
    new = _new_cert(
        session,
        keystore=keystore,
        material=material,
        department=department,
        key_kind=kind,
        now=now,
        hsm=old_key is not None and old_key.storage == "pkcs11",
    )
    material._department_keys.pop(old.key_id, None)
    refresh_crl(session, material=material, now=now)
    record_operator(
        session,
        EventTag.DEPARTMENT_KEY_REVOKED,
        now=now,
        object_type="department",
        object_id=department.code,
        details={
            "revoked_serial": old.serial_hex,
            "new_serial": new.serial_hex,
            "reason": reason,
            "invalid_since": invalid_since.isoformat() if invalid_since else None,
        },
    )
    return new


def _revoked(session: Session) -> list[pki.Revoked]:
    out = []
    revoked = select(DepartmentCert).where(DepartmentCert.status == KeyStatus.REVOKED)
    for row in session.scalars(revoked):
        assert row.revoked_at is not None
        out.append(
            pki.Revoked(
                serial=int(row.serial_hex, 16),
                revoked_at=row.revoked_at,
                reason=pki.REASONS.get(row.revocation_reason or "") or pki.ReasonFlags.unspecified,
                invalid_since=row.invalid_since,
            )
        )
    return out


def refresh_crl(session: Session, *, material: PkiMaterial, now: dt.datetime) -> bytes:
    """Issue a new CRL now (after a revocation, or on schedule)."""
    state = session.get(CrlState, "root")
    number = (state.number + 1) if state else 1
    der = pki.build_crl(
        issuer_key=material.root_key,
        issuer_cert=material.root_cert,
        revoked=_revoked(session),
        number=number,
        now=now,
    )
    if state is None:
        session.add(CrlState(ca="root", number=number, der=der, updated_at=now))
    else:
        state.number, state.der, state.updated_at = number, der, now
    session.flush()
    return der


def current_crl(session: Session, *, material: PkiMaterial, now: dt.datetime) -> bytes:
    """The root's CRL, regenerated when missing or close to its next update."""
    state = session.get(CrlState, "root")
    if state is None or now - state.updated_at > dt.timedelta(days=1) - _CRL_REFRESH:
        return refresh_crl(session, material=material, now=now)
    return state.der


def ocsp_for_cert(
    session: Session,
    *,
    material: PkiMaterial,
    cert: DepartmentCert,
    now: dt.datetime,
    nonce: bytes | None = None,
) -> bytes:
    """A signed OCSP answer about one department certificate."""
    revoked = None
    if cert.status == KeyStatus.REVOKED:
        assert cert.revoked_at is not None
        revoked = pki.Revoked(
            serial=int(cert.serial_hex, 16),
            revoked_at=cert.revoked_at,
            reason=pki.REASONS.get(cert.revocation_reason or "") or pki.ReasonFlags.unspecified,
        )
    return pki.build_ocsp_response(
        cert=pki.load_cert(cert.cert_der),
        issuer_cert=material.root_cert,
        responder_cert=material.ocsp_cert,
        responder_key=material.ocsp_key,
        status="revoked" if revoked else "good",
        revoked=revoked,
        now=now,
        nonce=nonce,
    )


def ocsp_for_tsa(
    material: PkiMaterial, *, cert_der: bytes, now: dt.datetime, nonce: bytes | None = None
) -> bytes | None:
    """A signed OCSP answer ("good") about a time-stamping certificate the root issued, today's
    or one before it (None for any other certificate). Per certificate, unlike the root's CRL:
    archive renewals carry it rather than a CRL, because a CRL issued after a department's
    certificate expired stops pyHanko's past validation of that signature (it does not handle
    revocation information from after a certificate's expiry)."""
    cert = pki.stamps_time(pki.cert_der(material.root_cert), cert_der)
    if cert is None:
        return None
    return pki.build_ocsp_response(
        cert=cert,
        issuer_cert=material.root_cert,
        responder_cert=material.ocsp_cert,
        responder_key=material.ocsp_key,
        status="good",
        now=now,
        nonce=nonce,
    )


def stamp_crls(
    session: Session, *, material: PkiMaterial, tsa_cert: bytes, now: dt.datetime
) -> tuple[bytes, ...]:
    """The root's CRL for a file's validation data, only when the time-stamping certificate
    names no OCSP responder (a TSA made before they did): its status then has no other source.

    Otherwise none. A file's DSS that holds a root CRL breaks pyHanko's AdES long-term
    validation once the department's certificate has expired: its time sliding takes that CRL
    as the word on the OCSP responder's certificate (ocsp-nocheck is not heeded there) and on
    the expired certificate (revocation data from after an expiry is not handled), and slides
    the control time to before the proofs of existence the archive time-stamps give."""
    cert = pki.load_cert(tsa_cert)
    if pki.ocsp_urls(cert):
        return ()
    return (current_crl(session, material=material, now=now),)


def answer_ocsp(
    session: Session,
    *,
    material: PkiMaterial,
    request_der: bytes,
    now: dt.datetime,
    keystore: KeyStore | None = None,
) -> bytes:
    """Answer an RFC 6960 request from the registry of department certificates. With the key
    store, a responder rolled by another process (the archive job) is followed first."""
    if keystore is not None:
        follow_authorities(session, keystore=keystore, material=material)
    try:
        serial, name_hash, key_hash, algorithm, nonce = pki.parse_ocsp_request(request_der)
        ours = pki.issuer_hashes(material.root_cert, algorithm)
    except pki.PkiError:
        return pki.malformed_ocsp_response()
    if (name_hash, key_hash) != ours:
        return pki.unauthorized_ocsp_response()
    if serial == material.tsa_cert.serial_number:
        # The time-stamping authority of today: what a verifier of an archive asks about.
        tsa = pki.cert_der(material.tsa_cert)
        answer = ocsp_for_tsa(material, cert_der=tsa, now=now, nonce=nonce)
        return answer or pki.unauthorized_ocsp_response()
    cert = session.scalar(
        select(DepartmentCert).where(DepartmentCert.serial_hex == format(serial, "x"))
    )
    if cert is None:
        return pki.unauthorized_ocsp_response()
    return ocsp_for_cert(session, material=material, cert=cert, now=now, nonce=nonce)


def rewrap_pki_keys(session: Session, *, keystore: KeyStore) -> int:
    """Rewrap every sealed PKI key under the key store's current master key (after rotation)."""
    current = keystore.current_version()
    count = 0
    for row in session.scalars(select(PkiKey).where(PkiKey.storage == "sealed")):
        if row.master_version == current or row.wrapped_key is None or row.ciphertext is None:
            continue
        sealed = pki.rewrap_sealed_key(
            keystore,
            pki.SealedKey(row.master_version or 0, row.wrapped_key, row.ciphertext),
            label=row.label,
        )
        row.master_version, row.wrapped_key = sealed.master_version, sealed.wrapped_key
        count += 1
    session.flush()
    return count

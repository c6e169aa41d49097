"""Issuing certificates into citizens' vaults, and revoking them.

One issuance, in the caller's transaction: render the PDF with its signed QR code, certify it with
the department key at the requested PAdES level, validate the result strictly and offline (a file
that fails is never stored), store it in the holder's vault as an issued document, record it in
the registry, and write ledger events for the holder and the department.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from audit import EventTag, record_event
from audit.actors import Actor
from identity.accounts import normalize_cnic
from identity.errors import InvalidInput
from identity.models import Account, Role
from keys import pki
from keys.stores import KeyStore
from signing import pades, qr
from signing.errors import (
    CertificateNotFound,
    IdempotencyKeyReused,
    InvalidRequest,
    UnknownCitizen,
)
from signing.models import Department, DepartmentCert, IssuedCertificate, RegisterStatus
from signing.pki import (
    PkiMaterial,
    active_cert,
    department_key,
    follow_authorities,
    get_department,
    ocsp_for_cert,
    ocsp_for_tsa,
    stamp_crls,
)
from signing.render import render_certificate
from signing.status_list import DEFAULT_CAPACITY, new_status_index
from signing.types import CertificateType, check_fields, get_type
from vault.service import VaultContext, store_document
from vault.uploads import DocumentKind, Upload

_SERIAL_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


def new_serial() -> str:
    """An unguessable (60 random bits), human-typable serial: ``XXXX-XXXX-XXXX``."""
    raw = secrets.randbits(60)
    chars = "".join(_SERIAL_ALPHABET[(raw >> (5 * i)) & 31] for i in range(12))
    return f"{chars[:4]}-{chars[4:8]}-{chars[8:]}"


def normalize_serial(value: str) -> str:
    """A serial as typed (any case, with or without dashes, O for 0...) in canonical form."""
    text = "".join(ch for ch in (value or "").upper() if ch.isalnum())
    text = text.translate(str.maketrans("OIL", "011"))
    if len(text) != 12 or any(ch not in _SERIAL_ALPHABET for ch in text):
        raise CertificateNotFound("No such serial.", code="certificate_not_found")
    return f"{text[:4]}-{text[4:8]}-{text[8:]}"


@dataclass(frozen=True)
class IssueRequest:
    """A checked issuance request (built at the edge; services receive only valid ones)."""

    department: str
    citizen: str
    ctype: CertificateType
    fields: dict[str, object]
    level: pades.Level
    batch_key: str | None = None

    @classmethod
    def build(
        cls,
        *,
        department: str,
        citizen: str,
        type_code: str,
        fields: Mapping[str, str],
        level: str = "B-LTA",
        batch_key: str | None = None,
    ) -> IssueRequest:
        """Validate everything that needs no database."""
        try:
            cnic = normalize_cnic(citizen)
        except InvalidInput as exc:
            raise InvalidRequest(str(exc), code=exc.code, **exc.params) from None
        if level not in pades.LEVELS:
            raise InvalidRequest(
                f"Unknown level {level!r}.",
                code="level_unknown",
                level=level,
                levels=", ".join(pades.LEVELS),
            )
        ctype = get_type(type_code)
        return cls(
            department=(department or "").strip().upper(),
            citizen=cnic,
            ctype=ctype,
            fields=check_fields(ctype, fields),
            level=level,
            batch_key=batch_key,
        )


@dataclass
class IssuanceContext:
    """What issuance needs, built once per process."""

    keystore: KeyStore
    material: PkiMaterial
    vault: VaultContext
    tsa_url: str = ""
    tsa_roots: tuple[bytes, ...] = ()
    status_capacity: int = DEFAULT_CAPACITY
    _timestamper: pades.AmanatTimeStamper | None = field(default=None, repr=False)
    _http_timestamper: pades.PooledHTTPTimeStamper | None = field(default=None, repr=False)

    @property
    def timestamper(self) -> pades.AmanatTimeStamper:
        """The in-process RFC 3161 TSA (also what /pki/tsa serves)."""
        if self._timestamper is None:
            m = self.material
            self._timestamper = pades.AmanatTimeStamper(m.tsa_key, m.tsa_cert, m.root_cert)
        return self._timestamper

    def forget_timestamper(self) -> None:
        """The TSA changed (signing/archive.py rolled it): make the next time-stamper anew."""
        self._timestamper = None

    @property
    def signing_timestamper(self) -> pades.AmanatTimeStamper | pades.PooledHTTPTimeStamper:
        """The TSA that stamps signatures: AMANAT_TSA_URL when set, else the built-in one."""
        if not self.tsa_url:
            return self.timestamper
        if self._http_timestamper is None:
            self._http_timestamper = pades.PooledHTTPTimeStamper(self.tsa_url)
        return self._http_timestamper


def trust_data(
    session: Session, *, material: PkiMaterial, cert: DepartmentCert, now: dt.datetime
) -> pades.TrustData:
    """Offline validation data for a department certificate: the root, OCSP answers about it and
    about the time-stamping authority, and the root's CRL only where the TSA names no responder
    (see ``stamp_crls``)."""
    tsa = pki.cert_der(material.tsa_cert)
    return pades.TrustData(
        root=pki.cert_der(material.root_cert),
        crls=stamp_crls(session, material=material, tsa_cert=tsa, now=now),
        ocsps=(
            ocsp_for_cert(session, material=material, cert=cert, now=now),
            *filter(None, [ocsp_for_tsa(material, cert_der=tsa, now=now)]),
        ),
        others=(pki.cert_der(material.ocsp_cert), pki.cert_der(material.tsa_cert)),
    )


def registered_name(session: Session, *, cnic: str) -> str:
    """The name registered for a citizen's CNIC (what an officer checks before issuing);
    UnknownCitizen for a CNIC no citizen has, InvalidInput for one that is not a CNIC."""
    return _citizen(session, normalize_cnic(cnic)).display_name


def look_up_holder(
    session: Session, *, cnic: str, department: str, actor: str, now: dt.datetime
) -> str:
    """The registered name an officer asks for before issuing, recorded in the citizen's
    activity (an official read their name: the citizen sees who, and when)."""
    holder = _citizen(session, normalize_cnic(cnic))
    dept = get_department(session, code=department)
    record_event(
        session,
        tag=EventTag.CERTIFICATE_HOLDER_CHECKED,
        actor=actor,
        subject_id=holder.id,
        now=now,
        object_type="department",
        object_id=dept.code,
        details={"department": dept.name, "department_ur": dept.name_ur},
    )
    return holder.display_name


def same_name(registered: str, written: str) -> bool:
    """Whether a certificate's name is the registered one, as a reader would compare them
    (case and runs of spaces aside)."""

    def fold(name: str) -> str:
        return " ".join(name.casefold().split())

    return fold(registered) == fold(written)


def unconfirmed_name(registered: str, fields: Mapping[str, str], *, confirmed: str) -> str | None:
    """The certificate's name when it differs from the registered one and the officer has not
    confirmed that very name (an officer confirms a name, not a form); None when it may go."""
    written = fields.get("name", "")
    if not written or same_name(registered, written) or confirmed == written:
        return None
    return written


def _citizen(session: Session, cnic: str) -> Account:
    account = session.scalar(select(Account).where(Account.login == cnic))
    if account is None or account.role != Role.CITIZEN:
        raise UnknownCitizen("Unknown citizen.", code="citizen_unknown")
    return account


@dataclass(frozen=True)
class Prepared:
    """What signing needs, read from the database; signing itself needs no transaction."""

    request: IssueRequest
    serial: str
    department_code: str
    department_name: str
    department_name_ur: str | None
    holder_id: int
    holder_name: str
    cert_id: int
    cert_der: bytes
    key: pki.SigningKey
    trust: pades.TrustData
    issued_at: dt.datetime
    expires_at: dt.datetime | None
    status_idx: int


@dataclass(frozen=True)
class Signed:
    """A signed certificate PDF that passed its strict offline check, not yet stored."""

    prepared: Prepared
    pdf: bytes


def prepare_issue(
    session: Session, *, ctx: IssuanceContext, request: IssueRequest, now: dt.datetime
) -> Prepared | IssuedCertificate:
    """Read everything issuance needs (or the certificate a batch key already issued)."""
    if request.batch_key:
        existing = session.scalar(
            select(IssuedCertificate).where(IssuedCertificate.batch_key == request.batch_key)
        )
        if existing is not None:
            return existing
    if follow_authorities(session, keystore=ctx.keystore, material=ctx.material):
        ctx.forget_timestamper()  # another process rolled the TSA: stamp with the new one
    department = get_department(session, code=request.department)
    holder = _citizen(session, request.citizen)
    cert_row = active_cert(session, code=department.code)
    key = department_key(session, keystore=ctx.keystore, material=ctx.material, cert=cert_row)
    serial = new_serial()
    while session.get(IssuedCertificate, serial) is not None:  # 2^60 space: practically never
        serial = new_serial()
    valid_years = request.ctype.valid_years
    trust = trust_data(session, material=ctx.material, cert=cert_row, now=now)
    if ctx.tsa_roots:
        trust = dataclasses.replace(trust, extra_roots=ctx.tsa_roots)
    return Prepared(
        request=request,
        serial=serial,
        department_code=department.code,
        department_name=department.name,
        department_name_ur=department.name_ur,
        holder_id=holder.id,
        holder_name=str(request.fields.get("name") or holder.display_name),
        cert_id=cert_row.id,
        cert_der=cert_row.cert_der,
        key=key,
        trust=trust,
        issued_at=now,
        expires_at=now + dt.timedelta(days=365 * valid_years) if valid_years else None,
        status_idx=new_status_index(session, capacity=ctx.status_capacity),
    )


def sign_certificate(ctx: IssuanceContext, prepared: Prepared) -> Signed:
    """Render, sign and strictly check the PDF: the slow part, outside any transaction."""
    p, ctype = prepared, prepared.request.ctype
    base = ctx.material.base_url
    _url, png, _version = qr.build_qr(
        base_url=base,
        key=p.key,
        cert_der=p.cert_der,
        department=p.department_code,
        serial=p.serial,
        type_code=ctype.code,
        holder=p.holder_name,
        fields=p.request.fields,
        display=ctype.display,
        issued_at=p.issued_at,
        expires_at=p.expires_at,
        status_idx=p.status_idx,
    )
    unsigned = render_certificate(
        ctype=ctype,
        department_name=p.department_name,
        department_name_ur=p.department_name_ur,
        fields=p.request.fields,
        serial=p.serial,
        issued_at=p.issued_at,
        qr_png=png,
        verify_url=f"{base}/verify",
    )
    signer = pades.KeySigner(p.key, p.cert_der, [pki.cert_der(ctx.material.root_cert)])
    signed = pades.sign_pdf(
        unsigned,
        signer=signer,
        timestamper=ctx.signing_timestamper,
        trust=p.trust,
        level=p.request.level,
    )
    pades.check_before_release(signed, trust=p.trust, level=p.request.level)
    return Signed(prepared=p, pdf=signed)


def _register_row(signed: Signed, document_id: uuid.UUID) -> IssuedCertificate:
    """The register's row for a signed certificate stored as ``document_id``."""
    p = signed.prepared
    return IssuedCertificate(
        serial=p.serial,
        department_code=p.department_code,
        type_code=p.request.ctype.code,
        holder_id=p.holder_id,
        holder_name=p.holder_name,
        fields=dict(p.request.fields),
        level=p.request.level,
        pdf_sha256=hashlib.sha256(signed.pdf).hexdigest(),
        document_id=document_id,
        department_cert_id=p.cert_id,
        batch_key=p.request.batch_key,
        issued_at=p.issued_at,
        expires_at=p.expires_at,
        status=RegisterStatus.VALID,
        status_idx=p.status_idx,
    )


def record_issue(
    session: Session,
    *,
    ctx: IssuanceContext,
    signed: Signed,
    now: dt.datetime,
    actor: str | None = None,
) -> IssuedCertificate:
    """Store the signed PDF in the holder's vault, register it, write the ledger events (one for
    the holder, one for the department)."""
    p, ctype = signed.prepared, signed.prepared.request.ctype
    who = actor or str(Actor.department(p.department_code))
    document = store_document(
        session,
        ctx=ctx.vault,
        owner_id=p.holder_id,
        src=io.BytesIO(signed.pdf),
        max_bytes=len(signed.pdf),
        now=now,
        source="issued",
        actor=who,
        upload=Upload(
            filename=f"{ctype.code}-{p.serial}.pdf",
            media_type="application/pdf",
            title=ctype.title_en,
            kind=DocumentKind.CERTIFICATE,
        ),
    )
    row = _register_row(signed, document.id)
    session.add(row)
    session.flush()
    details = {
        "serial": p.serial,
        "type": ctype.code,
        "title": ctype.title_en,
        "department": p.department_name,
        "department_ur": p.department_name_ur,
    }
    for subject, object_type, object_id in (
        (p.holder_id, "certificate", p.serial),
        (None, "department", p.department_code),
    ):
        record_event(
            session,
            tag=EventTag.CERTIFICATE_ISSUED,
            actor=who,
            subject_id=subject,
            now=now,
            object_type=object_type,
            object_id=object_id,
            details=details,
        )
    return row


def issue_certificate(
    session: Session,
    *,
    ctx: IssuanceContext,
    request: IssueRequest,
    now: dt.datetime,
    actor: str | None = None,
) -> IssuedCertificate:
    """Issue one certificate in the caller's transaction. Idempotent per ``batch_key``.

    Batches use the three steps separately, so that no transaction stays open while signing.
    """
    prepared = prepare_issue(session, ctx=ctx, request=request, now=now)
    if isinstance(prepared, IssuedCertificate):
        return prepared
    return record_issue(
        session, ctx=ctx, signed=sign_certificate(ctx, prepared), now=now, actor=actor
    )


def _same_request(session: Session, row: IssuedCertificate, request: IssueRequest) -> None:
    """Refuse a key's second use for a different certificate."""
    holder = session.get(Account, row.holder_id)
    same = (
        holder is not None
        and holder.login == request.citizen
        and row.type_code == request.ctype.code
        and row.level == request.level
        and {k: str(v) for k, v in row.fields.items()}
        == {k: str(v) for k, v in request.fields.items()}
    )
    if not same:
        raise IdempotencyKeyReused(
            "Idempotency key reused.", code="idempotency_key_reused", serial=row.serial
        )


def issue_once(
    session: Session,
    *,
    ctx: IssuanceContext,
    request: IssueRequest,
    now: dt.datetime,
    actor: str | None = None,
) -> tuple[IssuedCertificate, bool]:
    """Issue ``request`` once per its key (``request.batch_key``): the certificate and whether it
    is new. A retry with the same key and the same request finds the first certificate, also
    when two arrive at once; the same key with a different request is refused."""
    assert request.batch_key, "issue_once needs the request's key"
    prepared = prepare_issue(session, ctx=ctx, request=request, now=now)
    if isinstance(prepared, IssuedCertificate):
        _same_request(session, prepared, request)
        return prepared, False
    signed = sign_certificate(ctx, prepared)
    try:
        with session.begin_nested():
            row = record_issue(session, ctx=ctx, signed=signed, now=now, actor=actor)
    except IntegrityError:
        # A twin request recorded first (the register's key is unique): its certificate stands.
        first = session.scalar(
            select(IssuedCertificate).where(IssuedCertificate.batch_key == request.batch_key)
        )
        if first is None:
            raise
        _same_request(session, first, request)
        return first, False
    return row, True


def get_certificate(session: Session, *, serial: str) -> IssuedCertificate:
    """A registry entry by serial (typed forms accepted), or CertificateNotFound."""
    row = session.get(IssuedCertificate, normalize_serial(serial))
    if row is None:
        raise CertificateNotFound("No such serial.", code="certificate_not_found")
    return row


def revoke_certificate(
    session: Session,
    *,
    serial: str,
    reason: str,
    now: dt.datetime,
    actor: str = "operator",
    department: str | None = None,
) -> IssuedCertificate:
    """Mark an issued certificate revoked; the holder sees it in their vault and activity."""
    row = get_certificate(session, serial=serial)
    if department is not None and row.department_code != department:
        raise CertificateNotFound("No such serial.", code="certificate_not_found")
    reason = " ".join((reason or "").split())
    if not reason or len(reason) > 200:
        raise InvalidRequest("No reason.", code="revocation_reason", low=1, high=200)
    if row.status == RegisterStatus.REVOKED:
        raise InvalidRequest("Already revoked.", code="already_revoked")
    row.status, row.revoked_at, row.revocation_reason = RegisterStatus.REVOKED, now, reason
    session.flush()
    details = {
        "serial": row.serial,
        "type": row.type_code,
        "reason": reason,
        "title": get_type(row.type_code).title_en,
    }
    record_event(
        session,
        tag=EventTag.CERTIFICATE_REVOKED,
        actor=actor,
        subject_id=row.holder_id,
        now=now,
        object_type="certificate",
        object_id=row.serial,
        details=details,
    )
    return row


def certificates_for_documents(
    session: Session, *, document_ids: list[uuid.UUID]
) -> dict[uuid.UUID, IssuedCertificate]:
    """Registry entries of issued documents (for showing their status in the vault)."""
    if not document_ids:
        return {}
    rows = session.scalars(
        select(IssuedCertificate).where(IssuedCertificate.document_id.in_(document_ids))
    )
    return {row.document_id: row for row in rows if row.document_id is not None}


@dataclass(frozen=True)
class IssuedFacts:
    """What tells one issued document apart from another of the same type (the share form)."""

    serial: str
    type_code: str
    issued_at: dt.datetime
    department: str
    department_ur: str | None


def issued_facts(
    session: Session, *, document_ids: list[uuid.UUID]
) -> dict[uuid.UUID, IssuedFacts]:
    """For each issued document among ``document_ids``: its serial, issuer and issue date."""
    if not document_ids:
        return {}
    rows = session.execute(
        select(IssuedCertificate, Department.name, Department.name_ur)
        .join(Department, Department.code == IssuedCertificate.department_code)
        .where(IssuedCertificate.document_id.in_(document_ids))
    )
    return {
        cert.document_id: IssuedFacts(cert.serial, cert.type_code, cert.issued_at, name, name_ur)
        for cert, name, name_ur in rows
        if cert.document_id is not None
    }


def list_issued(
    session: Session, *, department: str, query: str = "", limit: int = 50
) -> list[IssuedCertificate]:
    """What a department issued, newest first; ``query`` matches a serial or the holder's name."""
    stmt = select(IssuedCertificate).where(IssuedCertificate.department_code == department)
    text = " ".join((query or "").split())[:80]
    if text:
        try:
            serial = normalize_serial(text)
        except CertificateNotFound:
            serial = None
        pattern = "%" + text.replace("\\", "").replace("%", "").replace("_", "") + "%"
        by_name = IssuedCertificate.holder_name.ilike(pattern)
        stmt = stmt.where(or_(by_name, IssuedCertificate.serial == serial) if serial else by_name)
    return list(session.scalars(stmt.order_by(IssuedCertificate.issued_at.desc()).limit(limit)))


def certificate_counts(session: Session) -> dict[tuple[str, str], int]:
    """How many certificates the register holds, by level and status (for the metrics)."""
    counted = session.execute(
        select(IssuedCertificate.level, IssuedCertificate.status, func.count()).group_by(
            IssuedCertificate.level, IssuedCertificate.status
        )
    )
    return {(level, status): n for level, status, n in counted}

"""Is this certificate genuine? The register combined with the verdict (DESIGN 4.3).

``verification`` judges any PDF or QR payload without a database. Here its verdict meets the
register, and the rules that only the register can apply are typed code, one function each:

- a signed file the register does not list is never TOTAL_PASSED (INDETERMINATE);
- a revoked or expired certificate is TOTAL_FAILED, whatever the signature says;
- a QR code whose signed facts differ from the register's record is TOTAL_FAILED;
- after a department key is revoked, a certificate the register recorded before the revocation
  stays valid on every channel (PDF, QR, API, CLI), and one recorded at or after it fails, with
  the date in the reason.

The answer is a frozen :class:`CertificateCheck`; :meth:`CertificateCheck.to_json` is the one
place it becomes JSON.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import threading
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, case, func, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from signing.models import Authority, CertificateCopy, DepartmentCert, IssuedCertificate, KeyStatus
from signing.qr import fields_hash
from signing.types import certificate_types
from verification import (
    FailedSub,
    IndeterminateSub,
    Indication,
    Reason,
    SubIndication,
    Verdict,
    verify_pdf,
)
from verification.qr import QrClaims, TrustEntry, verify_qr


class CertificateStatus(StrEnum):
    """What the register says about a certificate today."""

    VALID = "valid"
    REVOKED = "revoked"
    EXPIRED = "expired"


@dataclass(frozen=True)
class RegistryEntry:
    """The register's record of one certificate, as of the check."""

    serial: str
    status: CertificateStatus
    type_code: str
    type_title: str
    type_title_ur: str
    holder: str
    holder_id: int | None  # None once the holder's account was erased
    department: str
    issued_at: dt.datetime
    fields: Mapping[str, Any]
    fields_hash: bytes
    revoked_at: dt.datetime | None
    revocation_reason: str | None
    # When the department key that signed it was revoked (None while the key is in good standing).
    key_revoked_at: dt.datetime | None

    @classmethod
    def of(cls, row: Any, key_revoked_at: dt.datetime | None, now: dt.datetime) -> RegistryEntry:
        """The entry for a register row (ORM object or a row of its columns) and the moment the
        department key that signed it was revoked (None while it is in good standing)."""
        status = CertificateStatus(row.status)
        if (
            status is CertificateStatus.VALID
            and row.expires_at is not None
            and row.expires_at < now
        ):
            status = CertificateStatus.EXPIRED
        ctype = certificate_types().get(row.type_code)
        return cls(
            serial=row.serial,
            status=status,
            type_code=row.type_code,
            type_title=ctype.title_en if ctype else row.type_code,
            type_title_ur=ctype.title_ur if ctype else "",
            holder=row.holder_name,
            holder_id=row.holder_id,
            department=row.department_code,
            issued_at=row.issued_at,
            fields=dict(row.fields),
            fields_hash=fields_hash(row.fields),
            revoked_at=row.revoked_at,
            revocation_reason=row.revocation_reason,
            key_revoked_at=key_revoked_at,
        )

    @property
    def signed_with_a_compromised_key(self) -> bool:
        """Recorded at or after its department key's revocation (so not trusted on any channel)."""
        return self.key_revoked_at is not None and self.issued_at >= self.key_revoked_at

    def to_json(self) -> dict[str, Any]:
        """The ``certificate`` part of the verdict JSON."""
        return {
            "serial": self.serial,
            "status": self.status.value,
            "type": self.type_title,
            "holder": self.holder,
            "department": self.department,
            "issued_at": self.issued_at.isoformat(),
            "fields": dict(self.fields),
        }


@dataclass(frozen=True)
class CertificateCheck:
    """The answer to "is this certificate genuine?": the verdict after the register's rules, the
    register's entry (None when it has none), and for a QR code its signed claims."""

    verdict: Verdict
    certificate: RegistryEntry | None
    claims: QrClaims | None = None
    file_sha256: str | None = None

    @property
    def exit_code(self) -> int:
        """CLI exit status: 0 passed, 1 failed, 2 indeterminate."""
        return {Indication.TOTAL_PASSED: 0, Indication.TOTAL_FAILED: 1}.get(
            self.verdict.indication, 2
        )

    def to_json(self, text: Callable[[Reason], str] | None = None) -> dict[str, Any]:
        """The verdict JSON of DESIGN 4.3, register facts (and QR claims) included; ``text``
        says each reason in the reader's language (web/messages.py)."""
        out = self.verdict.to_json(text)
        out["certificate"] = self.certificate.to_json() if self.certificate else None
        if self.claims is not None:
            out["claims"] = {
                "department": self.claims.department,
                "serial": self.claims.serial,
                "type": self.claims.type_code,
                "holder": self.claims.holder,
                "fields": self.claims.fields,
                "issued_at": self.claims.issued_at.isoformat(),
            }
        return out


def _rejudge(
    verdict: Verdict, indication: Indication, sub: SubIndication | None, reason: Reason
) -> Verdict:
    return dataclasses.replace(
        verdict, indication=indication, sub_indication=sub, reasons=(reason,)
    )


def _compromised(verdict: Verdict, entry: RegistryEntry) -> Verdict:
    assert entry.key_revoked_at is not None
    return _rejudge(
        verdict,
        Indication.TOTAL_FAILED,
        FailedSub.REVOKED,
        Reason.of(
            "register_key_compromised", at=entry.key_revoked_at.isoformat(timespec="minutes")
        ),
    )


def _revoked(verdict: Verdict, entry: RegistryEntry) -> Verdict:
    assert entry.revoked_at is not None
    return _rejudge(
        verdict,
        Indication.TOTAL_FAILED,
        FailedSub.REVOKED,
        Reason.of(
            "register_revoked",
            date=entry.revoked_at.date().isoformat(),
            reason=entry.revocation_reason or "",
        ),
    )


def trust_roots(session: Session) -> list[bytes]:
    """The deployment root (empty before ``amanat init`` created the PKI)."""
    root = session.get(Authority, "root")
    return [root.cert_der] if root is not None else []


@dataclass(frozen=True)
class TrustSnapshot:
    """The department certificates as of one version of the database, parsed once."""

    version: tuple[Any, ...]
    entries: tuple[TrustEntry, ...]
    # Department certificate id -> since when it is held compromised: its invalidity date, else
    # its revocation (revoked ones only).
    key_revoked_at: Mapping[int, dt.datetime]


# One snapshot per engine (a process may serve several databases: tests, the CLI).
_SNAPSHOTS: weakref.WeakKeyDictionary[Engine, TrustSnapshot] = weakref.WeakKeyDictionary()
_SNAPSHOTS_LOCK = threading.Lock()


_CERTS = DepartmentCert.__table__
_REGISTER = IssuedCertificate.__table__
_COPIES = CertificateCopy.__table__
# The version of the department certificates: certificates are only ever added (the id grows)
# or revoked (the revoked count grows), so the triple changes with every change a verifier must
# see, in every worker and on every node, without any writer having to remember to bump a counter.
_VERSION = select(
    func.count(_CERTS.c.id).label("v_count"),
    func.max(_CERTS.c.id).label("v_max"),
    func.sum(case((_CERTS.c.status == KeyStatus.REVOKED, 1), else_=0)).label("v_revoked"),
).subquery("v")


def _lookup_by(column: Any) -> Any:
    """One statement, one row: the version, and the register's row (NULLs when there is none)."""
    return _lookup_on(column == bindparam("value"))


def _lookup_on(condition: Any) -> Any:
    return select(_VERSION, _REGISTER).select_from(_VERSION.outerjoin(_REGISTER, condition))


# Built once: on the hot path a statement costs more to build than to run.
_BY_SERIAL = _lookup_by(_REGISTER.c.serial)
# The file as issued, or a copy renewed since with a new archive time-stamp (signing/archive.py).
_BY_SHA256 = _lookup_on(
    or_(
        _REGISTER.c.pdf_sha256 == bindparam("value"),
        _REGISTER.c.serial
        == select(_COPIES.c.serial).where(_COPIES.c.sha256 == bindparam("value")).scalar_subquery(),
    )
)
_VERSION_ONLY = select(_VERSION)


def _version_of(row: Any) -> tuple[int, int | None, int]:
    return (int(row.v_count), row.v_max, int(row.v_revoked or 0))


def _engine(session: Session) -> Engine:
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    return engine


def _snapshot_at(session: Session, version: tuple[Any, ...]) -> TrustSnapshot:
    """The cached snapshot when it is of ``version``, else a fresh one (then cached)."""
    cached = _SNAPSHOTS.get(_engine(session))
    if cached is not None and cached.version == version:
        return cached
    rows = list(session.scalars(select(DepartmentCert).order_by(DepartmentCert.id)))
    snapshot = TrustSnapshot(
        version=version,
        entries=tuple(
            TrustEntry(
                department=c.department_code,
                cert_der=c.cert_der,
                revoked=c.status == KeyStatus.REVOKED,
            )
            for c in rows
        ),
        key_revoked_at={c.id: since for c in rows if (since := c.compromised_since) is not None},
    )
    with _SNAPSHOTS_LOCK:
        _SNAPSHOTS[_engine(session)] = snapshot
    return snapshot


def trust_snapshot(session: Session) -> TrustSnapshot:
    """The department certificates for QR checks, cached per process and database: one
    version query per call, and a reload only when a certificate was added or revoked."""
    row = session.connection().execute(_VERSION_ONLY).one()
    return _snapshot_at(session, _version_of(row))


def _lookup(session: Session, query: Any, value: str) -> tuple[tuple[Any, ...], Any | None]:
    """(the version of the department certificates, the register's row or None): one query."""
    row = session.connection().execute(query, {"value": value}).one()
    return _version_of(row), (row if row.serial is not None else None)


def _entry(row: Any | None, trust: TrustSnapshot, now: dt.datetime) -> RegistryEntry | None:
    if row is None:
        return None
    return RegistryEntry.of(row, trust.key_revoked_at.get(row.department_cert_id), now)


def judge_pdf(verdict: Verdict, entry: RegistryEntry | None) -> Verdict:
    """The register's rules over a PDF verdict."""
    if entry is None:
        if not verdict.passed:
            return verdict
        return _rejudge(
            verdict,
            Indication.INDETERMINATE,
            IndeterminateSub.NO_CERTIFICATE_CHAIN_FOUND,
            Reason.of("register_unknown_file"),
        )
    if (
        entry.status is CertificateStatus.REVOKED
        and verdict.indication is not Indication.TOTAL_FAILED
    ):
        return _revoked(verdict, entry)
    if not verdict.passed:
        return verdict
    if entry.signed_with_a_compromised_key:
        return _compromised(verdict, entry)
    if entry.status is CertificateStatus.EXPIRED:
        return _rejudge(
            verdict, Indication.TOTAL_FAILED, FailedSub.EXPIRED, Reason.of("register_expired")
        )
    return verdict


def check_pdf(session: Session, *, data: bytes, now: dt.datetime) -> CertificateCheck:
    """Judge a PDF and look its SHA-256 up in the register (both once)."""
    digest = hashlib.sha256(data).hexdigest()
    verdict = verify_pdf(data, trust_roots=trust_roots(session), now=now)
    version, row = _lookup(session, _BY_SHA256, digest)
    entry = _entry(row, _snapshot_at(session, version), now)
    return CertificateCheck(judge_pdf(verdict, entry), entry, file_sha256=digest)


def _constraint(verdict: Verdict, code: str) -> Verdict:
    # Amanat fails harder than ETSI here on purpose: a signed code that the register contradicts
    # is a forgery attempt, so the constraint failure is TOTAL_FAILED, not INDETERMINATE.
    return _rejudge(
        verdict, Indication.TOTAL_FAILED, IndeterminateSub.SIG_CONSTRAINTS_FAILURE, Reason.of(code)
    )


def judge_qr(verdict: Verdict, claims: QrClaims, entry: RegistryEntry | None) -> Verdict:
    """The register's rules over an offline QR verdict whose signature checked out."""
    if entry is None:
        return _constraint(verdict, "register_unknown_serial")
    if verdict.indication is Indication.TOTAL_FAILED:
        return verdict
    if entry.fields_hash != claims.fields_hash or entry.department != claims.department:
        return _constraint(verdict, "register_mismatch")
    if entry.status is CertificateStatus.REVOKED:
        return _revoked(verdict, entry)
    if entry.signed_with_a_compromised_key:
        return _compromised(verdict, entry)
    if verdict.sub_indication is IndeterminateSub.REVOKED_NO_POE and entry.key_revoked_at is None:
        # Signed by a revoked key, but the register's certificate was not signed by it.
        return _rejudge(
            verdict,
            Indication.TOTAL_FAILED,
            FailedSub.REVOKED,
            Reason.of("register_revoked_key_code"),
        )
    return _rejudge(
        verdict,
        Indication.TOTAL_PASSED,
        None,
        Reason.of("register_qr_valid"),
    )


def check_qr(session: Session, *, text: str, now: dt.datetime) -> CertificateCheck:
    """Check a scanned QR (URL or payload) offline, then against the register."""
    # Optimistic: check against the cached trust list, then read the register's row and the
    # trust version in one query; only when the version moved is the check done again.
    trust = _SNAPSHOTS.get(_engine(session)) or trust_snapshot(session)
    checked = verify_qr(text, trust_list=trust.entries, now=now)
    serial = checked.claims.serial if checked.claims else ""
    version, row = _lookup(session, _BY_SERIAL, serial)
    if version != trust.version:
        trust = _snapshot_at(session, version)
        checked = verify_qr(text, trust_list=trust.entries, now=now)
        if checked.claims is not None and checked.claims.serial != serial:
            version, row = _lookup(session, _BY_SERIAL, checked.claims.serial)
    if checked.claims is None:
        return CertificateCheck(checked.verdict, None)
    entry = _entry(row, trust, now)
    return CertificateCheck(judge_qr(checked.verdict, checked.claims, entry), entry, checked.claims)

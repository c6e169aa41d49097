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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import EventTag, record_event, tally
from signing.models import Authority, DepartmentCert, IssuedCertificate
from signing.qr import fields_hash
from signing.types import certificate_types
from verification import Indication, Reason, SubIndication, Verdict, verify_pdf
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
    holder_id: int
    department: str
    issued_at: dt.datetime
    fields: Mapping[str, Any]
    fields_hash: bytes
    revoked_at: dt.datetime | None
    revocation_reason: str | None
    # When the department key that signed it was revoked (None while the key is in good standing).
    key_revoked_at: dt.datetime | None

    @classmethod
    def of(
        cls, row: IssuedCertificate, key: DepartmentCert | None, now: dt.datetime
    ) -> RegistryEntry:
        """The entry for a register row (and the department certificate that signed it)."""
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
            key_revoked_at=key.revoked_at if key is not None and key.status == "revoked" else None,
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
        SubIndication.REVOKED,
        Reason.of(
            "register_key_compromised", at=entry.key_revoked_at.isoformat(timespec="minutes")
        ),
    )


def _revoked(verdict: Verdict, entry: RegistryEntry) -> Verdict:
    assert entry.revoked_at is not None
    return _rejudge(
        verdict,
        Indication.TOTAL_FAILED,
        SubIndication.REVOKED,
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


def trust_entries(session: Session) -> list[TrustEntry]:
    """Every department certificate, for QR payload checks."""
    return [
        TrustEntry(department=c.department_code, cert_der=c.cert_der, revoked=c.status == "revoked")
        for c in session.scalars(select(DepartmentCert))
    ]


def _entry(
    session: Session, row: IssuedCertificate | None, now: dt.datetime
) -> RegistryEntry | None:
    if row is None:
        return None
    return RegistryEntry.of(row, session.get(DepartmentCert, row.department_cert_id), now)


def judge_pdf(verdict: Verdict, entry: RegistryEntry | None) -> Verdict:
    """The register's rules over a PDF verdict."""
    if entry is None:
        if not verdict.passed:
            return verdict
        return _rejudge(
            verdict,
            Indication.INDETERMINATE,
            SubIndication.NO_CERTIFICATE_CHAIN_FOUND,
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
            verdict, Indication.TOTAL_FAILED, SubIndication.EXPIRED, Reason.of("register_expired")
        )
    return verdict


def check_pdf(session: Session, *, data: bytes, now: dt.datetime) -> CertificateCheck:
    """Judge a PDF and look its SHA-256 up in the register (both once)."""
    digest = hashlib.sha256(data).hexdigest()
    verdict = verify_pdf(data, trust_roots=trust_roots(session), now=now)
    row = session.scalar(select(IssuedCertificate).where(IssuedCertificate.pdf_sha256 == digest))
    entry = _entry(session, row, now)
    return CertificateCheck(judge_pdf(verdict, entry), entry, file_sha256=digest)


def _constraint(verdict: Verdict, code: str) -> Verdict:
    # Amanat fails harder than ETSI here on purpose: a signed code that the register contradicts
    # is a forgery attempt, so the constraint failure is TOTAL_FAILED, not INDETERMINATE.
    return _rejudge(
        verdict, Indication.TOTAL_FAILED, SubIndication.SIG_CONSTRAINTS_FAILURE, Reason.of(code)
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
    if verdict.sub_indication is SubIndication.REVOKED_NO_POE and entry.key_revoked_at is None:
        # Signed by a revoked key, but the register's certificate was not signed by it.
        return _rejudge(
            verdict,
            Indication.TOTAL_FAILED,
            SubIndication.REVOKED,
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
    checked = verify_qr(text, trust_list=trust_entries(session), now=now)
    if checked.claims is None:
        return CertificateCheck(checked.verdict, None)
    entry = _entry(session, session.get(IssuedCertificate, checked.claims.serial), now)
    return CertificateCheck(judge_qr(checked.verdict, checked.claims, entry), entry, checked.claims)


def record_verification(
    session: Session,
    *,
    check: CertificateCheck,
    actor: str,
    channel: str,
    now: dt.datetime,
    organisation: str | None = None,
) -> None:
    """A ledger event for the holder when their certificate is verified (no file is kept).

    ``organisation`` is the verifying organisation's name when it identified itself (API key).
    Folded (audit.tally): the first check per certificate, verifier and day is an event, later
    ones that day only raise its count, so nobody can fill a citizen's ledger by verifying.
    """
    entry = check.certificate
    if entry is None:
        return
    key = f"verified:{entry.serial}:{actor}"
    if tally.count(session, key=key, now=now) > 1:
        return
    record_event(
        session,
        tag=EventTag.CERTIFICATE_VERIFIED,
        actor=actor,
        subject_id=entry.holder_id,
        now=now,
        object_type="certificate",
        object_id=entry.serial,
        details={
            "serial": entry.serial,
            "title": entry.type_title,
            "channel": channel,
            "indication": check.verdict.indication.value,
            "tally": key,
            **({"organisation": organisation} if organisation else {}),
        },
    )

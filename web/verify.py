"""Combining a cryptographic verdict with Amanat's registry (DESIGN 4.3 "certificate" part).

``verification`` judges any PDF without a database; here the signed file's SHA-256 is looked up in
the registry, and a revoked, expired or unknown certificate can never be TOTAL_PASSED.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import EventTag, record_event
from signing.models import Authority, DepartmentCert, IssuedCertificate
from signing.qr import fields_hash
from signing.types import certificate_types
from verification import Indication, SubIndication, Verdict, verify_pdf
from verification.qr import TrustEntry, verify_qr


def trust_roots(session: Session) -> list[bytes]:
    """The deployment root (empty before ``amanat init`` created the PKI)."""
    root = session.get(Authority, "root")
    return [root.cert_der] if root is not None else []


def _mark_revoked(result: dict[str, Any], row: IssuedCertificate) -> None:
    """The register says revoked: the answer is TOTAL_FAILED / REVOKED, with date and reason."""
    assert row.revoked_at is not None
    result.update(
        indication=Indication.TOTAL_FAILED.value,
        sub_indication=SubIndication.REVOKED.value,
        reasons=[
            f"The department revoked this certificate on {row.revoked_at:%Y-%m-%d}: "
            f"{row.revocation_reason}"
        ],
    )


def verify_document(session: Session, *, data: bytes, now: dt.datetime) -> dict[str, Any]:
    """The verdict JSON of DESIGN 4.3 for a PDF, registry facts included."""
    verdict = verify_pdf(data, trust_roots=trust_roots(session), now=now)
    row = session.scalar(
        select(IssuedCertificate).where(
            IssuedCertificate.pdf_sha256 == hashlib.sha256(data).hexdigest()
        )
    )
    result = verdict.to_json()
    if row is None:
        result["certificate"] = None
        if verdict.passed:
            result.update(
                indication=Indication.INDETERMINATE.value,
                sub_indication=SubIndication.NO_CERTIFICATE_CHAIN_FOUND.value,
                reasons=[
                    "The signature is valid, but this file is not a certificate in the register."
                ],
            )
        return result
    status = row.status
    if status == "valid" and row.expires_at is not None and row.expires_at < now:
        status = "expired"
    ctype = certificate_types().get(row.type_code)
    result["certificate"] = {
        "serial": row.serial,
        "status": status,
        "type": ctype.title_en if ctype else row.type_code,
        "holder": row.holder_name,
        "department": row.department_code,
        "issued_at": row.issued_at.isoformat(),
        "fields": {k: v for k, v in row.fields.items()},
    }
    if status == "revoked" and verdict.indication is not Indication.TOTAL_FAILED:
        _mark_revoked(result, row)
    elif status == "expired" and verdict.passed:
        result.update(
            indication=Indication.TOTAL_FAILED.value,
            sub_indication=SubIndication.EXPIRED.value,
            reasons=["This certificate has expired."],
        )
    return result


def trust_entries(session: Session) -> list[TrustEntry]:
    """Every department certificate, for QR payload checks."""
    return [
        TrustEntry(department=c.department_code, cert_der=c.cert_der, revoked=c.status == "revoked")
        for c in session.scalars(select(DepartmentCert))
    ]


def verify_qr_code(session: Session, *, text: str, now: dt.datetime) -> dict[str, Any]:
    """Check a scanned QR (URL or payload) offline, then against the registry."""
    checked = verify_qr(text, trust_list=trust_entries(session), now=now)
    result = checked.verdict.to_json()
    result["certificate"] = None
    claims = checked.claims
    if claims is None:
        return result
    result["claims"] = {
        "department": claims.department,
        "serial": claims.serial,
        "type": claims.type_code,
        "holder": claims.holder,
        "fields": claims.fields,
        "issued_at": claims.issued_at.isoformat(),
    }
    row = session.get(IssuedCertificate, claims.serial)
    if row is None:
        result.update(
            indication=Indication.TOTAL_FAILED.value,
            sub_indication=SubIndication.SIG_CONSTRAINTS_FAILURE.value,
            reasons=["The code is signed, but its serial is not in the register."],
        )
        return result
    ctype = certificate_types().get(row.type_code)
    result["certificate"] = {
        "serial": row.serial,
        "status": row.status,
        "holder": row.holder_name,
        "type": ctype.title_en if ctype else row.type_code,
        "department": row.department_code,
    }
    if result["indication"] == Indication.TOTAL_FAILED.value:
        return result
    if fields_hash(row.fields) != claims.fields_hash or row.department_code != claims.department:
        result.update(
            indication=Indication.TOTAL_FAILED.value,
            sub_indication=SubIndication.SIG_CONSTRAINTS_FAILURE.value,
            reasons=["The code does not match the register's record of this certificate."],
        )
    elif row.status == "revoked":
        _mark_revoked(result, row)
    else:
        result.update(
            indication=Indication.TOTAL_PASSED.value,
            sub_indication=None,
            reasons=["The code is genuine and the register lists the certificate as valid."],
        )
    return result


def record_verification(
    session: Session,
    *,
    result: dict[str, Any],
    actor: str,
    channel: str,
    now: dt.datetime,
    organisation: str | None = None,
) -> None:
    """A ledger event for the holder each time their certificate is verified (no file is kept).

    ``organisation`` is the verifying organisation's name when it identified itself (API key).
    """
    cert = result.get("certificate")
    if not cert:
        return
    row = session.get(IssuedCertificate, cert["serial"])
    if row is None:
        return
    record_event(
        session,
        tag=EventTag.CERTIFICATE_VERIFIED,
        actor=actor,
        subject_id=row.holder_id,
        now=now,
        object_type="certificate",
        object_id=row.serial,
        details={
            "serial": row.serial,
            "title": cert["type"],
            "channel": channel,
            "indication": result["indication"],
            **({"organisation": organisation} if organisation else {}),
        },
    )


def exit_code(result: dict[str, Any]) -> int:
    """CLI exit status: 0 passed, 1 failed, 2 indeterminate."""
    return {"TOTAL_PASSED": 0, "TOTAL_FAILED": 1}.get(str(result["indication"]), 2)


__all__ = [
    "Verdict",
    "exit_code",
    "record_verification",
    "trust_entries",
    "trust_roots",
    "verify_document",
    "verify_qr_code",
]

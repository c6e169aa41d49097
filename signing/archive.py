"""Archives that outlive their keys: PAdES B-LTA's archive time-stamp chain, renewed in time.

A B-LTA certificate stays verifiable only as long as the certificate of its newest document
time-stamp. A periodic job (web/tasks.py) looks at every valid B-LTA certificate whose newest
time-stamp ends within the margin (AMANAT_ARCHIVE_MARGIN_DAYS) or uses a weakened digest: it
rolls the deployment's time-stamping authority first when that one ends within the margin too,
then validates the newest time-stamp, adds its validation data to the file and a new document
time-stamp over everything. The renewed file becomes the citizen's newest version; the register
keeps the hash of every copy, so a copy handed out before still verifies as genuine.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from keys import pki
from signing import pades
from signing.errors import SigningFailed
from signing.issuance import IssuanceContext
from signing.models import CertificateCopy, IssuedCertificate, RegisterStatus
from signing.pki import PkiMaterial, fresh_responder, fresh_tsa, ocsp_for_tsa, stamp_crls
from vault.errors import DocumentUnreadable
from vault.service import open_document, renew_issued_copy

ACTOR = "deployment:archive"
DEFAULT_MARGIN = dt.timedelta(days=365)
# Certificates looked at per transaction by the periodic job.
BATCH = 50
# A file that could not be renewed is tried again after this.
_RETRY = dt.timedelta(days=1)
_log = logging.getLogger("amanat.archive")


@dataclass(frozen=True)
class ArchiveRun:
    """What one run of the job did."""

    checked: int
    renewed: int
    failed: int = 0


def _due(session: Session, *, now: dt.datetime, margin: dt.timedelta, limit: int) -> list[str]:
    """Serials to look at: valid B-LTA certificates never looked at, or ending within margin."""
    return list(
        session.scalars(
            select(IssuedCertificate.serial)
            .where(
                IssuedCertificate.level == "B-LTA",
                IssuedCertificate.status == RegisterStatus.VALID,
                IssuedCertificate.document_id.is_not(None),
                IssuedCertificate.holder_id.is_not(None),  # an erased holder's copy is gone
                or_(
                    IssuedCertificate.archive_expires_at.is_(None),
                    IssuedCertificate.archive_expires_at <= now + margin,
                ),
            )
            .order_by(IssuedCertificate.archive_expires_at.is_not(None), IssuedCertificate.serial)
            .limit(limit)
        )
    )


def _current_copy(
    session: Session, ctx: IssuanceContext, row: IssuedCertificate, now: dt.datetime
) -> bytes:
    assert row.document_id is not None
    assert row.holder_id is not None
    opened = open_document(
        session,
        ctx=ctx.vault,
        owner_id=row.holder_id,
        document_id=row.document_id,
        purpose="archive",
        now=now,
    )
    with opened.file as fh:
        return fh.read()


def renew_archive(
    session: Session,
    *,
    ctx: IssuanceContext,
    material: PkiMaterial,
    serial: str,
    now: dt.datetime,
    margin: dt.timedelta = DEFAULT_MARGIN,
) -> bool:
    """Renew one certificate's archive time-stamp when it is due; whether it was renewed."""
    row = session.get(IssuedCertificate, serial)
    assert row is not None
    pdf = _current_copy(session, ctx, row, now)
    newest = pades.newest_stamp(pdf)
    if newest is None or not newest.due(now=now, margin=margin):
        row.archive_expires_at = _next_look(newest, now, margin)
        return False
    timestamper = pades.AmanatTimeStamper(
        material.tsa_key, material.tsa_cert, material.root_cert, at=now
    )
    trust = _stamp_trust(session, material, newest, now)
    renewed = pades.add_archive_timestamp(pdf, timestamper=timestamper, trust=trust, at=now)
    assert row.document_id is not None
    assert row.holder_id is not None
    version = renew_issued_copy(
        session,
        ctx=ctx.vault,
        owner_id=row.holder_id,
        document_id=row.document_id,
        data=renewed,
        now=now,
        actor=ACTOR,
        details={"type": row.type_code, "serial": row.serial},
    )
    session.add(
        CertificateCopy(
            sha256=hashlib.sha256(renewed).hexdigest(),
            serial=row.serial,
            version=version.version,
            created_at=now,
        )
    )
    row.archive_expires_at = _next_look(pades.newest_stamp(renewed), now, margin)
    session.flush()
    return True


def _stamp_trust(
    session: Session, material: PkiMaterial, newest: pades.NewestStamp, now: dt.datetime
) -> pades.TrustData:
    """What validates the newest time-stamp and the one added today, and so goes into the file's
    DSS: OCSP answers about their TSA certificates, the root's CRL only for a TSA that names no
    responder (signing.pki.stamp_crls says why)."""
    today = pki.cert_der(material.tsa_cert)
    answers = [ocsp_for_tsa(material, cert_der=c, now=now) for c in {newest.tsa_cert, today}]
    if None in answers:
        raise SigningFailed("the newest time-stamp is not the deployment's")
    return pades.TrustData(
        root=pki.cert_der(material.root_cert),
        crls=stamp_crls(session, material=material, tsa_cert=newest.tsa_cert, now=now),
        ocsps=tuple(a for a in answers if a is not None),
        others=(pki.cert_der(material.ocsp_cert), today),
    )


def _next_look(
    newest: pades.NewestStamp | None, now: dt.datetime, margin: dt.timedelta
) -> dt.datetime:
    """When the job looks at a file again: when its newest time-stamp ends. A file without one,
    or one still within the margin right after renewal (a margin longer than a TSA certificate
    lasts), is looked at again in a day, so the job never renews the same file in a loop."""
    if newest is None or newest.ends <= now + margin:
        return now + margin + _RETRY
    return newest.ends


def renew_archives(
    session: Session,
    *,
    ctx: IssuanceContext,
    now: dt.datetime,
    margin: dt.timedelta = DEFAULT_MARGIN,
    limit: int = BATCH,
) -> ArchiveRun:
    """One run of the periodic job: up to ``limit`` certificates looked at, renewed when due."""
    # The responder is rolled whatever is due: its answers validate time-stamps and sign the
    # status lists, and an expired one would stop both.
    fresh_responder(session, keystore=ctx.keystore, material=ctx.material, now=now)
    serials = _due(session, now=now, margin=margin, limit=limit)
    if not serials:
        return ArchiveRun(0, 0)
    if fresh_tsa(session, keystore=ctx.keystore, material=ctx.material, now=now, margin=margin):
        ctx.forget_timestamper()
    material = ctx.material
    renewed = failed = 0
    for serial in serials:
        try:
            with session.begin_nested():
                renewed += renew_archive(
                    session, ctx=ctx, material=material, serial=serial, now=now, margin=margin
                )
        except (SigningFailed, DocumentUnreadable) as exc:
            # One damaged file must not hold the others back: it is tried again in a day, and
            # the log says which it is.
            failed += 1
            _log.warning("archive renewal failed", extra={"serial": serial, "error": str(exc)})
            row = session.get(IssuedCertificate, serial)
            assert row is not None
            row.archive_expires_at = now + margin + _RETRY
    session.flush()
    return ArchiveRun(len(serials), renewed, failed)

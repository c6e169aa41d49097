"""The deployment's signed status list of every issued certificate (verification/status_list.py).

Each certificate draws a random index when it is issued; its QR code names the index and the
list's URI. The list is renewed by the task engine (every minute it looks; it signs again when
the newest list is an hour old, or older than a revocation) and is valid for a day by default,
so an offline verifier knows how fresh its copy is and stops trusting it when it expires.
"""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from keys import cose, pki
from keys.stores import KeyStore
from signing.models import IssuedCertificate, RegisterStatus, StatusListToken
from signing.pki import PkiMaterial, follow_authorities
from verification import status_list as tsl

PATH = "/api/v1/status-list"
# 2^24 entries: 2 MiB of bits, about 2 KiB compressed while few are revoked. Indexes are drawn at
# random, so a deployment that nears half of this should raise AMANAT_STATUS_LIST_CAPACITY
# (raising is safe; the list always reaches the highest index in use).
DEFAULT_CAPACITY = 1 << 24
# A list is signed again when it is this share of its validity old (one hour of a day).
_RENEW_SHARE = 24
# A request signs the list itself when a revocation waited this long for the task engine.
_REVOCATION_GRACE = dt.timedelta(minutes=2)


def list_uri(base_url: str) -> str:
    """The URI a certificate's QR code names for its status (where the list is published)."""
    return base_url.rstrip("/") + PATH


def new_status_index(session: Session, *, capacity: int = DEFAULT_CAPACITY) -> int:
    """A random index no certificate holds (a race for the same one fails the unique key)."""
    while True:
        idx = secrets.randbelow(capacity)
        taken = session.scalar(
            select(IssuedCertificate.serial).where(IssuedCertificate.status_idx == idx)
        )
        if taken is None:
            return idx


def build_status_list(
    session: Session,
    *,
    material: PkiMaterial,
    now: dt.datetime,
    valid_for: dt.timedelta,
    capacity: int = DEFAULT_CAPACITY,
) -> StatusListToken:
    """Sign a new list of every certificate's status as of ``now``; older lists are dropped."""
    revoked = {
        idx
        for idx in session.scalars(
            select(IssuedCertificate.status_idx).where(
                IssuedCertificate.status == RegisterStatus.REVOKED,
                IssuedCertificate.status_idx.is_not(None),
            )
        )
        if idx is not None
    }
    highest = session.scalar(select(func.max(IssuedCertificate.status_idx)))
    size = max(capacity, (highest or 0) + 1)
    claims = tsl.claims_for(
        uri=list_uri(material.base_url),
        revoked=revoked,
        size=size,
        issued_at=now,
        valid_for=valid_for,
    )
    ocsp_der = pki.cert_der(material.ocsp_cert)
    token = cose.sign_message(
        material.ocsp_key,
        cert_der=ocsp_der,
        claims=claims,
        header={tsl.HEADER_TYP: tsl.MEDIA_TYPE, tsl.HEADER_X5CHAIN: ocsp_der},
    )
    session.execute(delete(StatusListToken))
    row = StatusListToken(issued_at=now, expires_at=now + valid_for, token=token)
    session.add(row)
    session.flush()
    return row


def _signed_by(row: StatusListToken, material: PkiMaterial) -> bool:
    """Whether ``row`` names today's responder as its signer: a list signed before the responder
    was rolled is signed again at once, since the trust list names the new one from the roll."""
    header = cose.read_message(row.token).header
    return bool(header.get(tsl.HEADER_X5CHAIN) == pki.cert_der(material.ocsp_cert))


def newest_status_list(session: Session) -> StatusListToken | None:
    """The list published now, if any."""
    return session.scalar(select(StatusListToken).order_by(StatusListToken.id.desc()).limit(1))


def needs_renewal(
    session: Session, row: StatusListToken | None, *, now: dt.datetime, valid_for: dt.timedelta
) -> bool:
    """Whether ``row`` is missing, due (an hour of a day's validity old), or older than the
    newest revocation."""
    if row is None or now - row.issued_at >= valid_for / _RENEW_SHARE:
        return True
    newest_revocation = _newest_revocation(session)
    return newest_revocation is not None and newest_revocation >= row.issued_at


def _newest_revocation(session: Session) -> dt.datetime | None:
    """When the register last revoked a certificate (indexed: one read)."""
    return session.scalar(select(func.max(IssuedCertificate.revoked_at)))


def renew_status_list(
    session: Session,
    *,
    material: PkiMaterial,
    now: dt.datetime,
    valid_for: dt.timedelta,
    capacity: int = DEFAULT_CAPACITY,
    keystore: KeyStore | None = None,
) -> StatusListToken:
    """The list to publish: the newest one, or a new one when it is due (the periodic job).
    With the key store, a responder rolled by another process is followed before signing, so
    the list's signer is the one the trust list names."""
    if keystore is not None:
        follow_authorities(session, keystore=keystore, material=material)
    row = newest_status_list(session)
    if (
        row is not None
        and _signed_by(row, material)
        and not needs_renewal(session, row, now=now, valid_for=valid_for)
    ):
        return row
    return build_status_list(
        session, material=material, now=now, valid_for=valid_for, capacity=capacity
    )


def servable(
    session: Session, row: StatusListToken | None, *, now: dt.datetime, valid_for: dt.timedelta
) -> bool:
    """Whether ``row`` may be served as it is: it has half its validity left and is not behind
    a revocation by more than two minutes. The task engine renews it within a minute of one and
    hourly otherwise; past that no worker runs, and the request signs a new list itself."""
    if row is None or row.expires_at - now < valid_for / 2:
        return False
    newest_revocation = _newest_revocation(session)
    if newest_revocation is None or newest_revocation < row.issued_at:
        return True
    return bool(newest_revocation > now - _REVOCATION_GRACE)

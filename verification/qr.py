"""Checking a certificate QR payload (DESIGN 4.2) offline against a trust list.

The payload is ``AM1.`` + base64url(COSE_Sign1) over CWT claims, signed with a department key
named by ``kid``. Every certificate in the trust list with that kid is tried (kids are short, so
they can collide). Without the registry, the answer says plainly that revocation was not checked.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from keys import cose, pki
from keys.cose import (
    CLAIM_EXP,
    CLAIM_F,
    CLAIM_H,
    CLAIM_IAT,
    CLAIM_ISS,
    CLAIM_SN,
    CLAIM_ST,
    CLAIM_SUB,
    CLAIM_TYP,
    PREFIX,
)
from verification.status_list import StatusList, StatusListRejected, read_status_list
from verification.verdict import (
    FailedSub,
    IndeterminateSub,
    Indication,
    Reason,
    SubIndication,
    Verdict,
)

MAX_PAYLOAD_CHARS = 4096


@dataclass(frozen=True)
class TrustEntry:
    """A department certificate the verifier trusts for QR payloads."""

    department: str
    cert_der: bytes
    revoked: bool = False

    # Cached: a trust list kept per process (signing.check.trust_snapshot) parses each
    # certificate once, not once per scanned code.
    @functools.cached_property
    def kid(self) -> bytes:
        """DESIGN 4.2 key id."""
        return hashlib.sha256(self.cert_der).digest()[:8]

    @functools.cached_property
    def public_key(self) -> pki.PublicKey:
        """The certificate's public key."""
        return pki.load_cert(self.cert_der).public_key()  # type: ignore[return-value]


@dataclass(frozen=True)
class QrClaims:
    """The signed facts a QR code carries."""

    department: str
    serial: str
    type_code: str
    holder: str
    fields: dict[str, str]
    fields_hash: bytes
    issued_at: dt.datetime
    expires_at: dt.datetime | None
    # The index in the deployment's status list; None in codes made before status lists.
    status_idx: int | None = None


@dataclass(frozen=True)
class QrResult:
    """A verdict about the payload, and its claims when the signature checked out."""

    verdict: Verdict
    claims: QrClaims | None


def _fail(code: str, now: dt.datetime, sub: SubIndication = FailedSub.FORMAT_FAILURE) -> QrResult:
    reason = Reason.of(code)
    return QrResult(
        Verdict(Indication.TOTAL_FAILED, sub, (reason,), (), checked_at=now.isoformat()), None
    )


def split_payload(text: str) -> tuple[str | None, str]:
    """(serial from the URL path or None, the ``AM1.`` payload) from a scanned URL or payload."""
    text = (text or "").strip()
    if text.startswith(PREFIX):
        return None, text
    parts = urlsplit(text)
    serial = parts.path.rsplit("/v/", 1)[1] if "/v/" in parts.path else None
    return serial, parts.fragment


def verify_qr(
    text: str,
    *,
    trust_list: Sequence[TrustEntry],
    now: dt.datetime,
    status: StatusList | None = None,
) -> QrResult:
    """Check the payload's signature and claims offline; never raises for bad input.

    ``status``, a status list already checked against the root (verification/status_list.py),
    lets an offline verdict say whether the certificate was revoked as of the list's date."""
    if len(text or "") > MAX_PAYLOAD_CHARS:
        return _fail("qr_too_long", now)
    url_serial, payload = split_payload(text)
    if not payload.startswith(PREFIX):
        return _fail("qr_not_amanat", now)
    try:
        message = cose.decode(payload)
    except cose.CoseError:
        return _fail("qr_damaged", now)
    candidates = [e for e in trust_list if e.kid == message.kid]
    if not candidates:
        return _fail("qr_untrusted_signer", now, IndeterminateSub.NO_CERTIFICATE_CHAIN_FOUND)
    signer = next((e for e in candidates if message.verifies_with(e.public_key)), None)
    if signer is None:
        return _fail("qr_bad_signature", now, FailedSub.SIG_CRYPTO_FAILURE)
    try:
        parsed = _claims(message.claims)
    except (ValueError, TypeError, KeyError, OverflowError, OSError):
        return _fail("qr_malformed_content", now)
    return _judge_claims(parsed, signer, url_serial, now, status)


def _verdict(
    code: str, now: dt.datetime, indication: Indication, sub: SubIndication, **params: Any
) -> Verdict:
    return Verdict(indication, sub, (Reason.of(code, **params),), (), checked_at=now.isoformat())


def _judge_claims(
    parsed: QrClaims,
    signer: TrustEntry,
    url_serial: str | None,
    now: dt.datetime,
    status: StatusList | None,
) -> QrResult:
    """The offline verdict on signed claims: who signed, which serial, expiry, revoked key."""
    if parsed.department != signer.department:
        return _fail("qr_wrong_department", now, IndeterminateSub.SIG_CONSTRAINTS_FAILURE)
    if url_serial is not None and url_serial != parsed.serial:
        return _fail("qr_serial_mismatch", now, IndeterminateSub.SIG_CONSTRAINTS_FAILURE)
    if parsed.expires_at is not None and parsed.expires_at < now:
        expired = _verdict(
            "qr_expired",
            now,
            Indication.TOTAL_FAILED,
            FailedSub.EXPIRED,
            date=parsed.expires_at.date().isoformat(),
        )
        return QrResult(expired, parsed)
    if signer.revoked:
        # Offline there is no proof of when the code was made (its own date is signed by the very
        # key that was revoked): only the register can say whether it came before the revocation.
        revoked = _verdict(
            "qr_key_revoked_offline", now, Indication.INDETERMINATE, IndeterminateSub.REVOKED_NO_POE
        )
        return QrResult(revoked, parsed)
    if status is None or parsed.status_idx is None:
        genuine = _verdict(
            "qr_genuine_offline", now, Indication.INDETERMINATE, IndeterminateSub.TRY_LATER
        )
        return QrResult(genuine, parsed)
    return QrResult(_judge_status(parsed.status_idx, status, now), parsed)


def _judge_status(idx: int, status: StatusList, now: dt.datetime) -> Verdict:
    """The offline verdict from a status list: how old it is, and what it says of ``idx``."""
    age = {
        "as_of": status.issued_at.strftime("%Y-%m-%d %H:%M UTC"),
        "hours": max(0, int((now - status.issued_at).total_seconds() // 3600)),
    }
    if status.expired(now):
        return _verdict(
            "qr_status_list_expired",
            now,
            Indication.INDETERMINATE,
            IndeterminateSub.TRY_LATER,
            **age,
        )
    value = status.status(idx)
    if value is None:
        return _verdict(
            "qr_status_unknown", now, Indication.INDETERMINATE, IndeterminateSub.TRY_LATER, **age
        )
    if value != 0:
        return _verdict(
            "qr_revoked_status_list", now, Indication.TOTAL_FAILED, FailedSub.REVOKED, **age
        )
    # Under an hour old, the age is not worth a number ("0 hours old").
    reason = (
        Reason.of("qr_genuine_status_list", **age)
        if age["hours"]
        else Reason.of("qr_genuine_status_list_recent", **age)
    )
    return Verdict(Indication.TOTAL_PASSED, None, (reason,), (), checked_at=now.isoformat())


def _claims(claims: dict[Any, Any]) -> QrClaims:
    fields = claims.get(CLAIM_F, {})
    if not isinstance(fields, dict):
        raise ValueError("fields")
    exp = claims.get(CLAIM_EXP)
    idx = claims.get(CLAIM_ST)
    if idx is not None and (type(idx) is not int or idx < 0):
        raise ValueError("status index")
    digest = claims[CLAIM_H]
    if not isinstance(digest, bytes) or len(digest) != 16:
        raise ValueError("hash")
    return QrClaims(
        department=str(claims[CLAIM_ISS]),
        serial=str(claims[CLAIM_SN]),
        type_code=str(claims[CLAIM_TYP]),
        holder=str(claims[CLAIM_SUB]),
        fields={str(k): str(v) for k, v in fields.items()},
        fields_hash=digest,
        issued_at=dt.datetime.fromtimestamp(int(claims[CLAIM_IAT]), dt.UTC),
        expires_at=dt.datetime.fromtimestamp(int(exp), dt.UTC) if exp is not None else None,
        status_idx=idx,
    )


def verify_qr_offline(
    text: str,
    *,
    trust_list: Sequence[TrustEntry],
    root_der: bytes,
    status_uri: str,
    status_token: bytes | None,
    now: dt.datetime,
) -> QrResult:
    """:func:`verify_qr` with a cached status list: the list is used only when it reads under
    ``root_der`` (taken from the trust list, never from the list) and names ``status_uri``; a
    missing or unusable list leaves the plain offline verdict (revocation not checked)."""
    status = None
    if status_token is not None:
        try:
            status = read_status_list(status_token, root_der=root_der, uri=status_uri, now=now)
        except StatusListRejected:
            status = None
    return verify_qr(text, trust_list=trust_list, now=now, status=status)

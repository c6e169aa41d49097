"""Judge any signed PDF with pyHanko; every outcome is a :class:`Verdict`, never an exception.

TOTAL_PASSED only when every signature is intact, cryptographically valid, chains to one of the
trust anchors, is not revoked, covers the document up to permitted long-term-validation updates
(or form filling its certification allows), and every document timestamp is intact and valid.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
from collections.abc import Sequence
from typing import Any

from verification.policy import file_context, run_async
from verification.verdict import (
    FailedSub,
    IndeterminateSub,
    Indication,
    Reason,
    SignatureDetail,
    SubIndication,
    Verdict,
)

MAX_PDF_BYTES = 25 * 1024 * 1024
_ALLOWED_MODIFICATIONS = {"NONE", "LTA_UPDATES"}


def _failed(
    sub: SubIndication, reason: Reason, now: dt.datetime, details: Sequence[SignatureDetail] = ()
) -> Verdict:
    return Verdict(
        Indication.TOTAL_FAILED, sub, (reason,), tuple(details), checked_at=now.isoformat()
    )


def _name_part(name: Any, key: str) -> str | None:
    try:
        value = name.native.get(key)
    except (AttributeError, ValueError):
        return None
    return str(value) if value else None


def verify_pdf(
    data: bytes, *, trust_roots: Sequence[bytes], now: dt.datetime, at: dt.datetime | None = None
) -> Verdict:
    """The verdict about ``data`` at validation time ``at`` (default: now)."""
    try:
        return _verify(data, trust_roots=trust_roots, now=now, at=at)
    except Exception as exc:
        return _failed(
            FailedSub.FORMAT_FAILURE,
            Reason.of("pdf_uncheckable", error=type(exc).__name__),
            now,
        )


# (kind, sub-indication, reason): "failed" makes the verdict TOTAL_FAILED, "undecided" at most
# INDETERMINATE.
_Finding = tuple[str, SubIndication, Reason]


def _read(data: bytes, now: dt.datetime) -> tuple[Any, list[Any], list[Any]] | Verdict:
    """(reader, signatures, document timestamps), or the verdict on a file that is no signed PDF."""
    from pyhanko.pdf_utils.reader import PdfFileReader  # noqa: PLC0415 - pyHanko only when a PDF is checked (one-shot commands stay quick)

    if not data:
        return _failed(FailedSub.FORMAT_FAILURE, Reason.of("pdf_empty"), now)
    if len(data) > MAX_PDF_BYTES:
        return _failed(FailedSub.FORMAT_FAILURE, Reason.of("pdf_too_large"), now)
    if b"%PDF-" not in data[:1024]:
        return _failed(FailedSub.FORMAT_FAILURE, Reason.of("pdf_not_pdf"), now)
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        if reader.encrypted:
            # Without the password the signed data cannot be read: an open question (ETSI's
            # SIGNED_DATA_NOT_FOUND), not a broken format.
            reason = (Reason.of("pdf_encrypted"),)
            sub = IndeterminateSub.SIGNED_DATA_NOT_FOUND
            return Verdict(Indication.INDETERMINATE, sub, reason, (), checked_at=now.isoformat())
        embedded = list(reader.embedded_signatures)
    except Exception as exc:
        error = Reason.of("pdf_unreadable", error=type(exc).__name__)
        return _failed(FailedSub.FORMAT_FAILURE, error, now)
    signatures = [s for s in embedded if s.sig_object_type == "/Sig"]
    timestamps = [s for s in embedded if s.sig_object_type == "/DocTimeStamp"]
    if not signatures:
        return _failed(FailedSub.FORMAT_FAILURE, Reason.of("pdf_unsigned"), now)
    return reader, signatures, timestamps


def _validate(sig: Any, context: Any) -> tuple[Any, bool]:
    """(status, unanalysable): pyHanko's status, looking at the signature alone when the changes
    made after signing break the analysis (shadow attacks leave broken revisions)."""
    from pyhanko.sign.validation.pdf_embedded import async_validate_pdf_signature  # noqa: PLC0415 - pyHanko only when a PDF is checked (one-shot commands stay quick)

    try:
        return run_async(functools.partial(async_validate_pdf_signature, sig, context())), False
    except Exception:
        status = run_async(
            functools.partial(async_validate_pdf_signature, sig, context(), skip_diff=True)
        )
        return status, True


def _describe(status: Any, *, lt: bool, archived: bool) -> SignatureDetail:
    """What a signature is, for the report (not a judgement)."""
    level = status.modification_level
    cert = status.signing_cert
    ts_validity = status.timestamp_validity
    has_ts = ts_validity is not None
    pades = "B-LTA" if lt and archived else "B-LT" if lt and has_ts else "B-T" if has_ts else "B-B"
    return SignatureDetail(
        signer=(
            _name_part(cert.subject, "common_name") or cert.subject.human_friendly
            if cert is not None
            else "unknown"
        ),
        department=_name_part(cert.subject, "organizational_unit_name") if cert else None,
        signed_at=status.signer_reported_dt.isoformat() if status.signer_reported_dt else None,
        timestamp=ts_validity.timestamp.isoformat() if ts_validity is not None else None,
        pades_level=pades,
        coverage=status.coverage.name if status.coverage else "UNKNOWN",
        modification=level.name if level is not None else "UNKNOWN",
        revocation="revoked" if status.revoked else "good" if status.trusted else "unknown",
        intact=bool(status.intact),
        valid=bool(status.valid),
        trusted=bool(status.trusted),
    )


def _judge(status: Any, detail: SignatureDetail, n: int, unanalysable: bool) -> _Finding | None:
    """The first rule a signature breaks (in order of severity), or None."""
    from pyhanko.sign.validation.status import SignatureCoverageLevel  # noqa: PLC0415 - pyHanko only when a PDF is checked (one-shot commands stay quick)

    whole = (SignatureCoverageLevel.ENTIRE_FILE, SignatureCoverageLevel.ENTIRE_REVISION)
    modification = detail.modification
    allowed = modification in _ALLOWED_MODIFICATIONS or (
        modification == "FORM_FILLING" and status.docmdp_ok
    )
    change = modification.lower().replace("_", " ")
    failed, constraint = "failed", IndeterminateSub.SIG_CONSTRAINTS_FAILURE
    rules: list[tuple[bool, _Finding]] = [
        (
            not status.intact,
            (failed, FailedSub.HASH_FAILURE, Reason.of("sig_hash_mismatch", n=n)),
        ),
        (
            not status.valid,
            (failed, FailedSub.SIG_CRYPTO_FAILURE, Reason.of("sig_invalid", n=n)),
        ),
        (unanalysable, (failed, constraint, Reason.of("pdf_changed_unanalysable"))),
        (
            status.coverage not in whole,
            (failed, constraint, Reason.of("sig_partial_coverage", n=n)),
        ),
        (not allowed, (failed, constraint, Reason.of("pdf_changed", change=change))),
        (status.docmdp_ok is False, (failed, constraint, Reason.of("pdf_certification_violated"))),
        (bool(status.revoked), (failed, FailedSub.REVOKED, Reason.of("sig_cert_revoked"))),
        (
            not status.trusted,
            (
                "undecided",
                IndeterminateSub.NO_CERTIFICATE_CHAIN_FOUND,
                Reason.of("sig_untrusted", n=n),
            ),
        ),
    ]
    return next((finding for broken, finding in rules if broken), None)


def _check_timestamp(ts: Any, context: Any) -> _Finding | None:
    """A document timestamp must be readable, intact and valid."""
    from pyhanko.sign.validation.pdf_embedded import async_validate_pdf_timestamp  # noqa: PLC0415 - pyHanko only when a PDF is checked (one-shot commands stay quick)

    try:
        status = run_async(
            functools.partial(async_validate_pdf_timestamp, ts, validation_context=context())
        )
    except Exception as exc:
        error = Reason.of("timestamp_unreadable", error=type(exc).__name__)
        return ("failed", FailedSub.FORMAT_FAILURE, error)
    if not (status.intact and status.valid):
        return ("failed", FailedSub.HASH_FAILURE, Reason.of("timestamp_mismatch"))
    return None


def _aggregate(
    findings: Sequence[_Finding], details: Sequence[SignatureDetail], now: dt.datetime
) -> Verdict:
    """Any failure: TOTAL_FAILED (every reason listed, failures first); else any undecided
    signature: INDETERMINATE; else TOTAL_PASSED."""
    failed = [f for f in findings if f[0] == "failed"]
    undecided = [f for f in findings if f[0] == "undecided"]
    if failed or undecided:
        indication = Indication.TOTAL_FAILED if failed else Indication.INDETERMINATE
        ordered = failed + undecided
        reasons = tuple(reason for _, _, reason in ordered)
        return Verdict(
            indication, ordered[0][1], reasons, tuple(details), checked_at=now.isoformat()
        )
    reasons = (Reason.of("pdf_all_valid"),)
    return Verdict(
        Indication.TOTAL_PASSED, None, reasons, tuple(details), checked_at=now.isoformat()
    )


def _verify(
    data: bytes, *, trust_roots: Sequence[bytes], now: dt.datetime, at: dt.datetime | None
) -> Verdict:
    """Read the file, describe and judge each signature and document timestamp, aggregate."""
    opened = _read(data, now)
    if isinstance(opened, Verdict):
        return opened
    reader, signatures, timestamps = opened
    context, lt = file_context(reader, trust_roots, at=at)
    details: list[SignatureDetail] = []
    findings: list[_Finding] = []
    for number, sig in enumerate(signatures, 1):
        try:
            status, unanalysable = _validate(sig, context)
        except Exception as exc:
            error = Reason.of("sig_unreadable", n=number, error=type(exc).__name__)
            findings.append(("failed", FailedSub.FORMAT_FAILURE, error))
            continue
        detail = _describe(status, lt=lt, archived=bool(timestamps))
        details.append(detail)
        finding = _judge(status, detail, number, unanalysable)
        if finding:
            findings.append(finding)
    findings.extend(f for f in (_check_timestamp(ts, context) for ts in timestamps) if f)
    return _aggregate(findings, details, now)

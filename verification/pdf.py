"""Judge any signed PDF with pyHanko; every outcome is a :class:`Verdict`, never an exception.

TOTAL_PASSED only when every signature is intact, cryptographically valid, chains to one of the
trust anchors, is not revoked, covers the document up to permitted long-term-validation updates
(or form filling its certification allows), and every document timestamp is intact and valid.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import functools
import io
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

from asn1crypto import x509 as asn1_x509

from verification.verdict import Indication, Reason, SignatureDetail, SubIndication, Verdict

T = TypeVar("T")
MAX_PDF_BYTES = 25 * 1024 * 1024
_ALLOWED_MODIFICATIONS = {"NONE", "LTA_UPDATES"}


def _run(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def _failed(
    sub: SubIndication, reason: Reason, now: dt.datetime, details: Sequence[SignatureDetail] = ()
) -> Verdict:
    return Verdict(Indication.TOTAL_FAILED, sub, (reason,), tuple(details), now.isoformat())


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
            SubIndication.FORMAT_FAILURE,
            Reason.of("pdf_uncheckable", error=type(exc).__name__),
            now,
        )


def _verify(
    data: bytes, *, trust_roots: Sequence[bytes], now: dt.datetime, at: dt.datetime | None
) -> Verdict:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation.dss import DocumentSecurityStore
    from pyhanko.sign.validation.errors import NoDSSFoundError
    from pyhanko.sign.validation.pdf_embedded import (
        async_validate_pdf_signature,
        async_validate_pdf_timestamp,
    )
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    if not data:
        return _failed(SubIndication.FORMAT_FAILURE, Reason.of("pdf_empty"), now)
    if len(data) > MAX_PDF_BYTES:
        return _failed(SubIndication.FORMAT_FAILURE, Reason.of("pdf_too_large"), now)
    if b"%PDF-" not in data[:1024]:
        return _failed(SubIndication.FORMAT_FAILURE, Reason.of("pdf_not_pdf"), now)
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        if reader.encrypted:
            return Verdict(
                Indication.INDETERMINATE,
                SubIndication.FORMAT_FAILURE,
                (Reason.of("pdf_encrypted"),),
                (),
                now.isoformat(),
            )
        embedded = list(reader.embedded_signatures)
    except Exception as exc:
        return _failed(
            SubIndication.FORMAT_FAILURE,
            Reason.of("pdf_unreadable", error=type(exc).__name__),
            now,
        )
    signatures = [s for s in embedded if s.sig_object_type == "/Sig"]
    timestamps = [s for s in embedded if s.sig_object_type == "/DocTimeStamp"]
    if not signatures:
        return _failed(SubIndication.FORMAT_FAILURE, Reason.of("pdf_unsigned"), now)

    roots = [asn1_x509.Certificate.load(r) for r in trust_roots]
    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except NoDSSFoundError:
        dss = None
    settings: dict[str, Any] = {
        "trust_roots": roots,
        "allow_fetching": False,
        "revocation_mode": "hard-fail",
        "moment": at,
    }

    def context() -> ValidationContext:
        # A fresh context per signature: pyHanko caches validation paths inside it.
        if dss is not None:
            return dss.as_validation_context(settings)
        return ValidationContext(**settings, crls=[], ocsps=[])

    details: list[SignatureDetail] = []
    failures: list[tuple[SubIndication, Reason]] = []
    undecided: list[tuple[SubIndication, Reason]] = []
    for number, sig in enumerate(signatures, 1):
        unanalysable = False
        try:
            status = _run(functools.partial(async_validate_pdf_signature, sig, context()))
        except Exception:
            # The changes made after signing may be what breaks the analysis (shadow attacks
            # leave broken revisions): look at the signature alone before calling it unreadable.
            try:
                status = _run(
                    functools.partial(async_validate_pdf_signature, sig, context(), skip_diff=True)
                )
            except Exception as exc:
                failures.append(
                    (
                        SubIndication.FORMAT_FAILURE,
                        Reason.of("sig_unreadable", n=number, error=type(exc).__name__),
                    )
                )
                continue
            unanalysable = True
        coverage = status.coverage.name if status.coverage else "UNKNOWN"
        level = status.modification_level
        modification = level.name if level is not None else "UNKNOWN"
        cert = status.signing_cert
        ts_validity = status.timestamp_validity
        has_ts = ts_validity is not None
        lt = dss is not None and bool(dss.ocsps or dss.crls)
        pades = (
            "B-LTA"
            if lt and timestamps
            else "B-LT"
            if lt and has_ts
            else "B-T"
            if has_ts
            else "B-B"
        )
        details.append(
            SignatureDetail(
                signer=(
                    _name_part(cert.subject, "common_name") or cert.subject.human_friendly
                    if cert is not None
                    else "unknown"
                ),
                department=_name_part(cert.subject, "organizational_unit_name")
                if cert is not None
                else None,
                signed_at=status.signer_reported_dt.isoformat()
                if status.signer_reported_dt
                else None,
                timestamp=ts_validity.timestamp.isoformat() if ts_validity is not None else None,
                pades_level=pades,
                coverage=coverage,
                modification=modification,
                revocation="revoked" if status.revoked else "good" if status.trusted else "unknown",
                intact=bool(status.intact),
                valid=bool(status.valid),
                trusted=bool(status.trusted),
            )
        )
        if not status.intact:
            failures.append(
                (
                    SubIndication.HASH_FAILURE,
                    Reason.of("sig_hash_mismatch", n=number),
                )
            )
        elif not status.valid:
            failures.append((SubIndication.SIG_CRYPTO_FAILURE, Reason.of("sig_invalid", n=number)))
        elif unanalysable:
            failures.append(
                (
                    SubIndication.SIG_CONSTRAINTS_FAILURE,
                    Reason.of("pdf_changed_unanalysable"),
                )
            )
        elif status.coverage not in (
            SignatureCoverageLevel.ENTIRE_FILE,
            SignatureCoverageLevel.ENTIRE_REVISION,
        ):
            failures.append(
                (
                    SubIndication.SIG_CONSTRAINTS_FAILURE,
                    Reason.of("sig_partial_coverage", n=number),
                )
            )
        elif modification not in _ALLOWED_MODIFICATIONS and not (
            modification == "FORM_FILLING" and status.docmdp_ok
        ):
            failures.append(
                (
                    SubIndication.SIG_CONSTRAINTS_FAILURE,
                    Reason.of("pdf_changed", change=modification.lower().replace("_", " ")),
                )
            )
        elif status.docmdp_ok is False:
            failures.append(
                (
                    SubIndication.SIG_CONSTRAINTS_FAILURE,
                    Reason.of("pdf_certification_violated"),
                )
            )
        elif status.revoked:
            failures.append((SubIndication.REVOKED, Reason.of("sig_cert_revoked")))
        elif not status.trusted:
            undecided.append(
                (
                    SubIndication.NO_CERTIFICATE_CHAIN_FOUND,
                    Reason.of("sig_untrusted", n=number),
                )
            )

    for ts in timestamps:
        try:
            ts_status = _run(
                functools.partial(async_validate_pdf_timestamp, ts, validation_context=context())
            )
        except Exception as exc:
            failures.append(
                (
                    SubIndication.FORMAT_FAILURE,
                    Reason.of("timestamp_unreadable", error=type(exc).__name__),
                )
            )
            continue
        if not (ts_status.intact and ts_status.valid):
            failures.append((SubIndication.HASH_FAILURE, Reason.of("timestamp_mismatch")))

    if failures:
        sub = failures[0][0]
        return Verdict(
            Indication.TOTAL_FAILED,
            sub,
            tuple(r for _, r in failures + undecided),
            tuple(details),
            now.isoformat(),
        )
    if undecided:
        return Verdict(
            Indication.INDETERMINATE,
            undecided[0][0],
            tuple(r for _, r in undecided),
            tuple(details),
            now.isoformat(),
        )
    return Verdict(
        Indication.TOTAL_PASSED,
        None,
        (Reason.of("pdf_all_valid"),),
        tuple(details),
        now.isoformat(),
    )

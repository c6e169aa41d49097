"""PAdES signing with pyHanko, and the strict offline check every file passes before release.

Costs measured on this machine (NOTES): pyHanko's ``SimpleSigner`` re-parses the key per signature
and, without ``bytes_reserved``, signs twice to size the hole. :class:`KeySigner` keeps the parsed
key and signs through :func:`keys.pki.sign_raw`; the hole is reserved up front. Validation data
(the root's CRL, an OCSP answer for the department certificate) is produced in-process and handed
to pyHanko, which never fetches anything.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from asn1crypto import algos, cms, core
from asn1crypto import keys as asn1_keys
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.fields import MDPPerm, SigSeedSubFilter
from pyhanko.sign.general import as_signing_certificate, simple_cms_attribute
from pyhanko.sign.signers.pdf_cms import Signer
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper
from pyhanko.sign.validation.ades import ades_lta_validation, simulate_future_ades_lta_validation
from pyhanko.sign.validation.policy_decl import (
    LocalKnowledge,
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy
from pyhanko_certvalidator.registry import SimpleCertificateStore, SimpleTrustManager
from pyhanko_certvalidator.revinfo.archival import OCSPContainer

from keys import pki
from signing.errors import SigningFailed
from verification.policy import run_async, strict_context, strict_settings

Level = Literal["B-B", "B-T", "B-LT", "B-LTA"]


LEVELS: tuple[Level, ...] = ("B-B", "B-T", "B-LT", "B-LTA")
FIELD_NAME = "AmanatSignature"


def asn1_cert(cert: pki.Certificate | bytes) -> asn1_x509.Certificate:
    """The asn1crypto form pyHanko wants."""
    der = cert if isinstance(cert, bytes) else pki.cert_der(cert)
    return asn1_x509.Certificate.load(der)


class KeySigner(Signer):
    """A pyHanko signer over a key held in memory (parsed once, not per signature)."""

    def __init__(self, key: pki.SigningKey, cert_der: bytes, chain: list[bytes]) -> None:
        ec = pki.signing_key_kind(key) == "ec-p256"
        self._key = key
        self._pss = not ec
        mechanism = algos.SignedDigestAlgorithm(
            {"algorithm": "sha256_ecdsa"}
            if ec
            else {
                "algorithm": "rsassa_pss",
                "parameters": algos.RSASSAPSSParams(
                    {
                        "hash_algorithm": {"algorithm": "sha256"},
                        "mask_gen_algorithm": {
                            "algorithm": "mgf1",
                            "parameters": {"algorithm": "sha256"},
                        },
                        "salt_length": 32,
                    }
                ),
            }
        )
        super().__init__(
            signing_cert=asn1_cert(cert_der),
            cert_registry=SimpleCertificateStore.from_certs([asn1_cert(c) for c in chain]),
            signature_mechanism=mechanism,
            embed_roots=True,
        )

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        if dry_run:
            return bytes(72 if not self._pss else 384)
        return pki.sign_with(self._key, data, digest=digest_algorithm, pss=self._pss)


class AmanatTimeStamper(DummyTimeStamper):  # type: ignore[misc]
    """The service's RFC 3161 time-stamping authority, in-process (also served at /pki/tsa).

    pyHanko's in-process token builder, with the TSA key kept parsed and the signature made by
    :func:`keys.pki.sign_raw`.
    """

    def __init__(
        self,
        key: pki.PrivateKey,
        cert: pki.Certificate,
        root: pki.Certificate,
        *,
        at: dt.datetime | None = None,
    ) -> None:
        super().__init__(
            tsa_cert=asn1_cert(cert),
            tsa_key=asn1_keys.PrivateKeyInfo.load(pki.private_key_der(key)),
            certs_to_embed=SimpleCertificateStore.from_certs([asn1_cert(root)]),
            fixed_dt=at,
        )
        self._key = key

    def _sign_tst_info(
        self, tst_info_data: bytes, md_algorithm: str, dt_: dt.datetime
    ) -> tuple[bytes, Any]:
        attrs = cms.CMSAttributes(
            [
                simple_cms_attribute("content_type", "tst_info"),
                simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(dt_)})),
                simple_cms_attribute("signing_certificate", as_signing_certificate(self.tsa_cert)),
                simple_cms_attribute(
                    "message_digest", hashlib.new(md_algorithm, tst_info_data).digest()
                ),
            ]
        )
        return pki.sign_raw(self._key, attrs.dump(), digest=md_algorithm), attrs


@dataclass(frozen=True)
class TrustData:
    """What a validator needs offline: the root, CRLs and OCSP answers, helper certificates."""

    root: bytes
    crls: tuple[bytes, ...]
    ocsps: tuple[bytes, ...]
    others: tuple[bytes, ...]
    # Roots of an external TSA (AMANAT_TSA_URL), trusted for its time stamps only in practice.
    extra_roots: tuple[bytes, ...] = ()

    @property
    def roots(self) -> tuple[bytes, ...]:
        """Every trust anchor: the deployment root first."""
        return (self.root, *self.extra_roots)

    def validation_context(self, *, at: dt.datetime | None = None) -> ValidationContext:
        """A strict, offline pyHanko validation context."""
        return strict_context(
            self.roots, at=at, crls=self.crls, ocsps=self.ocsps, other_certs=self.others
        )


def sign_pdf(
    pdf: bytes,
    *,
    signer: KeySigner | Signer,
    timestamper: TimeStamper | None,
    trust: TrustData,
    level: Level,
) -> bytes:
    """Certify ``pdf`` (no changes allowed but long-term-validation updates) at ``level``."""
    if level not in LEVELS:
        raise ValueError(f"unknown PAdES level {level}")
    with_ts = level != "B-B"
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        subfilter=SigSeedSubFilter.PADES,
        certify=True,
        docmdp_permissions=MDPPerm.NO_CHANGES,
        embed_validation_info=level in ("B-LT", "B-LTA"),
        use_pades_lta=level == "B-LTA",
        validation_context=trust.validation_context() if level in ("B-LT", "B-LTA") else None,
    )
    pdf_signer = signers.PdfSigner(
        meta, signer=signer, timestamper=timestamper if with_ts else None
    )

    async def sign() -> bytes:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        out = await pdf_signer.async_sign_pdf(writer, bytes_reserved=16384 if with_ts else 8192)
        return bytes(out.getvalue())

    try:
        return run_async(sign)
    except Exception as exc:
        raise SigningFailed(f"the document could not be signed ({type(exc).__name__})") from None


def _spec(roots: tuple[bytes, ...], fetched: Sequence[bytes] = ()) -> PdfSignatureValidationSpec:
    known = LocalKnowledge(
        known_ocsps=[OCSPContainer(asn1_ocsp.OCSPResponse.load(answer)) for answer in fetched]
    )
    return PdfSignatureValidationSpec(
        SignatureValidationSpec(
            cert_validation_policy=CertValidationPolicySpec(
                trust_manager=SimpleTrustManager.build(trust_roots=[asn1_cert(r) for r in roots]),
                revinfo_policy=CertRevTrustPolicy(REQUIRE_REVINFO),
            ),
            revinfo_gathering_policy=RevocationInfoGatheringSpec(
                RevinfoOnlineFetchingRule.LOCAL_ONLY
            ),
            local_knowledge=known,
        )
    )


def lta_validation(
    pdf: bytes,
    *,
    root: bytes,
    future: dt.datetime | None = None,
    extra_roots: tuple[bytes, ...] = (),
    fetched: Sequence[bytes] = (),
) -> str:
    """pyHanko's AdES LTA validation, offline, of the first signature: the AdES sub-indication name.

    With ``future``, simulate the validation at that later time (pyHanko assumes the time-stamp
    chain is kept up until then: it is a check that the file *can* be maintained).
    """

    async def run() -> str:
        reader = PdfFileReader(io.BytesIO(pdf))
        sigs = [s for s in reader.embedded_signatures if s.sig_object_type == "/Sig"]
        if len(sigs) != 1:
            return "NOT_EXACTLY_ONE_SIGNATURE"
        if future is None:
            result = await ades_lta_validation(sigs[0], _spec((root, *extra_roots), fetched))
        else:
            result = await simulate_future_ades_lta_validation(
                sigs[0], _spec((root, *extra_roots)), future_validation_time=future
            )
        return str(
            result.ades_subindic.name
            if hasattr(result.ades_subindic, "name")
            else result.ades_subindic
        )

    return run_async(run)


def check_before_release(pdf: bytes, *, trust: TrustData, level: Level) -> None:
    """Strict offline validation of a freshly signed file; SigningFailed if anything is off."""
    from pyhanko.sign.validation import async_validate_pdf_signature  # noqa: PLC0415 - pyHanko's signers only when a PDF is signed or stamped
    from pyhanko.sign.validation.dss import DocumentSecurityStore  # noqa: PLC0415 - pyHanko's signers only when a PDF is signed or stamped

    try:
        if level == "B-LTA":
            # The AdES LTA process covers integrity, trust and revocation of the signature, from
            # what the file itself carries (its DSS and document timestamps).
            if lta_validation(pdf, root=trust.root, extra_roots=trust.extra_roots) != "OK":
                raise SigningFailed("long-term validation does not pass offline")
            return
        reader = PdfFileReader(io.BytesIO(pdf))
        sigs = [s for s in reader.embedded_signatures if s.sig_object_type == "/Sig"]
        if len(sigs) != 1:
            raise SigningFailed("the signed file does not hold exactly one signature")
        if level == "B-LT":
            # Only what the file itself carries (its DSS) may be used: that is the point of LT.
            context = DocumentSecurityStore.read_dss(reader).as_validation_context(
                strict_settings(trust.roots)
            )
        else:
            context = trust.validation_context()
        status = run_async(lambda: async_validate_pdf_signature(sigs[0], context))
        if not (status.bottom_line and status.intact and status.valid and status.trusted):
            raise SigningFailed("the signature does not validate")
    except SigningFailed:
        raise
    except Exception as exc:
        raise SigningFailed(
            f"the signed file could not be validated ({type(exc).__name__})"
        ) from None


# A document time-stamp made with these digests no longer proves anything for long.
WEAK_DIGESTS = frozenset({"md5", "sha1"})


@dataclass(frozen=True)
class NewestStamp:
    """A B-LTA file's newest document time-stamp: when its TSA certificate ends, its digest,
    and that certificate (DER)."""

    ends: dt.datetime
    digest: str
    tsa_cert: bytes

    def due(self, *, now: dt.datetime, margin: dt.timedelta) -> bool:
        """Whether it needs a successor: its certificate ends within ``margin`` of ``now``, or
        its digest has weakened."""
        return self.ends - now < margin or self.digest in WEAK_DIGESTS


def newest_stamp(pdf: bytes) -> NewestStamp | None:
    """The file's newest document time-stamp (None for B-B to B-LT: never renewed); a file that
    cannot be read is SigningFailed (reported, not renewed)."""
    try:
        stamps = PdfFileReader(io.BytesIO(pdf)).embedded_timestamp_signatures
        if not stamps:
            return None
        newest = stamps[-1]
        ends: dt.datetime = newest.signer_cert["tbs_certificate"]["validity"]["not_after"].native
        return NewestStamp(ends, str(newest.md_algorithm), newest.signer_cert.dump())
    except Exception as exc:
        raise SigningFailed(f"the archive cannot be read ({type(exc).__name__})") from None


def add_archive_timestamp(
    pdf: bytes, *, timestamper: TimeStamper, trust: TrustData, at: dt.datetime
) -> bytes:
    """PAdES B-LTA's archive time-stamp chain: validate the newest document time-stamp as of
    ``at``, add what it needs to the file's DSS, and add a new document time-stamp over all."""
    from pyhanko.sign.signers.pdf_signer import PdfTimeStamper  # noqa: PLC0415 - pyHanko's signers only when a PDF is signed or stamped

    async def renew() -> bytes:
        reader = PdfFileReader(io.BytesIO(pdf))
        out = await PdfTimeStamper(timestamper).async_update_archival_timestamp_chain(
            reader, trust.validation_context(at=at), in_place=False
        )
        return bytes(out.getvalue())

    try:
        return run_async(renew)
    except Exception as exc:
        raise SigningFailed(
            f"the archive time-stamp could not be added ({type(exc).__name__})"
        ) from None


def answer_timestamp_request(timestamper: AmanatTimeStamper, body: bytes) -> bytes:
    """An RFC 3161 TimeStampResp for a DER TimeStampReq (a rejection for a malformed one)."""
    from asn1crypto import tsp  # noqa: PLC0415 - pyHanko's signers only when a PDF is signed or stamped

    try:
        request = tsp.TimeStampReq.load(body)
        request.native  # noqa: B018 - forces a full parse, so malformed input fails here
    except Exception:  # asn1crypto raises many kinds (AttributeError, IndexError, ...) on junk
        request = None
    try:
        if request is None:
            raise ValueError("malformed TimeStampReq")
        response = timestamper.request_tsa_response(request)
    except (ValueError, TypeError, KeyError, AttributeError):
        # asn1crypto insists on a token even in a rejection: write SEQUENCE { PKIStatusInfo }.
        status: bytes = tsp.PKIStatusInfo(
            {"status": "rejection", "fail_info": tsp.PKIFailureInfo({"bad_data_format"})}
        ).dump()
        return b"\x30" + bytes([len(status)]) + status
    return bytes(response.dump())


class PooledHTTPTimeStamper(RequestsHTTPTimeStamper):  # type: ignore[misc]
    """An external RFC 3161 TSA over HTTP, reusing one keep-alive connection pool per process
    (pyHanko's client opens a new connection per time stamp)."""

    def __init__(self, url: str, *, timeout: float = 10) -> None:
        import requests  # noqa: PLC0415 - an HTTP client only for an external TSA

        super().__init__(url, timeout=timeout)
        self._session = requests.Session()

    async def async_request_tsa_response(self, req: Any) -> Any:
        from asn1crypto import tsp  # noqa: PLC0415 - pyHanko's signers only when a PDF is signed or stamped
        from pyhanko.sign.timestamps.common_utils import TimestampRequestError  # noqa: PLC0415 - pyHanko's signers only when a PDF is signed or stamped

        def task() -> Any:
            try:
                raw = self._session.post(
                    self.url, req.dump(), headers=self.request_headers(), timeout=self.timeout
                )
            except OSError as exc:
                raise TimestampRequestError("the time-stamping authority is unreachable") from exc
            if raw.headers.get("Content-Type") != "application/timestamp-reply":
                raise TimestampRequestError("the time-stamping authority answered garbage")
            return tsp.TimeStampResp.load(raw.content)

        return await asyncio.to_thread(task)

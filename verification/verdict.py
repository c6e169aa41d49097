"""The frozen verdict (DESIGN 4.3), in ETSI EN 319 102-1 vocabulary. Not a bool."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from verification.errors import NotPassed


class Indication(StrEnum):
    """ETSI main status indication."""

    TOTAL_PASSED = "TOTAL_PASSED"
    TOTAL_FAILED = "TOTAL_FAILED"
    INDETERMINATE = "INDETERMINATE"


class FailedSub(StrEnum):
    """ETSI EN 319 102-1 sub-indications of TOTAL_FAILED (pyHanko's ``AdESFailure``)."""

    FORMAT_FAILURE = "FORMAT_FAILURE"
    HASH_FAILURE = "HASH_FAILURE"
    SIG_CRYPTO_FAILURE = "SIG_CRYPTO_FAILURE"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"


class IndeterminateSub(StrEnum):
    """ETSI EN 319 102-1 sub-indications of INDETERMINATE (pyHanko's ``AdESIndeterminate``),
    those Amanat uses."""

    SIG_CONSTRAINTS_FAILURE = "SIG_CONSTRAINTS_FAILURE"
    NO_CERTIFICATE_CHAIN_FOUND = "NO_CERTIFICATE_CHAIN_FOUND"
    REVOKED_NO_POE = "REVOKED_NO_POE"
    TRY_LATER = "TRY_LATER"
    SIGNED_DATA_NOT_FOUND = "SIGNED_DATA_NOT_FOUND"


SubIndication = FailedSub | IndeterminateSub

# Where Amanat deliberately fails harder than ETSI (DESIGN 4.3): these INDETERMINATE
# sub-indications are reported under TOTAL_FAILED. A constraint broken in a certificate (a change
# after signing that is not long-term validation data, part of the file unsigned, a QR code whose
# claims are not the register's) and a signer no department of this service certified (a QR or
# register entry's key) are forgeries to a bank, not open questions.
HARDER_THAN_ETSI: frozenset[SubIndication] = frozenset(
    {IndeterminateSub.SIG_CONSTRAINTS_FAILURE, IndeterminateSub.NO_CERTIFICATE_CHAIN_FOUND}
)


def _allowed(indication: Indication, sub: SubIndication | None) -> bool:
    if indication is Indication.TOTAL_PASSED:
        return sub is None
    if indication is Indication.TOTAL_FAILED:
        return isinstance(sub, FailedSub) or sub in HARDER_THAN_ETSI
    return isinstance(sub, IndeterminateSub)


@dataclass(frozen=True)
class Reason:
    """Why a verdict is what it is: a stable code and its parameters, never a sentence.

    ``web`` (pages, JSON, PDFs) and the command line turn it into the reader's language
    (web/messages.py); integrators read the code.
    """

    code: str
    params: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, code: str, **params: object) -> Reason:
        """A reason with its parameters (kept as sorted text pairs, so it stays hashable)."""
        return cls(code, tuple(sorted((k, str(v)) for k, v in params.items())))

    def args(self) -> dict[str, str]:
        """The parameters as a dict (for formatting)."""
        return dict(self.params)


@dataclass(frozen=True)
class SignatureDetail:
    """What was found about one signature."""

    signer: str
    department: str | None
    signed_at: str | None
    timestamp: str | None
    pades_level: str
    coverage: str
    modification: str
    revocation: str
    intact: bool
    valid: bool
    trusted: bool


@dataclass(frozen=True)
class Verdict:
    """The answer about a document: indication, sub-indication, reasons, per-signature details."""

    indication: Indication
    sub_indication: SubIndication | None
    reasons: tuple[Reason, ...]
    signatures: tuple[SignatureDetail, ...] = ()
    # When it was judged: passed in by the caller (services take ``now``), never read here.
    checked_at: str = field(kw_only=True)

    def __post_init__(self) -> None:
        # An impossible pair (a pass with a sub-indication, a failure with INDETERMINATE's
        # TRY_LATER) is a bug in the judge, never an answer.
        if not _allowed(self.indication, self.sub_indication):
            raise ValueError(f"no such verdict: {self.indication} / {self.sub_indication}")

    def __bool__(self) -> bool:
        raise TypeError("a verdict is not a bool: use .passed or .require_passed()")

    @property
    def passed(self) -> bool:
        """True only for TOTAL_PASSED."""
        return self.indication is Indication.TOTAL_PASSED

    def require_passed(self) -> Verdict:
        """Self if TOTAL_PASSED; NotPassed otherwise (for code that gates an action on it)."""
        if not self.passed:
            raise NotPassed(self.reasons[0].code if self.reasons else str(self.indication))
        return self

    def to_json(self, text: Callable[[Reason], str] | None = None) -> dict[str, Any]:
        """The JSON of DESIGN 4.3 (without the registry part). Each reason is its code and
        parameters, plus its ``text`` when the caller (``web``) gives a way to say it."""
        return {
            "indication": self.indication.value,
            "sub_indication": self.sub_indication.value if self.sub_indication else None,
            "reasons": [
                {"code": r.code, **r.args(), **({"text": text(r)} if text else {})}
                for r in self.reasons
            ],
            "signatures": [
                {k: v for k, v in asdict(s).items() if k not in ("intact", "valid", "trusted")}
                | {"intact": s.intact, "valid": s.valid, "trusted": s.trusted}
                for s in self.signatures
            ],
            "checked_at": self.checked_at,
        }

"""The frozen verdict (DESIGN 4.3), in ETSI EN 319 102-1 vocabulary. Not a bool."""

from __future__ import annotations

import datetime as dt
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


class SubIndication(StrEnum):
    """ETSI sub-indications used by Amanat."""

    HASH_FAILURE = "HASH_FAILURE"
    SIG_CRYPTO_FAILURE = "SIG_CRYPTO_FAILURE"
    SIG_CONSTRAINTS_FAILURE = "SIG_CONSTRAINTS_FAILURE"
    REVOKED = "REVOKED"
    REVOKED_NO_POE = "REVOKED_NO_POE"
    FORMAT_FAILURE = "FORMAT_FAILURE"
    NO_CERTIFICATE_CHAIN_FOUND = "NO_CERTIFICATE_CHAIN_FOUND"
    TRY_LATER = "TRY_LATER"
    EXPIRED = "EXPIRED"


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
    checked_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())

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

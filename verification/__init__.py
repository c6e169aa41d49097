"""PDF and QR verdicts, in ETSI EN 319 102-1 terms.

Judges any PDF (not only Amanat's) against trust anchors and a validation time passed in, and
returns a frozen :class:`Verdict` (TOTAL_PASSED / INDETERMINATE / TOTAL_FAILED with a
sub-indication and reasons, DESIGN 4.3), never a bare bool and never an exception for a bad
document. It needs no database: whether Amanat issued a certificate is a registry lookup that the
caller combines with the verdict.
"""

from verification.errors import NotPassed, VerificationError
from verification.pdf import verify_pdf
from verification.verdict import (
    HARDER_THAN_ETSI,
    FailedSub,
    IndeterminateSub,
    Indication,
    Reason,
    SignatureDetail,
    SubIndication,
    Verdict,
)

__all__ = [
    "HARDER_THAN_ETSI",
    "FailedSub",
    "IndeterminateSub",
    "Indication",
    "NotPassed",
    "Reason",
    "SignatureDetail",
    "SubIndication",
    "Verdict",
    "VerificationError",
    "verify_pdf",
]

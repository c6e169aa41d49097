"""Errors of the ``verification`` package (one root). Verdicts, not exceptions, report documents."""


class VerificationError(Exception):
    """Root of every error raised by :mod:`verification`."""


class NotPassed(VerificationError):
    """Raised by :meth:`Verdict.require_passed` when the verdict is not TOTAL_PASSED."""

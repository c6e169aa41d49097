"""Errors of the ``verification`` package (one root). Verdicts, not exceptions, report documents."""

from amanat.errors import AmanatError


class VerificationError(AmanatError):
    """Root of every error raised by :mod:`verification`."""


class NotPassed(VerificationError):
    """Raised by :meth:`Verdict.require_passed` when the verdict is not TOTAL_PASSED."""

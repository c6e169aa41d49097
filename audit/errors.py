"""Errors of the ``audit`` package."""

from amanat.errors import AmanatError


class AuditError(AmanatError):
    """Root of every error raised by :mod:`audit`."""

"""Errors of the ``audit`` package."""


class AuditError(Exception):
    """Root of every error raised by :mod:`audit`."""

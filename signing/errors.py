"""Errors of the ``signing`` package (one root)."""

from amanat.errors import AmanatError


class SigningError(AmanatError):
    """Root of every error raised by :mod:`signing`."""


class InvalidRequest(SigningError):
    """An issuance or department request is malformed; the message says what to fix."""


class BodyTooLarge(InvalidRequest):
    """A request body over its limit (answered 413)."""


class UnknownDepartment(InvalidRequest):
    """No department with this code."""


class UnknownCertificateType(InvalidRequest):
    """No certificate type with this code."""


class UnknownCitizen(InvalidRequest):
    """No citizen with this CNIC."""


class IdempotencyKeyReused(SigningError):
    """An ``Idempotency-Key`` already issued a different certificate (another citizen, type,
    field or level): nothing is issued, the first certificate stands."""

    code = "idempotency_key_reused"


class CertificateNotFound(SigningError):
    """No issued certificate with this serial."""


class BatchNotFound(SigningError):
    """No batch with this id (for this department)."""

    code = "batch_not_found"


class PkiNotReady(SigningError):
    """The deployment PKI has not been created (run ``amanat init``)."""


class SigningFailed(SigningError):
    """A signed file failed its own strict validation and was not released."""

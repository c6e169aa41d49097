"""Errors of the ``vault`` package (one root)."""

from typing import Any

from amanat.errors import AmanatError


class VaultError(AmanatError):
    """Root of every error raised by :mod:`vault`."""


class UploadRejected(VaultError):
    """An upload was refused (too large, empty, wrong type, bad name); the message says why."""

    def __init__(self, message: str, *, code: str = "upload_rejected", **params: Any) -> None:
        super().__init__(message, code=code, **params)


class UploadTooLarge(UploadRejected):
    """The upload is over the size limit."""

    def __init__(self, limit: int) -> None:
        mib = limit // (1024 * 1024)
        super().__init__(
            f"The file is larger than the limit of {mib} MiB.", code="too_large", mib=mib
        )
        self.limit = limit


class DocumentNotFound(VaultError):
    """No such document for this owner (the same answer whether it exists for someone else)."""

    def __init__(self) -> None:
        super().__init__("document not found")


class DocumentUnreadable(VaultError):
    """A stored document failed its integrity check; it is never released."""

    def __init__(self) -> None:
        super().__init__("the document could not be read")


class BlobStoreError(VaultError):
    """The blob store could not write, read or remove a blob."""


class ShareRefused(VaultError):
    """A consent cannot be created, or an access under one is refused; ``reason`` says why.

    ``status`` is what the web answers: 404 when the caller must not learn the grant exists, 403
    when it exists for them but is no longer usable.
    """

    def __init__(self, message: str, *, code: str, reason: str, status: int = 403) -> None:
        super().__init__(message, code=code)
        self.reason = reason
        self.status = status


class InvalidShare(VaultError):
    """A consent request is malformed or asks for something not allowed; the message says why."""


class NoticeRefused(VaultError):
    """The notice settings cannot be used as given."""


class EmergencyRefused(VaultError):
    """An emergency-access naming, request or read is not possible; the code says why."""

"""Errors of the ``identity`` package (one root)."""

from amanat.errors import AmanatError


class IdentityError(AmanatError):
    """Root of every error raised by :mod:`identity`."""


class InvalidInput(IdentityError):
    """A field is missing or malformed; the message says which, in plain words."""


class Conflict(IdentityError):
    """The request clashes with existing data (an ID number already registered)."""


class RegistrationRefused(Conflict):
    """A new account for a CNIC that already has one: refused only after a passkey was made,
    in words that do not say why (a stranger learns nothing cheaply). ``holder_id`` is for the
    owner's ledger, never for the answer."""

    def __init__(self, holder_id: int) -> None:
        super().__init__("registration refused", code="registration_refused")
        self.holder_id = holder_id


class NotFound(IdentityError):
    """No such account, passkey or session (for this caller)."""


class AuthenticationFailed(IdentityError):
    """Sign-in failed. Deliberately vague: it never says whether the account exists."""

    def __init__(self, message: str = "sign-in failed") -> None:
        super().__init__(message)


class PasskeyRejected(IdentityError):
    """A WebAuthn ceremony response was refused (wrapped ``fido2`` errors land here)."""

    def __init__(
        self, message: str = "the passkey response was not accepted", *, code: str = ""
    ) -> None:
        # Deliberately vague unless a code says more (already registered, not yours, unknown).
        super().__init__(message, code=code or "passkey_rejected")


class ApiKeyScopeMissing(IdentityError):
    """A valid key that may not do this (it lacks the scope): answered 403, naming the scope."""

    def __init__(self, scope: str) -> None:
        super().__init__("the API key lacks the scope", code="api_key_scope", scope=scope)


class RateLimited(IdentityError):
    """Too many attempts; try again later."""


class NotAllowed(IdentityError):
    """The action is not allowed (e.g. removing the last passkey)."""


class ApiKeyRejected(IdentityError):
    """An API key is unknown, revoked, malformed or lacks the scope. Deliberately vague."""

    def __init__(self, message: str = "the API key was not accepted") -> None:
        super().__init__(message)


class AttestationPolicyError(IdentityError):
    """The configured FIDO metadata (AMANAT_MDS_BLOB and its root) or allow-list is unusable."""


class RecoveryRefused(IdentityError):
    """An assisted recovery cannot start, or its link does not work (yet, or any more)."""

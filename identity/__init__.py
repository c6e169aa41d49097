"""Who is who: accounts, roles, passkeys, passwords, recovery codes, sessions.

Citizens register with their name and national identity number (CNIC) and a passkey; officers,
members of verifying organisations and administrators are accounts with other roles. Passkeys are
FIDO2/WebAuthn credentials checked by ``identity/webauthn.py`` (the only module that imports
``fido2``): user verification required, exact origin, sign-counter and backup-flag checks, ceremony
state server-side and single-use. Argon2id passwords and one-time recovery codes are optional other
ways in. Sessions are server-side rows keyed by the hash of a random token.
"""

from identity.errors import (
    ApiKeyRejected,
    AuthenticationFailed,
    IdentityError,
    InvalidInput,
    NotFound,
    PasskeyRejected,
    RateLimited,
)
from identity.models import (
    Account,
    ApiKey,
    AuthSession,
    Organisation,
    Passkey,
    RecoveryCode,
    Role,
)

__all__ = [
    "Account",
    "ApiKey",
    "ApiKeyRejected",
    "AuthSession",
    "AuthenticationFailed",
    "IdentityError",
    "InvalidInput",
    "NotFound",
    "Organisation",
    "Passkey",
    "PasskeyRejected",
    "RateLimited",
    "RecoveryCode",
    "Role",
]

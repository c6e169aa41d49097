"""Typed event tags: every ledger event has one of these, never a free string."""

from enum import StrEnum


class EventTag(StrEnum):
    """What happened (``area:event``)."""

    ACCOUNT_CREATED = "account:created"
    ACCOUNT_SIGNED_IN = "account:signed-in"
    ACCOUNT_SIGN_IN_FAILED = "account:sign-in-failed"
    ACCOUNT_SIGNED_OUT = "account:signed-out"
    ACCOUNT_SESSION_ENDED = "account:session-ended"
    ACCOUNT_PASSKEY_ADDED = "account:passkey-added"
    ACCOUNT_PASSKEY_RENAMED = "account:passkey-renamed"
    ACCOUNT_PASSKEY_REMOVED = "account:passkey-removed"
    ACCOUNT_PASSWORD_SET = "account:password-set"
    ACCOUNT_PASSWORD_REMOVED = "account:password-removed"
    ACCOUNT_RECOVERY_CODES_CREATED = "account:recovery-codes-created"
    ACCOUNT_RECOVERY_CODE_USED = "account:recovery-code-used"
    VAULT_DOCUMENT_UPLOADED = "vault:document-uploaded"
    VAULT_DOCUMENT_VERSION_ADDED = "vault:document-version-added"
    VAULT_DOCUMENT_VIEWED = "vault:document-viewed"
    VAULT_DOCUMENT_DOWNLOADED = "vault:document-downloaded"
    VAULT_DOCUMENT_RENAMED = "vault:document-renamed"
    VAULT_DOCUMENT_DELETED = "vault:document-deleted"
    KEYS_MASTER_KEY_ROTATED = "keys:master-key-rotated"
    DEPARTMENT_CREATED = "department:created"
    DEPARTMENT_KEY_REVOKED = "department:key-revoked"
    CERTIFICATE_ISSUED = "certificate:issued"
    CERTIFICATE_REVOKED = "certificate:revoked"
    CERTIFICATE_VERIFIED = "certificate:verified"

"""The root of every error Amanat raises on purpose.

Each package's own root error (``KeysError``, ``AuditError``, ``IdentityError``,
``VerificationError``, ``VaultError``, ``SigningError``, ``SettingsError``) derives from
:class:`AmanatError`, so the command line and ``web/errors.py`` can tell "Amanat refused this,
and says why" from "something broke" with one ``except``.
"""


class AmanatError(Exception):
    """Root of every error raised by Amanat's own code."""

"""The root of every error Amanat raises on purpose.

Each package's own root error (``KeysError``, ``AuditError``, ``IdentityError``,
``VerificationError``, ``VaultError``, ``SigningError``, ``SettingsError``) derives from
:class:`AmanatError`, so the command line and ``web/errors.py`` can tell "Amanat refused this,
and says why" from "something broke" with one ``except``.

An error meant for a reader carries a stable ``code`` and its ``params``: the words are chosen at
the door, in the reader's language (``web/messages.py`` ``ERRORS``; a test fails when a code
raised below ``web`` has no words there). ``str(error)`` stays an English line for logs.
"""

from __future__ import annotations

from typing import Any


class AmanatError(Exception):
    """Root of every error raised by Amanat's own code."""

    code: str = ""

    def __init__(self, message: str = "", *, code: str | None = None, **params: Any) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.params: dict[str, Any] = params

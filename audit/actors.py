"""Who did something, as the ledger names them: one value type instead of strings built by hand.

The ledger keeps an actor as text (``AuditEvent.actor``), and pages, filters and disputes read
that text back: ``account:7``, ``department:UNI``, ``department:UNI api-key:k1``,
``department:UNI account:7`` (an officer), ``organisation:BANK api-key:k1``,
``organisation:BANK member:7``, ``link``, ``anonymous``, ``operator``, ``system``. Building them
here keeps every producer spelling them the same way (a bank member once appeared as both
``member:7`` and ``account:7``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """An actor of the ledger; ``str(actor)`` is its text in ``AuditEvent.actor``."""

    text: str

    def __str__(self) -> str:
        return self.text

    @classmethod
    def account(cls, account_id: int) -> Actor:
        """A person acting through their own account (a citizen, an officer on their own)."""
        return cls(f"account:{account_id}")

    @classmethod
    def department(
        cls, code: str, *, api_key: str | None = None, account_id: int | None = None
    ) -> Actor:
        """A department: itself (its key signed), through an API key, or through an officer."""
        return cls(f"department:{code}" + _through(api_key, "account", account_id))

    @classmethod
    def organisation(
        cls, code: str, *, api_key: str | None = None, member_id: int | None = None
    ) -> Actor:
        """A bank or employer: through an API key, or a signed-in member."""
        return cls(f"organisation:{code}" + _through(api_key, "member", member_id))

    def is_account(self, account_id: int | None) -> bool:
        """Whether this is that account acting for itself."""
        return account_id is not None and self == Actor.account(account_id)


def _through(api_key: str | None, person: str, person_id: int | None) -> str:
    if api_key is not None:
        return f" api-key:{api_key}"
    if person_id is not None:
        return f" {person}:{person_id}"
    return ""


ANONYMOUS = Actor("anonymous")
LINK = Actor("link")
OPERATOR = Actor("operator")
SYSTEM = Actor("system")

"""The citizen's tamper-evident activity ledger.

Every security event and every access to a citizen's data is appended to one ledger table in the
same transaction as the action it records. Each event carries a typed tag (:class:`EventTag`), the
actor, the citizen it concerns, the object, the time, and a SHA-256 hash chaining it to the event
before it, so that editing, deleting or reordering a row is detected by :func:`verify_chain`.
Appends are serialised (an advisory lock on PostgreSQL, the write lock on SQLite) so that parallel
requests never fork the chain. Each event is also a leaf of an RFC 9162 Merkle tree with signed
tree heads, inclusion and consistency proofs (:mod:`audit.ledger`).
"""

from audit import tally
from audit.actors import Actor
from audit.errors import AuditError
from audit.models import AuditEvent
from audit.service import (
    ChainReport,
    NewEvent,
    list_events,
    own_events,
    record_event,
    record_events,
    record_operator,
    verify_chain,
)
from audit.tags import EventTag

__all__ = [
    "Actor",
    "AuditError",
    "AuditEvent",
    "ChainReport",
    "EventTag",
    "NewEvent",
    "list_events",
    "own_events",
    "record_event",
    "record_events",
    "record_operator",
    "tally",
    "verify_chain",
]

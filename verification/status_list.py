"""Status lists for offline verifiers: IETF Token Status List (CWT form).

The format is draft-ietf-oauth-status-list.

Why this format (not W3C Bitstring Status List): our QR codes are already COSE_Sign1 over CWT
claims, so the list is one more COSE_Sign1 the same code checks, with no JSON-LD or Data Integrity
suite; a certificate's code carries the standard ``status`` claim (65535) naming its index and the
list's URI. A list is a bit array, one bit per index (1 = revoked), compressed with DEFLATE in
the ZLIB format: every certificate of a country fits in kilobytes when few are revoked.

The list is signed by the deployment's revocation-status key (its OCSP responder's), whose
certificate rides in the header (``x5chain``) and must chain to the root the verifier already
trusts. The verifier takes the root from outside the list (the trust list it cached), never from
the list itself.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass
from typing import Any

from keys import cose, pki
from verification.errors import VerificationError

MEDIA_TYPE = "application/statuslist+cwt"
HEADER_TYP, HEADER_X5CHAIN = 16, 33
CLAIM_SUB, CLAIM_IAT, CLAIM_EXP, CLAIM_TTL, CLAIM_STATUS_LIST = 2, 6, 4, 65534, 65533
VALID, INVALID = 0, 1
# A list bigger than this, compressed or not, is refused unread (a zip bomb, not a list).
MAX_TOKEN_BYTES = 4 * 1024 * 1024
MAX_LIST_BYTES = 64 * 1024 * 1024


class StatusListRejected(VerificationError):
    """A status list that cannot be used: damaged, not ours, or out of date; the code says which."""


@dataclass(frozen=True)
class StatusList:
    """A status list whose signature and signer were checked."""

    uri: str
    issued_at: dt.datetime
    expires_at: dt.datetime
    ttl_seconds: int | None
    bits: bytes

    def status(self, idx: int) -> int | None:
        """The status at ``idx`` (0 valid, 1 revoked), or None when the list does not reach it."""
        if idx < 0 or idx >= len(self.bits) * 8:
            return None
        return (self.bits[idx // 8] >> (idx % 8)) & 1

    def expired(self, now: dt.datetime) -> bool:
        """Whether the list is past its validity at ``now``."""
        return now >= self.expires_at


def pack(revoked: set[int] | frozenset[int], size: int) -> bytes:
    """The bit array of ``size`` entries with ``revoked`` set, compressed (ZLIB, level 9).

    Index 0 is the least significant bit of the first byte, as the draft orders them."""
    bits = bytearray((size + 7) // 8)
    for idx in revoked:
        bits[idx // 8] |= 1 << (idx % 8)
    return zlib.compress(bytes(bits), 9)


def unpack(lst: bytes) -> bytes:
    """The bit array from a compressed ``lst``, bounded in size."""
    inflater = zlib.decompressobj()
    try:
        bits = inflater.decompress(lst, MAX_LIST_BYTES)
    except zlib.error:
        raise StatusListRejected("damaged list", code="status_list_damaged") from None
    if inflater.unconsumed_tail or not inflater.eof:
        raise StatusListRejected("list too large or cut", code="status_list_damaged")
    return bits


def claims_for(
    *, uri: str, revoked: set[int], size: int, issued_at: dt.datetime, valid_for: dt.timedelta
) -> dict[int, Any]:
    """The CWT claims of a status list token."""
    return {
        CLAIM_SUB: uri,
        CLAIM_IAT: int(issued_at.timestamp()),
        CLAIM_EXP: int((issued_at + valid_for).timestamp()),
        CLAIM_TTL: max(60, int(valid_for.total_seconds()) // 24),
        CLAIM_STATUS_LIST: {"bits": 1, "lst": pack(revoked, size)},
    }


def read_status_list(data: bytes, *, root_der: bytes, uri: str, now: dt.datetime) -> StatusList:
    """Check a status list token against the root and the URI the trust list names.

    StatusListRejected (``status_list_damaged`` or ``status_list_untrusted``) when it cannot be
    used. An expired list is returned: the verdict says how old it is."""
    if not isinstance(data, bytes) or len(data) > MAX_TOKEN_BYTES:
        raise StatusListRejected("too large", code="status_list_damaged")
    try:
        message = cose.read_message(data)
    except cose.CoseError:
        raise StatusListRejected("damaged", code="status_list_damaged") from None
    signer = message.header.get(HEADER_X5CHAIN)
    if message.header.get(HEADER_TYP) != MEDIA_TYPE or not isinstance(signer, bytes):
        raise StatusListRejected("not a status list", code="status_list_damaged")
    if not pki.signs_status(root_der, signer, now=now) or not _verifies(message, signer):
        raise StatusListRejected("not signed by the deployment", code="status_list_untrusted")
    parsed = _parse(message.claims)
    if parsed.uri != uri:
        raise StatusListRejected("another list", code="status_list_untrusted")
    return parsed


def _verifies(message: cose.Sign1, signer_der: bytes) -> bool:
    try:
        public = pki.load_cert(signer_der).public_key()
    except pki.PkiError:
        return False
    return message.kid == pki.kid_of(signer_der) and message.verifies_with(public)  # type: ignore[arg-type]


def _parse(claims: dict[Any, Any]) -> StatusList:
    try:
        body = claims[CLAIM_STATUS_LIST]
        uri, iat, exp = claims[CLAIM_SUB], claims[CLAIM_IAT], claims[CLAIM_EXP]
        ttl = claims.get(CLAIM_TTL)
        if not isinstance(body, dict) or body.get("bits") != 1 or not isinstance(uri, str):
            raise ValueError("structure")
        if not isinstance(body.get("lst"), bytes) or type(iat) is not int or type(exp) is not int:
            raise ValueError("structure")
        if ttl is not None and type(ttl) is not int:
            raise ValueError("ttl")
        issued = dt.datetime.fromtimestamp(iat, dt.UTC)
        expires = dt.datetime.fromtimestamp(exp, dt.UTC)
    except (KeyError, ValueError, OverflowError, OSError):
        raise StatusListRejected("damaged claims", code="status_list_damaged") from None
    return StatusList(uri, issued, expires, ttl, unpack(body["lst"]))

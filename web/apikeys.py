"""Who is calling the API: organisation API keys (``Authorization: Bearer amanat_...``), the
per-address limit on endpoints anyone can call, and refusals written where the citizen sees them."""

from __future__ import annotations

import logging
import uuid

from flask import request

from identity.errors import ApiKeyRejected
from identity.models import ApiKey
from identity.organisations import authenticate_api_key, key_id_of
from vault.shares import record_refusal
from web.context import db, now, runtime, side_transaction
from web.inputs import client_ip

log = logging.getLogger("amanat.web.shares")


def log_refusal(
    grant_id: uuid.UUID | None, actor: str, reason: str, document_id: uuid.UUID | None = None
) -> None:
    """Write a refused access to the grant's citizen's ledger, or to the service log."""
    with side_transaction() as s:
        written = record_refusal(
            s, grant_id=grant_id, actor=actor, reason=reason, now=now(), document_id=document_id
        )
    if not written:
        # No citizen to tell: the attempt goes to the service log only (no secrets in it).
        log.warning("share access refused", extra={"path": request.path, "status": reason})


def limit_shares() -> None:
    """Per-address limit on the endpoints that anyone can call (API, link shares)."""
    runtime().api_limiter.hit(
        f"shares:{client_ip()}", limit=runtime().settings.api_requests_per_minute
    )


def api_key(scope: str, grant_id: uuid.UUID | None = None) -> ApiKey:
    """The request's API key (``Authorization: Bearer amanat_...``) with ``scope``.

    A refused key is logged (for the citizen when the URL names their grant) and answered 401.
    """
    limit_shares()
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""
    try:
        return authenticate_api_key(db(), token=token, scope=scope, now=now())
    except ApiKeyRejected:
        claimed = key_id_of(token)
        log_refusal(
            grant_id, f"api-key:{claimed}" if claimed else "api-key:malformed", "api-key-refused"
        )
        raise

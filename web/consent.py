"""The page on which a citizen confirms a consent with their passkey: the same for sharing,
answering a request and attaching documents to an application."""

from __future__ import annotations

import datetime as dt
import json

from flask import render_template

from identity.passkeys import start_confirmation
from vault.shares import PendingGrant
from web.context import db, now, runtime, signed_in


def confirm_page(pending: PendingGrant, *, cancel: str | None = None) -> str:
    """The terms in plain words and the passkey's challenge over them (``cancel``: where the
    Cancel link goes; the shared-documents page by default)."""
    started = start_confirmation(
        db(),
        rp=runtime().rp,
        account=signed_in(),
        challenge=pending.challenge,
        payload=pending.terms,
        now=now(),
    )
    return render_template(
        "shares_confirm.html",
        terms=pending.terms,
        expires=dt.datetime.fromisoformat(pending.terms["expires_at"]),
        token=started.token,
        options=json.dumps(started.options),
        cancel=cancel,
    )

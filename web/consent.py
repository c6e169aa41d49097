"""The page on which a citizen confirms a consent with their passkey: the same for sharing,
answering a request and attaching documents to an application."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from flask import render_template, request

from identity.ceremonies import consume_ceremony
from identity.errors import PasskeyRejected
from identity.models import Account
from identity.passkeys import Confirmation, finish_confirmation, start_confirmation
from vault.shares import PendingGrant
from web.context import db, now, runtime, side_transaction, signed_in


def passkey_step(challenge: bytes, payload: Mapping[str, Any]) -> dict[str, str]:
    """What a page needs for its passkey button (``data-token``, ``data-options``): a ceremony
    in which the signed-in account's passkey signs ``challenge``, ``payload`` kept with it."""
    started = start_confirmation(
        db(), rp=runtime().rp, account=signed_in(), challenge=challenge, payload=payload,
        now=now(),
    )  # fmt: skip
    return {"token": started.token, "options": json.dumps(started.options)}


def confirmed() -> tuple[Account, Confirmation]:
    """The signed-in account and what its passkey just confirmed (the posted assertion over a
    ceremony of :func:`passkey_step`). The ceremony is used up even when the check fails."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("credential"), dict):
        raise PasskeyRejected()
    account_id = signed_in().id
    with side_transaction() as s:
        ceremony = consume_ceremony(s, token=str(body.get("token", "")), kind="confirm", now=now())
    me = db().get(Account, account_id)
    assert me is not None
    done = finish_confirmation(
        db(), rp=runtime().rp, ceremony=ceremony, account=me, response=body["credential"],
        now=now(),
    )  # fmt: skip
    return me, done


def confirm_page(pending: PendingGrant, *, cancel: str | None = None) -> str:
    """The terms in plain words and the passkey's challenge over them (``cancel``: where the
    Cancel link goes; the shared-documents page by default)."""
    return render_template(
        "shares_confirm.html",
        terms=pending.terms,
        expires=dt.datetime.fromisoformat(pending.terms["expires_at"]),
        cancel=cancel,
        **passkey_step(pending.challenge, pending.terms),
    )

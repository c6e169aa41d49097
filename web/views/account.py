"""The security page: passkeys, sessions, recovery codes, password, and the export of everything."""

from __future__ import annotations

import tempfile
from typing import BinaryIO, cast

from flask import (
    Blueprint,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from identity import passkeys, passwords, recovery
from identity.accounts import get_account
from identity.assisted import open_recoveries
from identity.ceremonies import consume_ceremony
from identity.errors import InvalidInput, PasskeyRejected
from identity.models import Role
from identity.sessions import end_session, list_sessions
from keys import age
from signing.export import write_export
from vault.notices import TOPICS, NoticeSettings, get_notice_settings, set_notice_settings
from web.context import (
    db,
    login_required,
    now,
    runtime,
    side_transaction,
    signed_in,
)

bp = Blueprint("account", __name__, url_prefix="/security")


@bp.get("")
@login_required()
def security() -> str:
    """Passkeys, sessions, recovery codes and password of the signed-in account."""
    me = signed_in()
    citizen = me.role == Role.CITIZEN
    return render_template(
        "security.html",
        notices=get_notice_settings(db(), ctx=runtime().vault, account_id=me.id, now=now())
        if citizen
        else None,
        topics=TOPICS,
        passkeys=me.passkeys,
        sessions=list_sessions(db(), account=me, policy=runtime().policy, now=now()),
        current_session_id=g.auth.id,
        recovery_left=recovery.remaining_codes(db(), account=me),
        has_password=me.password_hash is not None,
        min_passphrase=age.MIN_PASSPHRASE,
        recoveries=open_recoveries(db(), account_id=me.id, now=now()) if citizen else [],
    )


@bp.post("/passkeys/begin")
@login_required()
def add_passkey_begin() -> Response:
    """Options for registering another passkey."""
    started = passkeys.start_adding_passkey(db(), rp=runtime().rp, account=signed_in(), now=now())
    return jsonify({"token": started.token, "options": started.options})


@bp.post("/passkeys/complete")
@login_required()
def add_passkey_complete() -> Response:
    """Verify and store the new passkey."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("credential"), dict):
        raise PasskeyRejected()
    account_id = signed_in().id
    with side_transaction() as s:
        ceremony = consume_ceremony(
            s, token=str(body.get("token", "")), kind="add-passkey", now=now()
        )
    me = get_account(db(), account_id=account_id)
    passkeys.finish_adding_passkey(
        db(),
        rp=runtime().rp,
        ceremony=ceremony,
        account=me,
        response=body["credential"],
        passkey_name=str(body.get("passkey_name") or _("Another passkey")),
        now=now(),
    )
    flash(_("Your new passkey was added."))
    return jsonify({"redirect": url_for("account.security")})


@bp.post("/passkeys/<int:passkey_id>/rename")
@login_required()
def rename_passkey(passkey_id: int) -> Response:
    """Give a passkey a recognisable name."""
    passkeys.rename_passkey(
        db(),
        account=signed_in(),
        passkey_id=passkey_id,
        name=request.form.get("name", ""),
        now=now(),
    )
    flash(_("The passkey was renamed."))
    return redirect(url_for("account.security"))


@bp.post("/passkeys/<int:passkey_id>/remove")
@login_required()
def remove_passkey(passkey_id: int) -> Response:
    """Remove a passkey (never the last one)."""
    passkeys.remove_passkey(db(), account=signed_in(), passkey_id=passkey_id, now=now())
    flash(_("The passkey was removed."))
    return redirect(url_for("account.security"))


@bp.post("/sessions/<int:session_id>/end")
@login_required()
def end_other_session(session_id: int) -> Response:
    """Sign out another browser or device."""
    end_session(db(), account=signed_in(), session_id=session_id, now=now())
    flash(_("That session was ended."))
    return redirect(url_for("account.security"))


@bp.post("/notices")
@login_required(Role.CITIZEN)
def save_notices() -> Response:
    """How and of what the citizen is told (e-mail, SMS, both or neither)."""
    form = request.form
    wanted = NoticeSettings(
        by_email=form.get("by_email") == "1",
        by_sms=form.get("by_sms") == "1",
        topics=tuple(form.getlist("topic")),
        email=form.get("email", "")[:320],
        phone=form.get("phone", "")[:40],
        language=form.get("language", "en"),
    )
    set_notice_settings(
        db(), ctx=runtime().vault, account_id=signed_in().id, wanted=wanted, now=now()
    )
    flash(_("Your notice settings were saved."))
    return redirect(url_for("account.security") + "#notices")


@bp.post("/recovery-codes")
@login_required()
def new_recovery_codes() -> str:
    """Create new recovery codes (the old ones stop working) and show them once."""
    codes = recovery.generate_codes(db(), account=signed_in(), now=now())
    return render_template("recovery_codes.html", codes=codes)


@bp.post("/password")
@login_required()
def set_password() -> Response:
    """Set, replace or remove the optional password."""
    if request.form.get("action") == "remove":
        passwords.remove_password(db(), account=signed_in(), now=now())
        flash(_("Your password was removed. Sign in with your passkey."))
    else:
        if request.form.get("password", "") != request.form.get("confirm", ""):
            raise InvalidInput(_("The two passwords are not the same."))
        passwords.set_password(
            db(), account=signed_in(), password=request.form.get("password", ""), now=now()
        )
        flash(_("Your password was saved."))
    return redirect(url_for("account.security"))


def _export_recipient() -> age.Recipient:
    """Who the export is locked for: a pasted age key, else the passphrase (typed twice)."""
    key = request.form.get("age_key", "").strip()
    if key:
        return age.x25519_recipient(key)
    passphrase = request.form.get("passphrase", "")
    if passphrase != request.form.get("confirm", ""):
        raise InvalidInput(_("The two passphrases are not the same."))
    return age.passphrase_recipient(passphrase)


@bp.post("/export")
@login_required()
def export_everything() -> Response:
    """Everything in the vault as one age-encrypted archive (the export is in the ledger)."""
    recipient = _export_recipient()
    rt = runtime()
    out = tempfile.TemporaryFile()  # noqa: SIM115 - send_file closes it after sending
    try:
        write_export(
            db(),
            vault=rt.vault,
            keystore=rt.keystore,
            owner_id=signed_in().id,
            recipient=recipient,
            out=cast(BinaryIO, out),
            base_url=rt.settings.public_base_url,
            now=now(),
        )
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return send_file(
        out,
        mimetype="application/octet-stream",
        as_attachment=True,
        download_name=f"amanat-export-{now():%Y%m%d}.tar.age",
    )

"""Registration and sign-in: passkeys (also usernameless), password, recovery code; sign-out."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import (
    session as flask_session,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from audit import EventTag, record_event
from identity import lockout, passkeys, passwords, ratelimit, recovery
from identity.accounts import actor_of, find_by_login
from identity.ceremonies import consume_ceremony
from identity.errors import (
    AuthenticationFailed,
    InvalidInput,
    PasskeyRejected,
    RateLimited,
    RegistrationRefused,
)
from identity.models import Account, Ceremony, Role
from identity.sessions import end_all_sessions, end_session, start_session
from web.context import (
    clear_session_cookie,
    current_account,
    db,
    login_required,
    now,
    runtime,
    set_session_cookie,
    side_transaction,
)
from web.errors import retry_after, wants_json
from web.inputs import client_ip, local_path
from web.messages import refusal_text

bp = Blueprint("auth", __name__)

DEVICE_COOKIE = "amanat_device"


def _secret() -> bytes:
    key = current_app.secret_key or b""
    return key.encode() if isinstance(key, str) else bytes(key)


def limit(bucket: str, *, login: str | None = None, per_minute: int | None = None) -> None:
    """Count an attempt in its own committed transaction (failed attempts count too).

    Per client address: ``AMANAT_LOGIN_ATTEMPTS_PER_MINUTE`` a minute. With ``login`` (password
    and recovery-code guesses), also the account's counters of :mod:`identity.lockout`: the
    device's own when this browser signed in to the account before, else per account and address
    and per account in total.
    """
    rt = runtime()
    allowed = per_minute or rt.settings.login_attempts_per_minute
    checks = [lockout.Limit(f"{bucket}:{client_ip()}", allowed, dt.timedelta(minutes=1))]
    if login is not None:
        token = request.cookies.get(DEVICE_COOKIE)
        device = lockout.device_of(_secret(), token=token, login=login, now=now())
        checks += lockout.limits_for(bucket, login=login, client=client_ip(), device=device)
    with side_transaction() as s:
        for check in checks:
            ratelimit.hit(s, key=check.key, limit=check.limit, window=check.window, now=now())


def _json_body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InvalidInput(_("The request body must be a JSON object."))
    return data


def _consume(kind: str) -> tuple[Ceremony, dict[str, Any]]:
    """Use up the ceremony named in the body, committed before anything is verified."""
    body = _json_body()
    credential = body.get("credential")
    if not isinstance(credential, dict):
        raise PasskeyRejected()

    with side_transaction() as s:
        ceremony = consume_ceremony(s, token=str(body.get("token", "")), kind=kind, now=now())
    return ceremony, body


def _record_failure(account: Account | None, method: str) -> None:

    with side_transaction() as s:
        record_event(
            s,
            tag=EventTag.ACCOUNT_SIGN_IN_FAILED,
            actor=actor_of(account) if account else "anonymous",
            now=now(),
            subject_id=account.id if account else None,
            details={"method": method},
        )


def _signed_in(account: Account, method: str, target: str) -> Response:
    # A new anti-forgery token with the new privileges (no fixation across sign-in).
    flask_session.pop("csrf", None)
    known = lockout.device_of(
        _secret(), token=request.cookies.get(DEVICE_COOKIE), login=account.login, now=now()
    )
    token = start_session(
        db(),
        account=account,
        method=method,
        user_agent=request.headers.get("User-Agent", ""),
        now=now(),
        new_device=known is None,
    )
    target = target or home_of(account)
    response = jsonify({"redirect": target}) if request.is_json else redirect(target)
    set_session_cookie(response, token)
    # This browser is now trusted for the account: strangers' failures never lock it out.
    response.set_cookie(
        DEVICE_COOKIE,
        lockout.issue_device_token(_secret(), login=account.login, now=now()),
        max_age=int(lockout.DEVICE_LIFETIME.total_seconds()),
        httponly=True,
        samesite="Lax",
        secure=runtime().settings.https,
    )
    return response


def _safe_next(default: str = "") -> str:
    """The local page to go to after sign-in ("" = the account's home page)."""
    return local_path(request.args.get("next") or request.form.get("next"), default)


def home_of(account: Account) -> str:
    """Where an account lands after signing in: its vault, its department, or Security."""
    if account.role == Role.CITIZEN:
        return url_for("vault.index")
    if account.role == Role.OFFICER and account.affiliation:
        return url_for("department.index")
    if account.role == Role.DPO:
        return url_for("disputes.inbox")
    if account.role == Role.RECOVERY:
        return url_for("recovery.desk")
    return url_for("account.security")


@bp.get("/register")
def register() -> str:
    """The registration page (name, CNIC, then a passkey)."""
    return render_template("register.html")


@bp.post("/register/begin")
def register_begin() -> Response:
    """Check name and CNIC; answer with passkey creation options."""
    limit("register")
    body = _json_body()
    started = passkeys.start_citizen_registration(
        db(),
        rp=runtime().rp,
        display_name=str(body.get("name", "")),
        cnic=str(body.get("cnic", "")),
        now=now(),
    )
    return jsonify({"token": started.token, "options": started.options})


@bp.post("/register/complete")
def register_complete() -> Response:
    """Verify the new passkey, create the account, sign in."""
    ceremony, body = _consume("register")
    try:
        account = passkeys.finish_citizen_registration(
            db(),
            rp=runtime().rp,
            ceremony=ceremony,
            response=body["credential"],
            passkey_name=str(body.get("passkey_name") or _("My passkey")),
            now=now(),
        )
    except RegistrationRefused as refused:
        with side_transaction() as s:
            passkeys.record_registration_refused(s, refused=refused, now=now())
        raise
    return _signed_in(account, "passkey", url_for("vault.index"))


@bp.get("/login")
def login() -> str:
    """The sign-in page: passkey first, password and recovery code as other ways in."""
    return render_template("login.html", next=_safe_next())


@bp.post("/login/begin")
def login_begin() -> Response:
    """Passkey request options (usernameless unless a CNIC is given)."""
    limit("login")
    body = _json_body()
    started = passkeys.start_sign_in(
        db(), rp=runtime().rp, login=str(body.get("login") or "") or None, now=now()
    )
    return jsonify({"token": started.token, "options": started.options})


@bp.post("/login/complete")
def login_complete() -> Response:
    """Verify the assertion and sign in (the rate limit was counted at the start)."""
    ceremony, body = _consume("sign-in")
    try:
        account = passkeys.finish_sign_in(
            db(), rp=runtime().rp, ceremony=ceremony, response=body["credential"], now=now()
        )
    except PasskeyRejected:
        _record_failure(None, "passkey")
        raise
    return _signed_in(account, "passkey", _safe_next())


@bp.post("/login/password")
def login_password() -> Any:
    """Sign in with CNIC (or login name) and password; a refusal stays on the form."""
    login_name = request.form.get("login", "")
    try:
        limit("password", login=login_name)
        account = passwords.authenticate_password(
            db(), login=login_name, password=request.form.get("password", "")
        )
    except AuthenticationFailed as exc:
        with side_transaction() as s:
            known = find_by_login(s, login=login_name)
        _record_failure(known, "password")
        return _login_again(exc, "password", login_name)
    except RateLimited as exc:
        return _login_again(exc, "password", login_name)
    return _signed_in(account, "password", _safe_next())


def _login_again(exc: AuthenticationFailed | RateLimited, way: str, login_name: str) -> Any:
    """The sign-in page again, the refusal beside the form it came from (with a lock-out's real
    wait), the CNIC kept; a script gets the JSON error."""
    if wants_json():
        raise exc
    if isinstance(exc, RateLimited):
        message, status = refusal_text(exc), 429
    else:
        message, status = _("Sign-in failed. Check what you entered and try again."), 401
    page = render_template(
        "login.html", next=_safe_next(), error=message, way=way, login=login_name
    )
    wait = exc.params.get("wait")
    headers = {"Retry-After": retry_after(wait)} if wait else {}
    return page, status, headers


@bp.post("/login/recovery")
def login_recovery() -> Any:
    """Sign in with a one-time recovery code, then go and add a new passkey."""
    login_name = request.form.get("login", "")
    try:
        limit("recovery", login=login_name)
        account = recovery.redeem_code(
            db(), login=login_name, code=request.form.get("code", ""), now=now()
        )
    except (AuthenticationFailed, RateLimited) as exc:
        return _login_again(exc, "recovery", login_name)
    # A lost device may still hold a session: end them all.
    end_all_sessions(db(), account_id=account.id, now=now())
    flash(_("You used a recovery code. Add a new passkey now, and remove the one you lost."))
    return _signed_in(account, "recovery", url_for("account.security"))


@bp.post("/logout")
@login_required()
def logout() -> Response:
    """End this browser's session."""
    account = current_account()
    assert account is not None
    end_session(db(), account=account, session_id=g.auth.id, now=now(), signed_out=True)
    response = redirect(url_for("home.index"))
    clear_session_cookie(response)
    return response

"""What every view uses about the current request: the runtime, the request's transaction and
clock, the signed-in account, role checks, CSRF and the session cookie. Views import this module,
never web.app (the factory imports the views), so the import graph has no cycle."""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar, cast

from flask import current_app, g, request, session
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from amanat.db import transaction
from identity.models import Account
from signing.check import CertificateCheck
from signing.recording import Verification
from web.errors import CsrfFailed, Forbidden, LoginRequired
from web.metrics import observe_verification
from web.runtime import Runtime

SESSION_COOKIE = "amanat_session"
LANGUAGES = ("en", "ur")
F = TypeVar("F", bound=Callable[..., Any])


def head_max_age() -> dt.timedelta:
    """How old a signed tree head may be and still be handed out (AMANAT_TREE_HEAD_SECONDS)."""
    return dt.timedelta(seconds=runtime().settings.tree_head_seconds)


def runtime() -> Runtime:
    """The runtime of the current app."""
    return cast(Runtime, current_app.extensions["amanat"])


def db() -> Session:
    """The request's database session (one transaction per request)."""
    if "db" not in g:
        g.db = runtime().sessions()
    return cast(Session, g.db)


def read_db() -> Session:
    """The request's read-only session: on SQLite it never takes the writer lock, so a request
    that only reads (a verification, a landing page) never waits behind a write."""
    if "read_db" not in g:
        g.read_db = runtime().readers()()
    return cast(Session, g.read_db)


def record(
    check: CertificateCheck,
    *,
    actor: str,
    channel: str,
    organisation: str | None = None,
    organisation_ur: str | None = None,
) -> None:
    """Count the verdict, and hand the check of a certificate the register knows to the recorder
    (written to its holder's ledger off the request path)."""
    observe_verification(channel, check.verdict.indication.value)
    item = Verification.of(
        check, actor=actor, channel=channel, now=now(), organisation=organisation,
        organisation_ur=organisation_ur,
    )  # fmt: skip
    recorder = runtime().recorder
    if recorder is not None:
        recorder.add(item)


@contextmanager
def side_transaction() -> Iterator[Session]:
    """A separate transaction that commits whatever the request's own one does.

    For what must stick even when the request fails (a used-up ceremony, a rate-limit count, a
    failed sign-in in the ledger). The request's open transaction is rolled back first: SQLite
    has one writer, and the request would otherwise wait for itself.
    """
    request_session: Session | None = g.get("db")
    if request_session is not None:
        request_session.rollback()
    with transaction(runtime().sessions) as side:
        yield side


def now() -> Any:
    """The request's clock reading (services take time as a parameter)."""
    if "now" not in g:
        g.now = runtime().clock()
    return g.now


def current_account() -> Account | None:
    """The signed-in account, if any."""
    return cast(Account | None, g.get("account"))


def signed_in() -> Account:
    """The signed-in account, in a view that ``login_required`` guards."""
    account = current_account()
    assert account is not None
    return account


def login_required(*roles: str) -> Callable[[F], F]:
    """Require a signed-in account, optionally with one of ``roles``."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            account = current_account()
            if account is None:
                raise LoginRequired()
            if roles and account.role not in roles:
                raise Forbidden()
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorate


def csrf_token() -> str:
    """This browser's anti-forgery token (kept in the signed cookie session)."""
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return cast(str, token)


def check_csrf() -> None:
    """Refuse a state-changing browser request without this browser's anti-forgery token."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if request.path.startswith(("/pki/", "/api/", "/s/")):
        # Endpoints for machines (OCSP, TSA, the JSON API) and link shares (the posted secret is
        # the authority) use no cookie: nothing to forge.
        return
    expected = session.get("csrf")
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token", "")
    if not expected or not sent or not hmac.compare_digest(str(expected), str(sent)):
        raise CsrfFailed()


def set_session_cookie(response: BaseResponse, token: str) -> None:
    """Hand the browser its session token (HttpOnly, SameSite=Lax, Secure on HTTPS)."""
    settings = runtime().settings
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="Lax",
        secure=settings.https,
        max_age=settings.session_absolute_hours * 3600,
        path="/",
    )


def clear_session_cookie(response: BaseResponse) -> None:
    """Forget the session token in the browser."""
    response.delete_cookie(SESSION_COOKIE, path="/")

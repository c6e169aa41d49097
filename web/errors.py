"""Every error becomes an HTTP answer here, in one place.

JSON (``{"error": code, "message": text}``) for the API and for script requests; a plain page
otherwise. Never a stack trace. Unexpected exceptions are logged with the request id only.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from typing import Any

from flask import (
    Flask,
    Response,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from amanat.errors import AmanatError
from audit import AuditError
from audit.keyring import LedgerKeyError
from audit.ledger import LedgerError
from identity import errors as identity_errors
from keys import KeyStoreError
from keys.age import AgeRecipientInvalid
from signing import errors as signing_errors
from signing.applications import ApplicationNotFound, ApplicationRefused
from signing.disputes import DisputeNotFound, DisputeRefused
from signing.erasure import DeletionCertificateInvalid, ErasureRefused
from signing.recording import VerificationNotRecorded
from signing.requests import RequestClosed, RequestNotFound
from signing.transparency import NotInRecord
from signing.webhooks import WebhookRefused
from vault import errors as vault_errors
from web.messages import refusal_text
from web.notices import NoticeUndelivered

log = logging.getLogger("amanat.web")

# (error class, HTTP status, code). The first match wins, so subclasses come first.
_MAPPING: list[tuple[type[Exception], int, str]] = [
    (vault_errors.UploadTooLarge, 413, "too_large"),
    (vault_errors.UploadRejected, 400, "upload_rejected"),
    (vault_errors.DocumentNotFound, 404, "not_found"),
    (vault_errors.DocumentUnreadable, 500, "document_unreadable"),
    (vault_errors.BlobStoreError, 503, "storage_unavailable"),
    (vault_errors.InvalidShare, 400, "invalid_share"),
    (vault_errors.EmergencyRefused, 409, "emergency_refused"),
    (vault_errors.NoticeRefused, 400, "invalid_input"),
    (identity_errors.ApiKeyRejected, 401, "api_key_rejected"),
    (identity_errors.ApiKeyScopeMissing, 403, "api_key_scope"),
    (LedgerKeyError, 503, "ledger_unavailable"),
    (VerificationNotRecorded, 503, "ledger_unavailable"),
    (LedgerError, 404, "not_found"),
    (AuditError, 400, "invalid_request"),
    (identity_errors.InvalidInput, 400, "invalid_input"),
    (identity_errors.Conflict, 409, "conflict"),
    (identity_errors.NotFound, 404, "not_found"),
    (identity_errors.AuthenticationFailed, 401, "sign_in_failed"),
    (identity_errors.PasskeyRejected, 400, "passkey_rejected"),
    (identity_errors.RecoveryRefused, 409, "recovery_refused"),
    (identity_errors.RateLimited, 429, "rate_limited"),
    (identity_errors.NotAllowed, 409, "not_allowed"),
    (AgeRecipientInvalid, 400, "invalid_recipient"),
    (KeyStoreError, 503, "keystore_unavailable"),
    (NoticeUndelivered, 503, "notice_undelivered"),
    (signing_errors.CertificateNotFound, 404, "not_found"),
    (signing_errors.BatchNotFound, 404, "not_found"),
    (NotInRecord, 404, "not_found"),
    (RequestNotFound, 404, "not_found"),
    (ApplicationNotFound, 404, "not_found"),
    (DisputeNotFound, 404, "not_found"),
    (DisputeRefused, 409, "dispute_refused"),
    (ErasureRefused, 409, "erasure_refused"),
    (DeletionCertificateInvalid, 400, "deletion_certificate_invalid"),
    (ApplicationRefused, 409, "application_refused"),
    (RequestClosed, 409, "request_closed"),
    (WebhookRefused, 400, "callback_refused"),
    (signing_errors.IdempotencyKeyReused, 422, "idempotency_key_reused"),
    (signing_errors.BodyTooLarge, 413, "too_large"),
    (signing_errors.InvalidRequest, 400, "invalid_request"),
    (signing_errors.PkiNotReady, 503, "pki_not_ready"),
    (signing_errors.SigningFailed, 500, "signing_failed"),
]


class CsrfFailed(Exception):
    """The form's anti-forgery token is missing or wrong."""


class LoginRequired(Exception):
    """The page needs a signed-in account."""


class Forbidden(Exception):
    """Signed in, but this account's role may not do this."""


def wants_json() -> bool:
    """Whether the caller is a script or API client (JSON errors) rather than a page view."""
    if request.path.startswith("/api/") or request.is_json:
        return True
    if request.headers.get("X-Requested-With") == "fetch":
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def error_response(status: int, code: str, message: str) -> Response:
    """The answer for an error, as JSON or as a page."""
    g.failed = True
    if wants_json():
        response = jsonify({"error": code, "message": message})
    else:
        response = Response(
            render_template("error.html", status=status, code=code, message=message),
            mimetype="text/html",
        )
    response.status_code = status
    return response


def _public_message(exc: Exception, status: int) -> str:
    if status == 404:
        return str(_("Not found."))
    if status == 401 and isinstance(exc, identity_errors.AuthenticationFailed):
        return str(_("Sign-in failed. Check what you entered and try again."))
    if status >= 500:
        if isinstance(exc, NoticeUndelivered):
            # Said as it is (no SMS gateway set up, the gateway refused): not a generic outage.
            return refusal_text(exc)
        if isinstance(exc, vault_errors.DocumentUnreadable):
            return str(_("This document could not be read. Nothing was shown. Please report it."))
        return str(_("The service is temporarily unavailable. Please try again later."))
    if isinstance(exc, AmanatError) and exc.code:
        return refusal_text(exc)
    return str(_(str(exc))) if str(exc) else str(_("The request was not accepted."))


def retry_after(wait: dt.timedelta) -> str:
    """A Retry-After header's value: whole seconds, at least one."""
    return str(max(1, math.ceil(wait.total_seconds())))


def _mapped(status: int, code: str) -> Any:
    def handler(exc: Exception) -> Response:
        if status >= 500:
            log.error("request failed: %s", type(exc).__name__)
        own = getattr(exc, "code", "")
        response = error_response(status, own or code, _public_message(exc, status))
        wait = getattr(exc, "params", {}).get("wait")
        if isinstance(wait, dt.timedelta):
            response.headers["Retry-After"] = retry_after(wait)
        return response

    return handler


def _share_refused(exc: vault_errors.ShareRefused) -> Response:
    # 404 says nothing (another organisation's grant, a wrong link secret); 403 says why.
    return error_response(exc.status, "share_refused", _public_message(exc, exc.status))


def _csrf(_exc: CsrfFailed) -> Response:
    return error_response(
        400, "csrf_failed", _("The form expired. Please reload the page and try again.")
    )


def _login(_exc: LoginRequired) -> Any:
    if wants_json():
        return error_response(401, "login_required", _("Please sign in."))
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def _forbidden(_exc: Forbidden) -> Response:
    return error_response(403, "forbidden", _("You are not allowed to do this."))


def _too_large(_exc: RequestEntityTooLarge) -> Response:
    limit = current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
    return error_response(
        413, "too_large", _("The file is larger than the limit of %(n)s MiB.", n=limit)
    )


def _http(exc: HTTPException) -> Response:
    status = exc.code or 500
    code = (exc.name or "error").lower().replace(" ", "_")
    response = error_response(status, code, exc.description or code)
    # Keep what the exception says about itself (Allow on 405, Retry-After, ...).
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _unexpected(exc: Exception) -> Response:
    log.exception("unexpected error: %s", type(exc).__name__)
    return error_response(500, "internal_error", _("Something went wrong on our side."))


_HANDLERS: list[tuple[type[Exception], Any]] = [
    (vault_errors.ShareRefused, _share_refused),
    (CsrfFailed, _csrf),
    (LoginRequired, _login),
    (Forbidden, _forbidden),
    (RequestEntityTooLarge, _too_large),
    (HTTPException, _http),
    (Exception, _unexpected),
]


def register_error_handlers(app: Flask) -> None:
    """Install the mapping on the app: each domain error's status and code, then the web's own."""
    for exc_type, status, code in _MAPPING:
        app.register_error_handler(exc_type, _mapped(status, code))
    for exc_type, handler in _HANDLERS:
        app.register_error_handler(exc_type, handler)

"""The Flask app factory and the per-request plumbing (transaction, auth, CSRF, headers, logs)."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
import os
import re
import secrets
import time
import uuid
from pathlib import Path
from typing import Any

from flask import (
    Flask,
    Response,
    current_app,
    g,
    jsonify,
    request,
    url_for,
)
from flask_babel import Babel, format_datetime, format_decimal, format_timedelta, get_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from amanat.db import ping
from amanat.settings import Settings, load_settings
from identity.models import AuthSession
from identity.sessions import resolve_session
from web.activity_lines import as_html
from web.bidi import isolate
from web.compression import compress_static
from web.context import (
    LANGUAGES,
    SESSION_COOKIE,
    check_csrf,
    csrf_token,
    current_account,
    db,
    now,
    runtime,
)
from web.errors import register_error_handlers
from web.inputs import BoundedJSONProvider
from web.logs import configure_logging
from web.messages import (
    attempt_text,
    certificate_type_title,
    choice_text,
    document_title,
    pick,
    reason_text,
    refusal_text,
    scope_text,
    signature_word,
)
from web.metrics import observe_request
from web.proxies import TrustedProxies
from web.runtime import Runtime, build_runtime
from web.useragent import describe_agent
from web.views import (
        account,
        activity,
        applications,
        auth,
        department,
        department_api,
        department_applications,
        disputes,
        emergency,
        erasure,
        home,
        ledger,
        ops,
        pki,
        public,
        recovery,
        requests,
        shares,
        vault,
        verify,
    )


def _secret_key(path: Path) -> bytes:
    """Read the signing secret; create it (0600, exclusively) the first time."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_bytes()
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(32))
        return path.read_bytes()


def _select_locale() -> str:
    chosen = request.args.get("lang") or request.cookies.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or "en"


def _config(cfg: Settings) -> dict[str, Any]:
    """Flask's settings from Amanat's."""
    return {
        "SECRET_KEY": _secret_key(cfg.secret_key_file),
        # Room for the multipart envelope around a file of the maximum size.
        "MAX_CONTENT_LENGTH": cfg.max_upload_bytes + 64 * 1024,
        # Text fields stay small; must exceed the multipart parser's 64 KiB read buffer.
        "MAX_FORM_MEMORY_SIZE": 512 * 1024,
        "SESSION_COOKIE_NAME": "amanat_csrf",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": cfg.https,
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": cfg.time_zone,
        "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).parent / "translations"),
    }


def _register_views(app: Flask) -> None:
    modules = (
        home,
        auth,
        vault,
        account,
        activity,
        pki,
        department,
        department_api,
        department_applications,
        applications,
        disputes,
        emergency,
        erasure,
        recovery,
        verify,
        shares,
        requests,
        ledger,
        ops,
        public,
    )
    for module in modules:
        app.register_blueprint(module.bp)
    app.add_url_rule("/healthz", "healthz", _healthz)


def _healthz() -> Response:
    """The database answers and the key store opens (200), or which of them does not (503)."""
    rt = runtime()
    status = {"database": "ok", "keystore": "ok"}
    try:
        ping(rt.engine)
    except Exception:
        status["database"] = "unavailable"
    try:
        rt.keystore.check()
    except Exception:
        status["keystore"] = "unavailable"
    response = jsonify(status)
    response.status_code = 200 if set(status.values()) == {"ok"} else 503
    return response


def create_app(
    settings: Settings | None = None,
    *,
    runtime_: Runtime | None = None,
    test_config: dict[str, Any] | None = None,
) -> Flask:
    """Build the web app. Tests pass a ready runtime (engine, key store, clock)."""
    if runtime_ is None:
        runtime_ = build_runtime(settings or load_settings())
    cfg = runtime_.settings
    app = Flask(__name__)
    app.wsgi_app = TrustedProxies(app.wsgi_app, cfg.proxy_networks)  # type: ignore[method-assign]
    app.json = BoundedJSONProvider(app)
    app.extensions["amanat"] = runtime_
    app.config.update(_config(cfg))
    if test_config:
        app.config.update(test_config)
    configure_logging(cfg.log_level)
    Babel(app, locale_selector=_select_locale)
    register_error_handlers(app)
    _register_views(app)
    app.jinja_env.filters.update(
        when=_when, day=_day, month=_month_name, duration=_duration, isolate=isolate,
        size=_size,
    )
    app.jinja_env.globals.update(
        csrf_token=csrf_token,
        current_account=current_account,
        get_locale=get_locale,
        static_url=static_url,
        reason_text=reason_text,
        describe_agent=describe_agent,
        line_html=as_html,
        pick=pick,
        attempt_text=attempt_text,
        choice_text=choice_text,
        signature_word=signature_word,
        refusal=refusal_text,
        scope_text=scope_text,
        certificate_type_title=certificate_type_title,
        document_title=document_title,
    )
    app.before_request(_before)
    app.after_request(_after)
    app.teardown_request(_teardown)
    return app


def _before() -> None:
    g.request_id = request.headers.get("X-Request-Id", "")[:64] or uuid.uuid4().hex
    g.started = time.perf_counter()
    if request.endpoint in ("healthz", "static", "ops.readyz", "ops.metrics"):
        return
    check_csrf()
    token = request.cookies.get(SESSION_COOKIE, "")
    if token:
        auth: AuthSession | None = resolve_session(
            db(), token=token, policy=runtime().policy, now=now()
        )
        if auth is not None:
            g.auth = auth
            g.account = auth.account


_HASHED_NAME = re.compile(r"-[0-9a-f]{10}\.[a-z0-9]+$")


@functools.lru_cache(maxsize=64)
def _static_version(folder: str, filename: str) -> str:
    """The first 12 hex digits of a static file's SHA-256 (its cache-busting version)."""
    try:
        return hashlib.sha256((Path(folder) / filename).read_bytes()).hexdigest()[:12]
    except OSError:
        return ""


def static_url(filename: str) -> str:
    """The URL of a static file with its content version: browsers keep it for a year."""
    folder = current_app.static_folder or ""
    return url_for("static", filename=filename, v=_static_version(folder, filename))


def _when(value: Any) -> str:
    """A moment as a person reads it, in their language and the service's time zone
    ("1 December 2026, 12:25"), never an ISO string (one given is read first)."""
    if value is None:
        return "—"
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    locale = get_locale()
    # Urdu separates with its own comma (،), which also keeps the order right to left.
    comma = "\u060c" if locale is not None and locale.language == "ur" else ","
    return str(format_datetime(value, f"d MMMM y{comma} HH:mm"))


def _month_name(value: str) -> str:
    """A ``YYYY-MM`` month as a person reads it ("December 2026", "دسمبر 2026")."""
    try:
        first = dt.datetime.strptime(value, "%Y-%m")
    except ValueError:
        return value
    return str(format_datetime(first, "MMMM y"))


def _duration(value: Any) -> str:
    """A length of time as a person says it, in their language ("3 days", "5 hours")."""
    return str(format_timedelta(value, granularity="minute")) if value is not None else "—"


def _size(value: Any) -> str:
    """A file's size in the reader's language and digits ("12.5 kB" / "12.5 کے بی")."""
    size = int(value or 0)
    if size < 1000:
        return str(_("%(n)s bytes", n=format_decimal(size)))
    if size < 1000 * 1000:
        return str(_("%(n)s kB", n=format_decimal(round(size / 1000, 1))))
    return str(_("%(n)s MB", n=format_decimal(round(size / 1000 / 1000, 1))))


def _day(value: Any) -> str:
    """A day as a person reads it ("1 December 2026")."""
    return str(format_datetime(value, "d MMMM y")) if value is not None else "—"


def _static_caching(response: Response) -> None:
    """A year, immutable, for a file whose name or ?v= carries its content; else revalidate.
    Text files go compressed to a browser that takes gzip (web/compression.py)."""
    headers = response.headers
    filename = (request.view_args or {}).get("filename", "")
    folder = current_app.static_folder or ""
    current = _static_version(folder, filename)
    compress_static(response, folder=folder, filename=filename, version=current)
    if _HASHED_NAME.search(filename) or (current and request.args.get("v") == current):
        headers["Cache-Control"] = "public, max-age=31536000, immutable"
    else:
        headers["Cache-Control"] = "no-cache"


# Paths whose answers may carry a citizen's data even without a signed-in account: API keys
# fetching shared documents, link shares opened with their secret, the QR landing page.
_PRIVATE_PREFIXES = (
    "/vault", "/api/v1/shared", "/s/", "/shares", "/activity", "/org", "/erasure/", "/recover/",
    "/emergency",
)  # fmt: skip


def _logged_path() -> str:
    """The path as the access log keeps it: the secret of an erasure or recovery link is left
    out (the rest of the path stays, e.g. /recover/…/begin)."""
    for prefix in ("/erasure/", "/recover/"):
        if request.path.startswith(prefix):
            rest = request.path[len(prefix) :].partition("/")[2]
            return prefix + "…" + ("/" + rest if rest else "")
    return request.path


def _carries_citizen_data() -> bool:
    """Whether no cache (browser, proxy) may keep this answer."""
    return current_account() is not None or request.path.startswith(_PRIVATE_PREFIXES)


def _after(response: Response) -> Response:
    s: Session | None = g.pop("db", None)
    if s is not None:
        # A commit that appended events starts the head signer (web/runtime.py): within
        # AMANAT_TREE_HEAD_SECONDS a signed tree head covers what this request wrote.
        try:
            if response.status_code < 400 and not g.get("failed"):
                s.commit()
            else:
                s.rollback()
        finally:
            s.close()
    settings = runtime().settings
    headers = response.headers
    headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    )
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
    if settings.https:
        headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
    if request.endpoint == "static":
        _static_caching(response)
    elif _carries_citizen_data():
        headers.setdefault("Cache-Control", "no-store")
    headers["X-Request-Id"] = g.get("request_id", "")
    if settings.node_name:
        headers["X-Amanat-Node"] = settings.node_name
    seconds = time.perf_counter() - g.get("started", time.perf_counter())
    observe_request(request.endpoint, request.method, response.status_code, seconds)
    logging.getLogger("amanat.web.access").info(
        "request",
        extra={
            "request_id": g.get("request_id"),
            "method": request.method,
            "path": _logged_path(),
            "status": response.status_code,
            "ms": round(seconds * 1000, 1),
        },
    )
    return response


def _teardown(_exc: BaseException | None) -> None:
    for name in ("db", "read_db"):
        s: Session | None = g.pop(name, None)
        if s is not None:
            s.rollback()
            s.close()

"""Requests for documents: organisation members ask (/org/requests), API keys with scope
``requests`` ask (/api/v1/requests); the citizen opens the link or QR code (/r/<request>) or their
Requests page, and approves with a passkey or declines."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from audit.actors import Actor
from identity.models import ApiKey, Role
from identity.organisations import find_organisation, organisations_by_code
from signing.errors import InvalidRequest
from signing.models import DocumentRequest
from signing.qr import qr_png
from signing.requests import (
    ASKABLE_KINDS,
    CallbackPolicy,
    check_asked,
    citizen_request,
    citizen_requests,
    create_request,
    decline_request,
    ensure_open,
    find_request,
    matching_documents,
    organisation_request,
    organisation_requests,
    prepare_answer,
    request_state,
)
from signing.types import certificate_types
from signing.webhooks import deliveries_for
from vault.notices import normalize_phone
from web.apikeys import api_key
from web.consent import confirm_page
from web.context import current_account, db, login_required, now, runtime, signed_in
from web.inputs import uuid_or_404
from web.messages import KIND_LABELS, pick
from web.notices import SMS_MAX, send_sms

bp = Blueprint("requests", __name__)

STATE_LABELS = {
    "pending": _l("Waiting for an answer"),
    "approved": _l("Approved"),
    "declined": _l("Declined"),
    "expired": _l("Expired"),
}


def _number(raw: object, name: str, default: int | None) -> int | None:
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        raise InvalidRequest("Not a number.", code="request_number", name=name)
    try:
        return int(str(raw).strip())
    except ValueError:
        raise InvalidRequest("Not a number.", code="request_number", name=name) from None


def _policy() -> CallbackPolicy:
    settings = runtime().settings
    return CallbackPolicy(require_https=settings.https, allowed=settings.webhook_networks)


def _link(req: DocumentRequest) -> str:
    base = runtime().settings.public_base_url.rstrip("/")
    return base + url_for("requests.landing", request_id=str(req.id))


def _create(organisation_code: str, actor: str, values: dict[str, Any]) -> DocumentRequest:
    """Check what is asked and record the request (the one service both doors call)."""
    asked = check_asked(
        types=values["types"], kinds=values["kinds"], purpose=str(values.get("purpose") or ""),
        days=_number(values.get("days"), "days", 30) or 0,
        max_fetches=_number(values.get("max_fetches"), "max_fetches", None),
        cnic=values.get("cnic") or None, callback_url=values.get("callback_url") or None,
        open_days=_number(values.get("open_days"), "open_days", 7) or 0, policy=_policy(),
    )  # fmt: skip
    return create_request(
        db(), organisation_code=organisation_code, actor=actor, asked=asked, now=now()
    )


# -- the citizen ----------------------------------------------------------------------------------


@bp.get("/requests")
@login_required(Role.CITIZEN)
def index() -> str:
    """Requests for this citizen: those waiting for an answer first."""
    rows = citizen_requests(db(), account=signed_in(), now=now())
    waiting = [r for r in rows if request_state(r, now()) == "pending"]
    others = [r for r in rows if r not in waiting]
    return render_template("requests.html", waiting=waiting, others=others, **_names(rows))


def _names(rows: Any) -> dict[str, Any]:
    """Organisations by code and the certificate types, for the templates."""
    codes = {r.organisation_code for r in rows}
    orgs = organisations_by_code(db(), codes=codes)
    return {
        "orgs": orgs,
        "types": certificate_types(),
        "kinds": KIND_LABELS,
        "labels": STATE_LABELS,
        "state": lambda r: request_state(r, now()),
    }


@bp.get("/r/<uuid:request_id>")
def landing(request_id: uuid.UUID) -> str:
    """The request's link: who asks and why; a signed-in citizen sees what matches and answers."""
    rid = request_id
    me = current_account()
    if me is None or me.role != Role.CITIZEN:
        req = find_request(db(), request_id=rid)
        return render_template("request_public.html", req=req, **_names([req]))
    req = citizen_request(db(), request_id=rid, account=me, now=now())
    matches = matching_documents(db(), req=req, owner_id=me.id)
    return render_template("request.html", req=req, matches=matches, **_names([req]))


@bp.post("/r/<uuid:request_id>/approve")
@login_required(Role.CITIZEN)
def approve(request_id: uuid.UUID) -> str:
    """The consent that answers the request, in plain words, to confirm with the passkey."""
    rid = request_id
    chosen = [uuid_or_404(v) for v in request.form.getlist("document")]
    me = signed_in()
    pending = prepare_answer(db(), request_id=rid, account=me, document_ids=chosen, now=now())
    return confirm_page(pending, cancel=url_for("requests.landing", request_id=str(rid)))


@bp.post("/r/<uuid:request_id>/decline")
@login_required(Role.CITIZEN)
def decline(request_id: uuid.UUID) -> Response:
    """Say no: nothing is shared, the organisation is told."""
    decline_request(db(), request_id=request_id, account=signed_in(), now=now())
    flash(_("You declined the request. Nothing was shared."))
    return redirect(url_for("requests.landing", request_id=request_id))


@bp.get("/r/<uuid:request_id>/qr.png")
def qr(request_id: uuid.UUID) -> Response:
    """The request's link as a QR code, for a counter's screen or a printed slip."""
    req = find_request(db(), request_id=request_id)
    png, _version = qr_png(_link(req), box_size=6)
    response = Response(png, mimetype="image/png")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


# -- organisation members -------------------------------------------------------------------------


def _member_org() -> str:
    me = signed_in()
    if not me.affiliation:
        abort(403)
    return me.affiliation


@bp.get("/org/requests")
@login_required(Role.VERIFIER)
def org_index() -> str:
    """The organisation's requests and where each stands."""
    rows = organisation_requests(db(), organisation_code=_member_org(), now=now())
    return render_template("org_requests.html", rows=rows, **_names(rows))


@bp.get("/org/requests/new")
@login_required(Role.VERIFIER)
def org_new() -> str:
    """The form: what to ask for, why, for how long."""
    return render_template(
        "org_request_new.html", types=certificate_types(), kinds=KIND_LABELS, askable=ASKABLE_KINDS
    )


@bp.post("/org/requests/new")
@login_required(Role.VERIFIER)
def org_create() -> Response:
    """Record the request and show its link and QR code."""
    form = request.form
    values = {**form.to_dict(), "types": form.getlist("type"), "kinds": form.getlist("kind")}
    actor = Actor.organisation(_member_org(), member_id=signed_in().id)
    req = _create(_member_org(), str(actor), values)
    return redirect(url_for("requests.org_detail", request_id=str(req.id)), code=303)


@bp.get("/org/requests/<uuid:request_id>")
@login_required(Role.VERIFIER)
def org_detail(request_id: uuid.UUID) -> str:
    """One request: its link and QR code, its state, the consent it got, every webhook try."""
    req = organisation_request(
        db(), request_id=request_id, organisation_code=_member_org(), now=now()
    )
    return render_template(
        "org_request.html", req=req, link=_link(req),
        deliveries=deliveries_for(db(), request_id=req.id), **_names([req]),
    )  # fmt: skip


# Texts sent by SMS for one organisation in a minute (each costs money and reaches a phone).
SMS_PER_MINUTE = 20


@bp.post("/org/requests/<uuid:request_id>/sms")
@login_required(Role.VERIFIER)
def org_sms(request_id: uuid.UUID) -> Response:
    """Send the request's link to the citizen's phone (in the language of this page)."""
    code = _member_org()
    req = organisation_request(
        db(), request_id=request_id, organisation_code=code, now=now()
    )
    ensure_open(req, now())
    phone = normalize_phone(request.form.get("phone", ""))
    runtime().api_limiter.hit(f"request-sms:{code}", limit=SMS_PER_MINUTE)
    org = find_organisation(db(), code=code)
    who = pick(org.name, org.name_ur) if org is not None else code
    text = _("%(who)s asks for your documents on Amanat: %(link)s", who=who, link=_link(req))
    send_sms(runtime().settings, to=phone, text=text[:SMS_MAX])
    flash(_("The link was sent by SMS to %(phone)s.", phone=phone))
    return redirect(url_for("requests.org_detail", request_id=request_id), code=303)


# -- the API --------------------------------------------------------------------------------------


def _request_json(req: DocumentRequest) -> dict[str, Any]:
    return {
        "request": str(req.id),
        "status": request_state(req, now()),
        "types": req.types,
        "kinds": req.kinds,
        "purpose": req.purpose,
        "days": req.days,
        "max_fetches": req.max_fetches,
        "created_at": req.created_at.isoformat(),
        "expires_at": req.expires_at.isoformat(),
        "answered_at": req.answered_at.isoformat() if req.answered_at else None,
        "link": _link(req),
        "qr": url_for("requests.qr", request_id=str(req.id)),
        "grant": str(req.grant_id) if req.grant_id else None,
        "grant_href": url_for("shares.api_grant", grant_id=str(req.grant_id))
        if req.grant_id
        else None,
        "callback_url": req.callback_url,
        "deliveries": [
            {
                "event": d.event,
                "status": d.status,
                "attempts": [
                    {
                        "at": a.at.isoformat(),
                        "status_code": a.status_code,
                        "error": a.error,
                        "ms": a.ms,
                    }
                    for a in d.tries
                ],
            }
            for d in deliveries_for(db(), request_id=req.id)
        ],
    }


def _api_actor(key: ApiKey) -> str:
    return str(Actor.organisation(key.organisation_code, api_key=key.key_id))


@bp.post("/api/v1/requests")
def api_create() -> tuple[Response, int]:
    """Ask for documents; 201 with the request's link and QR code."""
    key = api_key("requests")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidRequest("Not a JSON object.", code="api_body_not_object")
    lists = {name: body.get(name, []) for name in ("types", "kinds")}
    if not all(isinstance(v, list) and all(isinstance(i, str) for i in v) for v in lists.values()):
        raise InvalidRequest("Bad list.", code="request_lists")
    texts = ("purpose", "cnic", "callback_url")
    if any(body.get(name) is not None and not isinstance(body.get(name), str) for name in texts):
        raise InvalidRequest(
            "Not a string.", code="api_field_not_string", name="purpose, cnic, callback_url"
        )
    req = _create(key.organisation_code, _api_actor(key), {**body, **lists})
    return jsonify(_request_json(req)), 201


@bp.get("/api/v1/requests/<uuid:request_id>")
def api_get(request_id: uuid.UUID) -> Response:
    """Where a request stands: pending, approved (with the consent to fetch under), declined or
    expired; every webhook attempt."""
    key = api_key("requests")
    req = organisation_request(
        db(), request_id=request_id, organisation_code=key.organisation_code, now=now()
    )
    return jsonify(_request_json(req))

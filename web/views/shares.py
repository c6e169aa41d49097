"""Sharing under consent: the citizen's /shares pages, organisation members' /org pages, link
shares (/s/<grant>, secret in the URL fragment) and the organisation API (/api/v1/shared).

Every refused access is written to the citizen's ledger in a transaction of its own (the refused
request's transaction rolls back), then answered 403/404 without saying more than needed.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from audit.actors import Actor
from identity.models import ApiKey, Role
from identity.organisations import list_organisations
from signing.issuance import certificates_for_documents, issued_facts
from signing.requests import confirm_consent
from vault.erasure import consents_ended_by_erasure
from vault.errors import InvalidShare, ShareRefused
from vault.models import Grant
from vault.service import list_documents
from vault.shares import (
    Recipient,
    accesses,
    consent_receipt,
    fetch_shared_document,
    get_own_grant,
    grant_state,
    grants_for_organisation,
    list_grants,
    list_shared,
    prepare_grant,
    withdraw_grant,
)
from web.activity_lines import describe
from web.apikeys import api_key, limit_shares, log_refusal
from web.consent import confirm_page, confirmed
from web.context import (
    db,
    login_required,
    now,
    runtime,
    signed_in,
)
from web.inputs import uuid_or_404
from web.messages import CONSENT_STATES
from web.receipt import receipt_pdf
from web.responses import send_opened

bp = Blueprint("shares", __name__)
T = TypeVar("T")


def _refusing(
    grant_id: uuid.UUID | None,
    actor: str,
    action: Callable[[], T],
    document_id: uuid.UUID | None = None,
) -> T:
    """Run an access; a refusal is logged for the citizen in its own transaction, then raised."""
    try:
        return action()
    except ShareRefused as refused:
        log_refusal(grant_id, actor, refused.reason, document_id)
        raise


def _shared_grant(grant_id: uuid.UUID, recipient: Recipient) -> Grant:
    """The grant for this recipient (the look is written to the citizen's ledger)."""
    return _refusing(
        grant_id,
        recipient.actor,
        lambda: list_shared(db(), grant_id=grant_id, recipient=recipient, now=now()),
    )


def _shared_file(grant_id: uuid.UUID, document_id: uuid.UUID, recipient: Recipient) -> Response:
    """A shared document as a download (counted and written to the citizen's ledger)."""
    opened = _refusing(
        grant_id,
        recipient.actor,
        lambda: fetch_shared_document(
            db(),
            ctx=runtime().vault,
            grant_id=grant_id,
            document_id=document_id,
            recipient=recipient,
            now=now(),
        ),
        document_id=document_id,
    )
    return send_opened(opened, download=True)


def _int_field(name: str) -> int | None:
    raw = (request.form.get(name) or "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise InvalidShare(_("Please enter a whole number.")) from None


# -- the citizen ----------------------------------------------------------------------------------


@bp.get("/shares")
@login_required(Role.CITIZEN)
def index() -> str:
    """Every grant with its state and each access under it."""
    me = signed_in()
    grants = list_grants(db(), owner_id=me.id, now=now())
    rows = [(g, grant_state(g, now()), accesses(db(), grant=g)) for g in grants]
    return render_template("shares.html", rows=rows, labels=CONSENT_STATES, describe=describe)


@bp.get("/shares/new")
@login_required(Role.CITIZEN)
def new() -> str:
    """The form: documents, recipient, purpose, duration, download limit."""
    me = signed_in()
    chosen = set(request.args.getlist("document"))
    documents = list_documents(db(), owner_id=me.id)
    return render_template(
        "shares_new.html",
        documents=documents,
        issued=issued_facts(db(), document_ids=[d.id for d in documents]),
        organisations=list_organisations(db()),
        chosen=chosen,
    )


@bp.post("/shares/new")
@login_required(Role.CITIZEN)
def prepare() -> str:
    """Check the request and show the terms in plain words, to confirm with a passkey."""
    me = signed_in()
    recipient = request.form.get("recipient", "")
    days = _int_field("days")
    pending = prepare_grant(
        db(),
        owner_id=me.id,
        document_ids=[uuid_or_404(v) for v in request.form.getlist("document")],
        purpose=request.form.get("purpose", ""),
        days=days if days is not None else 30,
        organisation_code=None if recipient in ("", "link") else recipient,
        max_fetches=_int_field("max_fetches"),
        now=now(),
    )
    return confirm_page(pending)


@bp.post("/shares/confirm")
@login_required(Role.CITIZEN)
def confirm() -> Response:
    """Verify the passkey's signature over the terms and store the grant."""
    me, confirmation = confirmed()
    created = confirm_consent(db(), owner_id=me.id, confirmation=confirmation, now=now())
    target = url_for("shares.detail", grant_id=str(created.grant.id))
    if created.link_secret:
        # The secret travels only in the fragment: the page shows the link once, it is never sent.
        target += "#link=" + created.link_secret
    flash(_("Your consent was recorded."))
    return jsonify({"redirect": target})


@bp.get("/shares/<uuid:grant_id>")
@login_required(Role.CITIZEN)
def detail(grant_id: uuid.UUID) -> str:
    """One grant: terms, state, accesses, receipts, withdraw."""
    grant = get_own_grant(db(), owner_id=signed_in().id, grant_id=grant_id)
    state = grant_state(grant, now())
    return render_template(
        "share.html",
        grant=grant,
        state=state,
        labels=CONSENT_STATES,
        events=accesses(db(), grant=grant),
        describe=describe,
        link_base=runtime().settings.public_base_url.rstrip("/")
        + url_for("shares.link_page", grant_id=str(grant.id)),
    )


@bp.post("/shares/<uuid:grant_id>/withdraw")
@login_required(Role.CITIZEN)
def withdraw(grant_id: uuid.UUID) -> Response:
    """End the consent at once."""
    withdraw_grant(db(), owner_id=signed_in().id, grant_id=grant_id, now=now())
    flash(_("Consent withdrawn. Nobody can fetch these documents under it any more."))
    return redirect(url_for("shares.detail", grant_id=grant_id))


def _receipt(grant: Grant, fmt: str) -> Response:
    receipt, token = consent_receipt(
        db(),
        grant=grant,
        ctx=runtime().vault,
        base_url=runtime().settings.public_base_url,
        now=now(),
    )
    if fmt == "pdf":
        response = Response(receipt_pdf(receipt, token), mimetype="application/pdf")
        response.headers["Content-Disposition"] = (
            f'attachment; filename="consent-receipt-{grant.id}.pdf"'
        )
        return response
    response = jsonify({"receipt": receipt, "jws": token})
    response.headers["Content-Disposition"] = (
        f'attachment; filename="consent-receipt-{grant.id}.json"'
    )
    return response


@bp.get("/shares/<uuid:grant_id>/receipt.<fmt>")
@login_required(Role.CITIZEN)
def receipt(grant_id: uuid.UUID, fmt: str) -> Response:
    """The consent receipt, signed by the service (JSON with its JWS, or a printable PDF)."""
    if fmt not in ("json", "pdf"):
        abort(404)
    return _receipt(
        get_own_grant(db(), owner_id=signed_in().id, grant_id=grant_id), fmt
    )


# -- organisation members -------------------------------------------------------------------------


def _member_recipient() -> Recipient:
    me = signed_in()
    if not me.affiliation:
        abort(403)
    actor = Actor.organisation(me.affiliation or "", member_id=me.id)
    return Recipient(actor=str(actor), organisation_code=me.affiliation)


@bp.get("/org")
@login_required(Role.VERIFIER)
def org_index() -> str:
    """The organisation's active grants."""
    recipient = _member_recipient()
    assert recipient.organisation_code is not None
    code = recipient.organisation_code
    grants = grants_for_organisation(db(), organisation_code=code, now=now())
    ended = consents_ended_by_erasure(db(), recipient_kind="organisation", code=code,
                                      since=now() - dt.timedelta(days=30))  # fmt: skip
    return render_template("org.html", grants=grants, ended=ended)


@bp.get("/org/grants/<uuid:grant_id>")
@login_required(Role.VERIFIER)
def org_grant(grant_id: uuid.UUID) -> str:
    """The documents shared under one grant."""
    recipient = _member_recipient()
    gid = grant_id
    grant = _shared_grant(gid, recipient)
    # What a clerk must know before relying on a document: is it a certificate the register
    # still lists as valid, and how many downloads the consent has left.
    certificates = certificates_for_documents(
        db(), document_ids=[d.document_id for d in grant.documents]
    )
    return render_template("org_grant.html", grant=grant, certificates=certificates)


@bp.get("/org/grants/<uuid:grant_id>/documents/<uuid:document_id>")
@login_required(Role.VERIFIER)
def org_document(grant_id: uuid.UUID, document_id: uuid.UUID) -> Response:
    """Download a shared document (counted and written to the citizen's ledger)."""
    recipient = _member_recipient()
    gid, did = grant_id, document_id
    return _shared_file(gid, did, recipient)


@bp.get("/org/grants/<uuid:grant_id>/receipt.json")
@login_required(Role.VERIFIER)
def org_receipt(grant_id: uuid.UUID) -> Response:
    """The organisation's copy of the consent receipt."""
    recipient = _member_recipient()
    gid = grant_id
    grant = _shared_grant(gid, recipient)
    return _receipt(grant, "json")


# -- link shares ----------------------------------------------------------------------------------


def _link_recipient() -> Recipient:
    limit_shares()
    return Recipient(actor="link", link_secret=(request.form.get("secret") or "").strip())


@bp.get("/s/<uuid:grant_id>")
def link_page(grant_id: uuid.UUID) -> str:
    """The link's landing page: the secret comes from the URL fragment (script) or is typed."""
    return render_template("link.html", grant_id=grant_id, grant=None)


@bp.post("/s/<uuid:grant_id>")
def link_open(grant_id: uuid.UUID) -> str:
    """List the documents shared by link (the secret is posted, never in a URL)."""
    gid = grant_id
    recipient = _link_recipient()
    grant = _shared_grant(gid, recipient)
    return render_template(
        "link.html", grant_id=grant_id, grant=grant, secret=recipient.link_secret
    )


@bp.post("/s/<uuid:grant_id>/documents/<uuid:document_id>")
def link_document(grant_id: uuid.UUID, document_id: uuid.UUID) -> Response:
    """Download one document shared by link."""
    gid, did = grant_id, document_id
    recipient = _link_recipient()
    return _shared_file(gid, did, recipient)


# -- the organisation API -------------------------------------------------------------------------


def _api_recipient(key: ApiKey) -> Recipient:
    return Recipient(
        actor=str(Actor.organisation(key.organisation_code, api_key=key.key_id)),
        organisation_code=key.organisation_code,
    )


def _grant_json(grant: Grant) -> dict[str, Any]:
    return {
        "grant": str(grant.id),
        "purpose": grant.purpose,
        "created_at": grant.created_at.isoformat(),
        "expires_at": grant.expires_at.isoformat(),
        "max_fetches": grant.max_fetches,
        "fetches": grant.fetch_count,
        "citizen": grant.terms.get("citizen", {}).get("name"),
        "documents": [
            {
                "id": str(d.document_id),
                "title": d.title,
                "href": url_for(
                    "shares.api_document", grant_id=str(grant.id), document_id=str(d.document_id)
                ),
            }
            for d in grant.documents
        ],
    }


@bp.get("/api/v1/shared")
def api_grants() -> Response:
    """The key's organisation's active grants."""
    key = api_key("shares:read")
    grants = grants_for_organisation(db(), organisation_code=key.organisation_code, now=now())
    return jsonify({"grants": [_grant_json(g) for g in grants]})


@bp.get("/api/v1/shared/<uuid:grant_id>")
def api_grant(grant_id: uuid.UUID) -> Response:
    """One grant and its documents (the look is written to the citizen's ledger)."""
    gid = grant_id
    recipient = _api_recipient(api_key("shares:read", gid))
    grant = _shared_grant(gid, recipient)
    return jsonify(_grant_json(grant))


@bp.get("/api/v1/shared/<uuid:grant_id>/documents/<uuid:document_id>")
def api_document(grant_id: uuid.UUID, document_id: uuid.UUID) -> Response:
    """A shared document's bytes."""
    gid, did = grant_id, document_id
    recipient = _api_recipient(api_key("shares:read", gid))
    return _shared_file(gid, did, recipient)


@bp.get("/api/v1/shared/<uuid:grant_id>/receipt")
def api_receipt(grant_id: uuid.UUID) -> Response:
    """The organisation's copy of the signed consent receipt."""
    gid = grant_id
    recipient = _api_recipient(api_key("shares:read", gid))
    grant = _shared_grant(gid, recipient)
    return _receipt(grant, "json")

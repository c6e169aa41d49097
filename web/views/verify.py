"""Public verification: /verify (upload a PDF), /v/<serial> (QR landing), and the JSON API."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import re
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from audit.actors import ANONYMOUS, Actor
from identity.models import Role
from identity.organisations import find_organisation
from keys.pki import kid_of, load_cert, public_key_der
from signing.check import CertificateCheck, check_pdf, check_qr
from signing.errors import CertificateNotFound
from signing.issuance import get_certificate
from signing.pki import get_department, published_trust, urdu_names
from signing.status_list import list_uri, newest_status_list, renew_status_list, servable
from signing.types import certificate_types
from verification.status_list import MEDIA_TYPE
from web.apikeys import api_key
from web.context import current_account, db, now, read_db, record, runtime
from web.errors import error_response
from web.inputs import client_ip
from web.messages import reason_text
from web.report import headline, holder_name, register_status, report_pdf, signer_name

bp = Blueprint("verify", __name__)
MAX_PDF = 25 * 1024 * 1024
MAX_QR_TEXT = 4096  # as the OpenAPI document says


def _limit(bucket: str) -> None:
    runtime().api_limiter.hit(
        f"{bucket}:{client_ip()}", limit=runtime().settings.api_requests_per_minute
    )


def _pdf_from_request() -> bytes | None:
    if (request.content_length or 0) > MAX_PDF + 64 * 1024:
        abort(413)
    file = request.files.get("file")
    if file is not None:
        data = file.stream.read(MAX_PDF + 1)
    elif "file" in request.form:
        # A 'file' part sent without a file name arrives as a field: it is still the upload.
        data = request.form["file"].encode("utf-8", "surrogateescape")
    elif request.mimetype == "application/pdf":
        data = request.get_data(cache=False)[: MAX_PDF + 1]
    else:
        return None
    if len(data) > MAX_PDF:
        abort(413)
    return data


@bp.get("/verify")
def verify_page() -> str:
    """Upload a certificate PDF, or type its serial."""
    return render_template("verify.html")


@bp.post("/verify")
def verify_upload() -> Any:
    """Judge an uploaded PDF and show the answer (the file is not kept)."""
    _limit("verify")
    data = _pdf_from_request()
    if not data:
        return error_response(400, "no_file", _("Please choose the certificate's PDF file."))
    verifier = _member()
    check = check_pdf(read_db(), data=data, now=now())
    verifier.record(check, "web")
    names = urdu_names(read_db())
    css, sentence = headline(check, names)
    pdf_report = report_pdf(check, service=runtime().settings.public_base_url, names=names)
    report = {**check.to_json(reason_text), "file_sha256": check.file_sha256}
    return render_template(
        "verify_result.html",
        check=check,
        css=css,
        headline=sentence,
        status=register_status(check) if check.certificate else "",
        report=json.dumps(report, indent=2, ensure_ascii=False),
        report_pdf=base64.b64encode(pdf_report).decode(),
        signer_name=lambda signer: signer_name(signer, names),
        holder_name=holder_name,
    )


@bp.get("/verify/lookup")
def lookup() -> Any:
    """A typed serial (or a pasted QR link) leads to the certificate's page.

    A pasted link keeps its signed fragment, so the page can still check it on the device.
    """
    text = (request.args.get("serial") or "").strip()
    return redirect(_qr_target(text) or url_for("verify.landing", serial=text[:40] or "-"))


_SERIAL = re.compile(r"^[0-9A-Za-z]{4}-?[0-9A-Za-z]{4}-?[0-9A-Za-z]{4}$")


def _qr_target(text: str) -> str | None:
    """Where a scanned or pasted QR text leads on this site: /v/<serial>[#AM1...], or None.

    Only the serial and the signed fragment are taken from a link, whatever its host (a code
    printed under an older address still works); nobody is ever sent to another site.
    """
    if "/v/" in text:
        serial, _, fragment = text.split("/v/", 1)[1].partition("#")
        serial = serial.strip()[:40]
        if not serial:
            return None
        fragment = fragment if fragment.startswith("AM1.") and len(fragment) < 4096 else ""
        return url_for("verify.landing", serial=serial) + (f"#{fragment}" if fragment else "")
    if _SERIAL.match(text):
        return url_for("verify.landing", serial=text)
    return None


MAX_FRAME = 2 * 1024 * 1024
MAX_FRAME_PIXELS = 4_000_000


@bp.post("/verify/scan")
def scan() -> Response:
    """A camera frame (for browsers without the BarcodeDetector API) → where its QR code leads.

    The frame is decoded in memory and dropped; nothing is stored or logged.
    """
    _limit("scan")
    if (request.content_length or 0) > MAX_FRAME:
        return error_response(413, "too_large", _("The picture is too large."))
    data = request.get_data(cache=False)
    if not data or len(data) > MAX_FRAME:
        return error_response(400, "no_image", _("Send one camera picture (JPEG or PNG)."))
    import zxingcpp  # noqa: PLC0415 - zxing-cpp and Pillow only for a scanned photo
    from PIL import Image, UnidentifiedImageError  # noqa: PLC0415 - zxing-cpp and Pillow only for a scanned photo

    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_FRAME_PIXELS:
                return error_response(413, "too_large", _("The picture is too large."))
            codes = zxingcpp.read_barcodes(
                image.convert("L"), formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
            )
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return error_response(400, "no_image", _("Send one camera picture (JPEG or PNG)."))
    for code in codes:
        target = _qr_target(code.text.strip())
        if target:
            return jsonify({"found": True, "location": target})
    if codes:
        return jsonify(
            {"found": False, "message": _("This QR code is not an Amanat certificate code.")}
        )
    return jsonify({"found": False})


@bp.get("/v/<serial>")
def landing(serial: str) -> str:
    """The QR landing page: the registry's status and facts, no JavaScript needed."""
    try:
        row = get_certificate(read_db(), serial=serial)
    except CertificateNotFound:
        return render_template("landing.html", row=None, serial=serial, ctype=None)
    return render_template(
        "landing.html",
        row=row,
        serial=row.serial,
        ctype=certificate_types().get(row.type_code),
        department=get_department(read_db(), code=row.department_code),
    )


@dataclass(frozen=True)
class Verifier:
    """Who is verifying, as the holder's activity names them."""

    actor: str = str(ANONYMOUS)
    organisation: str | None = None
    organisation_ur: str | None = None

    def record(self, check: CertificateCheck, channel: str) -> None:
        """Count the check and hand it to the recorder under this verifier's name."""
        record(
            check, actor=self.actor, channel=channel, organisation=self.organisation,
            organisation_ur=self.organisation_ur,
        )  # fmt: skip


def _verifier() -> Verifier:
    """Who is verifying on the API: the organisation of an API key with scope ``verify``, or
    "anonymous".

    The API stays open without a key; a key that is sent must be valid (401 otherwise), so an
    organisation never silently appears as anonymous. A browser's session cookie names nobody
    here: the API takes no anti-forgery token, and another site could otherwise make a member's
    browser write "Example Bank checked your certificate" into a citizen's activity.
    """
    if not request.headers.get("Authorization"):
        return Verifier()
    key = api_key("verify")
    org = find_organisation(db(), code=key.organisation_code)
    return Verifier(
        str(Actor.organisation(key.organisation_code, api_key=key.key_id)),
        org.name if org else key.organisation_code,
        org.name_ur if org else None,
    )


def _member() -> Verifier:
    """A signed-in member of an organisation verifying on the web page (whose form carries the
    anti-forgery token) is named as their organisation; anyone else is "anonymous"."""
    account = current_account()
    if account is None or account.role != Role.VERIFIER or not account.affiliation:
        return Verifier()
    org = find_organisation(db(), code=account.affiliation)
    return Verifier(
        str(Actor.organisation(account.affiliation, member_id=account.id)),
        org.name if org else account.affiliation,
        org.name_ur if org else None,
    )


@bp.post("/api/v1/verify")
def api_verify() -> Response:
    """PDF (multipart ``file`` or an application/pdf body) → verdict JSON (DESIGN 4.3)."""
    _limit("api")
    data = _pdf_from_request()
    if data is None:
        return error_response(
            400, "no_file", _("Send the PDF as multipart 'file' or as application/pdf.")
        )
    verifier = _verifier()
    check = check_pdf(read_db(), data=data, now=now())
    verifier.record(check, "api")
    return jsonify(check.to_json(reason_text))


_ECMA_BLANK = re.compile(
    "[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]*"
)


@bp.post("/api/v1/verify-qr")
def api_verify_qr() -> Response:
    """A scanned QR (the URL, or the ``AM1.`` payload) → verdict JSON."""
    _limit("api")
    body = request.get_json(silent=True)
    text = body.get("payload") if isinstance(body, dict) else None
    # Refused exactly as the schema says ("\\S", a JSON Schema (ECMA-262) pattern): nothing but
    # ECMA white space. Python's own idea of space is wider (U+0085 and U+001C-U+001F), so
    # str.strip() would refuse payloads the schema accepts; those are judged instead.
    if not isinstance(text, str) or _ECMA_BLANK.fullmatch(text):
        return error_response(400, "no_payload", _('Send JSON {"payload": "<the scanned link>"}.'))
    if len(text) > MAX_QR_TEXT:
        return error_response(
            400,
            "payload_too_long",
            _("A scanned code has at most %(n)s characters.", n=MAX_QR_TEXT),
        )
    verifier = _verifier()
    check = check_qr(read_db(), text=text, now=now())
    verifier.record(check, "qr")
    return jsonify(check.to_json(reason_text))


@bp.get("/api/v1/certificates/<serial>")
def api_certificate(serial: str) -> Response:
    """Public status of a certificate by serial."""
    row = get_certificate(read_db(), serial=serial)
    ctype = certificate_types().get(row.type_code)
    return jsonify(
        {
            "serial": row.serial,
            "status": row.status,
            "type": ctype.title_en if ctype else row.type_code,
            "department": row.department_code,
            "holder": row.holder_name,
            "issued_at": row.issued_at.isoformat(),
            "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
            "revocation_reason": row.revocation_reason,
        }
    )


@bp.get("/api/v1/openapi.json")
def api_openapi() -> Response:
    """The OpenAPI description of this API."""
    from web.openapi import openapi_document  # noqa: PLC0415 - the OpenAPI document only when it is asked for

    return jsonify(openapi_document(runtime().settings.public_base_url))


@bp.get("/api/v1/trust-list")
def api_trust_list() -> Response:
    """The department certificates (with their QR key ids) and the root that issued them."""
    trust = published_trust(read_db())
    response = jsonify(
        {
            "root": base64.b64encode(trust.root).decode() if trust.root else None,
            "certificates": [
                {
                    "department": c.department_code,
                    "kid": c.kid.hex(),
                    "status": c.status,
                    "certificate": base64.b64encode(c.cert_der).decode(),
                    "spki": base64.b64encode(
                        public_key_der(load_cert(c.cert_der).public_key())  # type: ignore[arg-type]
                    ).decode(),
                    "serial": c.serial_hex,
                }
                for c in trust.departments
            ],
            "status_list": _status_signer(trust.status_signer),
            "as_of": now().isoformat(),
        }
    )
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


def _status_signer(ocsp: bytes | None) -> dict[str, str]:
    """Where the status list is and the key that signs it (certified by the root above)."""
    base = runtime().settings.public_base_url
    if ocsp is None:
        return {"uri": list_uri(base)}
    public = load_cert(ocsp).public_key()
    return {
        "uri": list_uri(base),
        "kid": kid_of(ocsp).hex(),
        "certificate": base64.b64encode(ocsp).decode(),
        "spki": base64.b64encode(public_key_der(public)).decode(),  # type: ignore[arg-type]
    }


@bp.get("/api/v1/status-list")
def api_status_list() -> Response:
    """The signed status list of every issued certificate (Token Status List, CWT form)."""
    settings = runtime().settings
    valid_for = dt.timedelta(hours=settings.status_list_hours)
    row = newest_status_list(read_db())
    if row is None or not servable(read_db(), row, now=now(), valid_for=valid_for):
        material = runtime().issuance(db).material
        row = renew_status_list(
            db(),
            material=material,
            now=now(),
            valid_for=valid_for,
            capacity=settings.status_list_capacity,
            keystore=runtime().keystore,
        )
    return Response(
        row.token,
        mimetype=MEDIA_TYPE,
        headers={"Cache-Control": "public, max-age=60", "Expires": _http_date(row.expires_at)},
    )


def _http_date(when: dt.datetime) -> str:
    return when.strftime("%a, %d %b %Y %H:%M:%S GMT")

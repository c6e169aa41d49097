"""The service's own PKI endpoints: OCSP (RFC 6960), CRL, time stamping (RFC 3161), root cert."""

from __future__ import annotations

import base64

from flask import Blueprint, abort, request
from werkzeug.wrappers import Response

from keys import pki as pki_recipes
from signing import pades
from signing.pki import answer_ocsp, current_crl
from web.context import db, now, runtime

bp = Blueprint("pki", __name__, url_prefix="/pki")
MAX_REQUEST = 16 * 1024


def _body() -> bytes:
    if (request.content_length or 0) > MAX_REQUEST:
        abort(413)
    return request.get_data(cache=False)[:MAX_REQUEST]


@bp.post("/ocsp")
def ocsp_post() -> Response:
    """Answer an OCSP request sent by POST."""
    material = runtime().issuance(db).material
    keystore = runtime().keystore
    der = answer_ocsp(db(), material=material, request_der=_body(), now=now(), keystore=keystore)
    return Response(
        der, mimetype="application/ocsp-response", headers={"Cache-Control": "no-store"}
    )


@bp.get("/ocsp/<path:encoded>")
def ocsp_get(encoded: str) -> Response:
    """Answer an OCSP request sent by GET (base64 in the path, RFC 6960 A.1)."""
    try:
        der = base64.b64decode(encoded.replace("%2B", "+").replace("%2F", "/"), validate=False)
    except ValueError:
        der = b""
    material = runtime().issuance(db).material
    answer = answer_ocsp(
        db(),
        material=material,
        request_der=der[:MAX_REQUEST],
        now=now(),
        keystore=runtime().keystore,
    )
    return Response(
        answer, mimetype="application/ocsp-response", headers={"Cache-Control": "max-age=300"}
    )


@bp.get("/crl/<ca>.crl")
def crl(ca: str) -> Response:
    """The CA's current CRL (DER)."""
    if ca != "root":
        abort(404)
    der = current_crl(db(), material=runtime().issuance(db).material, now=now())
    return Response(der, mimetype="application/pkix-crl", headers={"Cache-Control": "max-age=300"})


@bp.get("/root.crt")
def root_certificate() -> Response:
    """The deployment root certificate (DER), the trust anchor for verifiers."""
    material = runtime().issuance(db).material
    return Response(pki_recipes.cert_der(material.root_cert), mimetype="application/pkix-cert")


@bp.post("/tsa")
def tsa() -> Response:
    """RFC 3161 time stamping with the service's TSA."""
    answer = pades.answer_timestamp_request(runtime().issuance(db).timestamper, _body())
    return Response(
        answer, mimetype="application/timestamp-reply", headers={"Cache-Control": "no-store"}
    )

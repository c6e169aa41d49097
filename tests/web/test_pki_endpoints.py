"""The PKI endpoints over HTTP: OCSP (POST and GET), CRL, TSA, root certificate."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os

import pytest
from asn1crypto import algos, tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp
from flask.testing import FlaskClient

from signing.models import DepartmentCert
from signing.pki import create_department, ensure_pki, load_pki


@pytest.fixture
def pki_app(app, sessions, file_keystore):
    now = dt.datetime.now(dt.UTC)
    with sessions() as s:
        ensure_pki(s, keystore=file_keystore, now=now)
        material = load_pki(s, keystore=file_keystore, base_url="http://localhost:8000")
        create_department(
            s, keystore=file_keystore, material=material, code="UNI", name="University", now=now
        )
        s.commit()
        cert = s.query(DepartmentCert).one()
        return app, x509.load_der_x509_certificate(cert.cert_der), material.root_cert


def test_ocsp_post_and_get(pki_app) -> None:
    app, cert, root = pki_app
    client: FlaskClient = app.test_client()
    req = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(cert, root, hashes.SHA1())
        .build()
        .public_bytes(Encoding.DER)
    )
    res = client.post("/pki/ocsp", data=req, content_type="application/ocsp-request")
    assert res.status_code == 200
    assert res.headers["Content-Type"] == "application/ocsp-response"
    answer = ocsp.load_der_ocsp_response(res.data)
    assert answer.certificate_status == ocsp.OCSPCertStatus.GOOD
    got = client.get("/pki/ocsp/" + base64.b64encode(req).decode())
    assert ocsp.load_der_ocsp_response(got.data).certificate_status == ocsp.OCSPCertStatus.GOOD


def test_ocsp_garbage_gets_malformed_request(pki_app) -> None:
    app, _cert, _root = pki_app
    res = app.test_client().post(
        "/pki/ocsp", data=b"\x30\x03junk", content_type="application/ocsp-request"
    )
    assert (
        ocsp.load_der_ocsp_response(res.data).response_status
        == ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    )


def test_crl_is_signed_by_the_root(pki_app) -> None:
    app, _cert, root = pki_app
    res = app.test_client().get("/pki/crl/root.crl")
    crl = x509.load_der_x509_crl(res.data)
    assert crl.is_signature_valid(root.public_key())
    assert app.test_client().get("/pki/crl/other.crl").status_code == 404


def test_tsa_grants_a_token(pki_app) -> None:
    app, _cert, _root = pki_app
    digest = hashlib.sha256(b"document").digest()
    req = tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": tsp.MessageImprint(
                {
                    "hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
                    "hashed_message": digest,
                }
            ),
            "nonce": int.from_bytes(os.urandom(8), "big"),
            "cert_req": True,
        }
    )
    res = app.test_client().post(
        "/pki/tsa", data=req.dump(), content_type="application/timestamp-query"
    )
    answer = tsp.TimeStampResp.load(res.data)
    assert answer["status"]["status"].native == "granted"
    tst = answer["time_stamp_token"]["content"]["encap_content_info"]["content"].parsed
    assert tst["message_imprint"]["hashed_message"].native == digest
    bad = app.test_client().post(
        "/pki/tsa", data=b"nonsense", content_type="application/timestamp-query"
    )
    assert tsp.PKIStatusInfo.load(bad.data[2:])["status"].native == "rejection"


def test_root_certificate_is_published(pki_app) -> None:
    app, _cert, root = pki_app
    res = app.test_client().get("/pki/root.crt")
    assert x509.load_der_x509_certificate(res.data) == root


def test_pki_endpoints_before_init_say_so(client: FlaskClient) -> None:
    res = client.get("/pki/crl/root.crl", headers={"Accept": "application/json"})
    assert res.status_code == 503
    assert res.get_json()["error"] == "pki_not_ready"

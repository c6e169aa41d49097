"""OCSP and TSA endpoints over mutated requests: an RFC answer or a 4xx, never a 500."""

from __future__ import annotations

import base64
import random

import pytest
from asn1crypto import algos, tsp
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp

from tests.web.test_pki_endpoints import pki_app  # noqa: F401 - the fixture


def _mutations(good: bytes, n: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    out = [b"", b"\x30", b"\x30\x80" + b"\x00" * 10, rng.randbytes(64)]
    for _ in range(n):
        data = bytearray(good)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            del data[rng.randrange(len(data)) :]
        out.append(bytes(data))
    return out


def test_mutated_ocsp_requests_never_fail_the_server(pki_app) -> None:  # noqa: F811
    app, cert, root = pki_app
    client = app.test_client()
    good = (
        ocsp.OCSPRequestBuilder().add_certificate(cert, root, hashes.SHA1()).build()
    ).public_bytes(Encoding.DER)
    for body in _mutations(good, 150, 1):
        post = client.post("/pki/ocsp", data=body, content_type="application/ocsp-request")
        get = client.get("/pki/ocsp/" + base64.b64encode(body).decode())
        assert post.status_code < 500
        assert get.status_code < 500


def test_mutated_timestamp_requests_never_fail_the_server(pki_app) -> None:  # noqa: F811
    app, _cert, _root = pki_app
    client = app.test_client()
    good = tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": {
                "hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
                "hashed_message": b"\x11" * 32,
            },
            "cert_req": True,
        }
    ).dump()
    for body in _mutations(good, 150, 2):
        res = client.post("/pki/tsa", data=body, content_type="application/timestamp-query")
        assert res.status_code < 500, body.hex()


pytestmark = pytest.mark.filterwarnings("ignore")

"""Camera scanning on /verify: frames from browsers without BarcodeDetector are read server-side."""

from __future__ import annotations

import io
import os

import qrcode
from flask.testing import FlaskClient
from PIL import Image

from tests.web.conftest import csrf_of


def _qr_png(text: str, *, size: tuple[int, int] = (640, 480)) -> bytes:
    code = qrcode.make(text, box_size=4, border=4).get_image().convert("L")
    frame = Image.new("L", size, 255)
    frame.paste(code, ((size[0] - code.width) // 2, (size[1] - code.height) // 2))
    out = io.BytesIO()
    frame.save(out, format="JPEG", quality=85)
    return out.getvalue()


def _scan(client: FlaskClient, data: bytes):
    csrf = csrf_of(client, "/verify")
    return client.post(
        "/verify/scan",
        data=data,
        content_type="image/jpeg",
        headers={"X-CSRF-Token": csrf, "X-Requested-With": "fetch"},
    )


def test_a_frame_with_our_qr_code_leads_to_its_page_with_the_fragment(client, app) -> None:
    base = app.extensions["amanat"].settings.public_base_url.rstrip("/")
    r = _scan(client, _qr_png(f"{base}/v/ABCD-EFGH-JKMN#AM1.abc-def_1"))
    assert r.status_code == 200
    assert r.get_json() == {"found": True, "location": "/v/ABCD-EFGH-JKMN#AM1.abc-def_1"}


def test_a_qr_code_of_another_kind_is_not_followed(client) -> None:
    body = _scan(client, _qr_png("https://evil.example/login")).get_json()
    assert body["found"] is False
    assert "not an Amanat" in body["message"]


def test_a_link_under_another_address_stays_on_this_site(client) -> None:
    body = _scan(client, _qr_png("https://old.example/v/ABCD-EFGH-JKMN#AM1.x")).get_json()
    assert body == {"found": True, "location": "/v/ABCD-EFGH-JKMN#AM1.x"}


def test_a_frame_without_a_qr_code_says_nothing_found(client) -> None:
    blank = io.BytesIO()
    Image.new("L", (640, 480), 200).save(blank, format="JPEG")
    assert _scan(client, blank.getvalue()).get_json() == {"found": False}


def test_not_a_picture_is_a_clear_error(client) -> None:
    r = _scan(client, os.urandom(3000))
    assert r.status_code == 400
    assert r.get_json()["error"] == "no_image"


def test_a_huge_picture_is_refused(client) -> None:
    big = io.BytesIO()
    Image.new("L", (3000, 2000), 255).save(big, format="PNG")
    r = _scan(client, big.getvalue())
    assert r.status_code == 413


def test_a_frame_without_the_csrf_token_is_refused(client) -> None:
    r = client.post(
        "/verify/scan",
        data=_qr_png("x"),
        content_type="image/jpeg",
        headers={"X-Requested-With": "fetch"},
    )
    assert r.status_code == 400
    assert r.get_json()["error"] == "csrf_failed"


def test_a_pasted_link_keeps_its_signed_fragment(client, app) -> None:
    base = app.extensions["amanat"].settings.public_base_url.rstrip("/")
    r = client.get("/verify/lookup", query_string={"serial": f"{base}/v/ABCD-EFGH-JKMN#AM1.xyz"})
    assert r.status_code == 302
    assert r.headers["Location"].endswith("/v/ABCD-EFGH-JKMN#AM1.xyz")
    foreign = client.get("/verify/lookup", query_string={"serial": "https://evil.example/v/X"})
    assert foreign.headers["Location"] in ("/v/X", "http://localhost/v/X")

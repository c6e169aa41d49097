"""The QR API refuses exactly what its schema refuses: a payload of nothing but ECMA white space
(the schema's pattern is ``\\S`` in JSON Schema's regex dialect). Python counts U+0085 and
U+001C-U+001F as space too; such a payload is schema-valid and gets a verdict (schemathesis
found both sides of this)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient


@pytest.mark.parametrize("payload", ["\u0085", "\x1c"], ids=["nel", "file-separator"])
def test_a_payload_only_python_calls_blank_gets_a_verdict(
    client: FlaskClient, payload: str
) -> None:
    res = client.post("/api/v1/verify-qr", json={"payload": payload, "extra": [1]})
    assert res.status_code == 200
    assert res.get_json()["indication"] in ("TOTAL_FAILED", "INDETERMINATE")


@pytest.mark.parametrize(
    "payload",
    ["", " ", "\t\n", "\f", "\u3000\ufeff"],
    ids=["empty", "space", "tab-newline", "form-feed", "ideographic"],
)
def test_a_blank_payload_is_refused(client: FlaskClient, payload: str) -> None:
    res = client.post("/api/v1/verify-qr", json={"payload": payload})
    assert res.status_code == 400
    assert res.get_json()["error"] == "no_payload"

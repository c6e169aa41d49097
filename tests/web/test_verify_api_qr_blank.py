"""A payload of nothing but white space (U+0085 is one) is judged, not refused: the schema
accepts any non-empty string (schemathesis found this)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient


@pytest.mark.parametrize("payload", ["\u0085", " ", "\t\n"], ids=["nel", "space", "tab-newline"])
def test_a_blank_payload_gets_a_verdict(client: FlaskClient, payload: str) -> None:
    res = client.post("/api/v1/verify-qr", json={"payload": payload, "extra": [1]})
    assert res.status_code == 200
    assert res.get_json()["indication"] in ("TOTAL_FAILED", "INDETERMINATE")


def test_an_empty_payload_is_refused(client: FlaskClient) -> None:
    res = client.post("/api/v1/verify-qr", json={"payload": ""})
    assert res.status_code == 400 and res.get_json()["error"] == "no_payload"

"""signing.qr.build_qr: fits version 15 by dropping display fields, signing once."""

from __future__ import annotations

import datetime as dt

from keys import cose, pki
from signing import qr

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def _build(monkeypatch, fields: dict[str, str]):
    key = pki.new_private_key("ec-p256")
    cert = pki.cert_der(pki.create_root(key, organisation="T", common_name="T", now=NOW))
    calls: list[bytes] = []
    real = pki.cose_sign
    monkeypatch.setattr(pki, "cose_sign", lambda k, data: (calls.append(data), real(k, data))[1])
    url, _png, version = qr.build_qr(
        base_url="https://amanat.example.gov.pk",
        key=key,
        cert_der=cert,
        department="UNI",
        serial="AB12-CD34-EF56",
        type_code="degree",
        holder="Ayesha Khan",
        fields=fields,
        display=tuple(fields),
        issued_at=NOW,
    )
    return url, version, calls


def test_long_display_fields_are_dropped_until_the_code_fits(monkeypatch) -> None:
    fields = {f"field{i}": "ن" * 30 for i in range(4)}
    url, version, calls = _build(monkeypatch, fields)
    assert version <= qr.MAX_VERSION
    assert len(calls) == 1
    claims = cose.decode(url.split("#", 1)[1]).claims
    assert len(claims[cose.CLAIM_F]) < 4
    assert claims[cose.CLAIM_H] == qr.fields_hash(fields)


def test_short_fields_all_stay(monkeypatch) -> None:
    fields = {"name": "Ayesha Khan", "degree": "BSc"}
    url, _version, calls = _build(monkeypatch, fields)
    assert len(calls) == 1
    assert set(cose.decode(url.split("#", 1)[1]).claims[cose.CLAIM_F]) == {"name", "degree"}

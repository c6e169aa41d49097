"""Certificate types are data (``certificate_types.json``), not code: fields, labels, layout.

:func:`check_fields` turns raw ``name=value`` / ``name:ur=value`` pairs into the clean field map a
certificate stores, or says exactly what is wrong.
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from signing.errors import InvalidRequest, UnknownCertificateType

MAX_VALUE = 200


@dataclass(frozen=True)
class FieldSpec:
    """One field of a certificate type."""

    name: str
    label_en: str
    label_ur: str
    kind: str  # text | date | year | choice
    required: bool
    max: int
    choices: tuple[str, ...]


@dataclass(frozen=True)
class CertificateType:
    """A kind of certificate a department issues."""

    code: str
    title_en: str
    title_ur: str
    issuer: str
    fields: tuple[FieldSpec, ...]
    display: tuple[str, ...]
    layout: str
    valid_years: int | None


@cache
def certificate_types() -> dict[str, CertificateType]:
    """The shipped certificate types, by code."""
    raw = json.loads((Path(__file__).parent / "certificate_types.json").read_text(encoding="utf-8"))
    out = {}
    for code, t in raw.items():
        out[code] = CertificateType(
            code=code,
            title_en=t["title"]["en"],
            title_ur=t["title"]["ur"],
            issuer=t["issuer"],
            fields=tuple(
                FieldSpec(
                    name=f["name"],
                    label_en=f["label"]["en"],
                    label_ur=f["label"]["ur"],
                    kind=f["kind"],
                    required=bool(f["required"]),
                    max=int(f.get("max", 80)),
                    choices=tuple(f.get("choices", ())),
                )
                for f in t["fields"]
            ),
            display=tuple(t["display"]),
            layout=t["layout"],
            valid_years=t.get("valid_years"),
        )
    return out


def get_type(code: str) -> CertificateType:
    """The type with this code, or UnknownCertificateType."""
    found = certificate_types().get((code or "").strip().lower())
    if found is None:
        known = ", ".join(sorted(certificate_types()))
        raise UnknownCertificateType(
            f"Unknown certificate type {code!r}.", code="type_unknown", type=code, known=known
        )
    return found


def _clean(value: str) -> str:
    text = " ".join(unicodedata.normalize("NFC", value).split())
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise InvalidRequest("Control characters.", code="field_control_characters")
    return text


def check_fields(ctype: CertificateType, raw: Mapping[str, str]) -> dict[str, Any]:
    """Validate raw values against the type; return ``{name: value, "name:ur": value}``."""
    specs = {f.name: f for f in ctype.fields}
    clean: dict[str, Any] = {}
    for key, value in raw.items():
        base, _, lang = key.partition(":")
        if base not in specs or lang not in ("", "ur"):
            raise InvalidRequest(
                f"Unknown field {key!r}.", code="field_unknown", field=key, type=ctype.title_en
            )
        spec = specs[base]
        text = _clean(str(value))
        if not text:
            continue
        if len(text) > min(spec.max, MAX_VALUE):
            raise InvalidRequest(
                f"Field {base!r} too long.",
                code="field_too_long",
                field=base,
                n=min(spec.max, MAX_VALUE),
            )
        if not lang:
            text = _check_kind(spec, text)
        clean[key] = text
    missing = [f.name for f in ctype.fields if f.required and f.name not in clean]
    if missing:
        raise InvalidRequest("Missing fields.", code="fields_missing", fields=", ".join(missing))
    return clean


def _check_kind(spec: FieldSpec, text: str) -> str:
    if spec.kind == "date":
        try:
            return dt.date.fromisoformat(text).isoformat()
        except ValueError:
            raise InvalidRequest("Not a date.", code="field_date", field=spec.name) from None
    if spec.kind == "year":
        if not (text.isdigit() and 1900 <= int(text) <= 2100):
            raise InvalidRequest("Not a year.", code="field_year", field=spec.name)
        return text
    if spec.kind == "choice" and text.lower() not in spec.choices:
        raise InvalidRequest(
            "Not a choice.", code="field_choice", field=spec.name, choices=", ".join(spec.choices)
        )
    return text.lower() if spec.kind == "choice" else text

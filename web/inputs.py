"""Checks on raw request input that every view shares: client address, redirect targets, JSON.

Both are parsers of outside input, so each refuses by rule rather than by a list of bad
characters: a redirect target must parse as a path on this site, and a JSON body is measured
(size, nesting) before the standard parser sees it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import abort, request
from flask.json.provider import DefaultJSONProvider

from signing.applications import MAX_AGE_DAYS
from signing.errors import InvalidRequest

# A JSON body larger than this is refused before parsing (uploads are multipart, not JSON).
MAX_JSON_BYTES = 256 * 1024
# Deeper nesting than any Amanat body or WebAuthn credential has (they are 4 to 6 deep).
MAX_JSON_DEPTH = 32
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


_WHOLE = re.compile(r"[0-9]{1,19}")


def whole_number(raw: str | None, *, high: int) -> int | None:
    """A whole number from a URL or form (ASCII digits only: ``"²".isdigit()`` is true, and
    ``int("²")`` fails), at most ``high``; None for anything else."""
    text = (raw or "").strip()
    if not _WHOLE.fullmatch(text) or int(text) > high:
        return None
    return int(text)


def older_than_days(raw: str | None) -> int | None:
    """The ``older_than`` filter of an application queue: empty for none, else 0-3650 days."""
    if not (raw or "").strip():
        return None
    days = whole_number(raw, high=MAX_AGE_DAYS)
    if days is None:
        raise InvalidRequest("Bad age.", code="application_age", low=0, high=MAX_AGE_DAYS)
    return days


def uuid_or_404(value: str) -> uuid.UUID:
    """An id from a URL; anything that is not one is a plain 404 (as a missing row is)."""
    try:
        return uuid.UUID(value)
    except ValueError:
        abort(404)


_DATE_PARTS = ("-day", "-month", "-year")


def joined_date(form: Mapping[str, str], name: str) -> str:
    """A date field as ISO text: ``name`` itself when given (the API, an old form), else its three
    boxes ``name-day``, ``name-month``, ``name-year`` (templates/_date.html) joined as YYYY-MM-DD.
    Boxes that are not numbers are joined as typed, for the field's own check to refuse."""
    whole = (form.get(name) or "").strip()
    if whole:
        return whole
    day, month, year = ((form.get(name + part) or "").strip() for part in _DATE_PARTS)
    if not (day or month or year):
        return ""
    if day.isdigit() and month.isdigit() and year.isdigit():
        return f"{int(year):04d}-{int(month):02d}-{int(day):02d}"
    return f"{year}-{month}-{day}"


def form_fields(form: Mapping[str, str]) -> dict[str, str]:
    """A certificate type's field values from a form (inputs named ``f_<field>``; a date's three
    boxes joined), blanks left out."""
    fields = [k for k in form if k.startswith("f_")]
    names = {k.removesuffix(p) for k in fields for p in _DATE_PARTS if k.endswith(p)}
    names |= {k for k in fields if not k.endswith(_DATE_PARTS)}
    values = {name[len("f_") :]: joined_date(form, name) for name in names}
    return {k: v for k, v in values.items() if v.strip()}


def client_ip() -> str:
    """The client address (the WSGI server or a trusted proxy sets REMOTE_ADDR)."""
    return request.remote_addr or "unknown"


def local_path(target: str | None, default: str = "/") -> str:
    """``target`` when it is a path on this site (with optional query), else ``default``.

    A browser drops tab, CR and LF inside a URL and reads ``\\`` as ``/``, so ``/\\t/evil``
    becomes ``//evil`` — another site. Any control character, backslash or whitespace refuses;
    what remains must parse with no scheme and no host and start with exactly one slash.
    """
    if not target or len(target) > 2048:
        return default
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in target) or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return default
    if target.startswith("//") or parts.path.startswith("//"):
        return default
    return target


def json_depth(data: bytes) -> int:
    """How deeply arrays and objects nest in ``data`` (strings skipped), without parsing it."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub(b'""', data)):
        if match.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, with request bodies measured first.

    A refused body raises ValueError, which Flask's ``request.get_json`` turns into 400 (or None
    with ``silent=True``); a body nested 1,000 deep never reaches the recursive parser.
    """

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Parse JSON text after checking its size and nesting."""
        raw = s.encode() if isinstance(s, str) else bytes(s)
        if len(raw) > MAX_JSON_BYTES:
            raise ValueError("JSON body too large")
        if json_depth(raw) > MAX_JSON_DEPTH:
            raise ValueError("JSON body nested too deeply")
        return super().loads(raw, **kwargs)

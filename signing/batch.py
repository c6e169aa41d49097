"""Batch issuance from CSV: parsing and checking rows (no database).

The CSV has a header row: ``citizen`` (CNIC), ``type`` (certificate type code), optional
``level``, and one column per field (``name``, ``name:ur``, ...). Each row gets a batch key made of
the department, the file's SHA-256 and the row number, so running the same file again issues only
the rows that are not issued yet: an interrupted batch resumes without issuing anything twice.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass

from signing.errors import InvalidRequest, SigningError
from signing.issuance import IssueRequest

MAX_ROWS = 20_000
MAX_BYTES = 20 * 1024 * 1024
_NOT_FIELDS = ("citizen", "type", "level")


@dataclass(frozen=True)
class BatchRow:
    """One CSV row: a checked request, or the reason it cannot be issued."""

    line: int
    citizen: str
    request: IssueRequest | None
    error: SigningError | None  # worded at the door (web/messages.py)


def file_digest(data: bytes) -> str:
    """The part of a batch file's SHA-256 that names it in batch keys."""
    return hashlib.sha256(data).hexdigest()[:24]


def parse_batch(data: bytes, *, department: str) -> list[BatchRow]:
    """Check every row of a batch file; the file itself must be well-formed CSV with a header."""
    if len(data) > MAX_BYTES:
        raise InvalidRequest(
            "Batch too large.", code="batch_too_large", mib=MAX_BYTES // (1024 * 1024)
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidRequest("Not UTF-8.", code="batch_not_utf8") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if (
        not reader.fieldnames
        or "citizen" not in reader.fieldnames
        or "type" not in reader.fieldnames
    ):
        raise InvalidRequest("No header.", code="batch_header")
    digest = file_digest(data)
    rows: list[BatchRow] = []
    try:
        for record in reader:
            line = reader.line_num
            if len(rows) >= MAX_ROWS:
                raise InvalidRequest("Too many rows.", code="batch_too_many_rows", n=MAX_ROWS)
            if None in record:
                too_wide = InvalidRequest("Too many columns.", code="batch_too_many_columns")
                rows.append(BatchRow(line, record.get("citizen") or "", None, too_wide))
                continue
            fields = {k: v for k, v in record.items() if k not in _NOT_FIELDS and v}
            rows.append(_row(line, record, fields, department=department, digest=digest))
    except csv.Error as exc:
        raise InvalidRequest("Unreadable CSV.", code="batch_unreadable", error=str(exc)) from None
    return rows


def _row(
    line: int, record: dict[str, str], fields: dict[str, str], *, department: str, digest: str
) -> BatchRow:
    """One row checked: its request, or why it cannot be issued."""
    try:
        request = IssueRequest.build(
            department=department,
            citizen=record.get("citizen") or "",
            type_code=record.get("type") or "",
            fields=fields,
            level=(record.get("level") or "B-LTA").strip(),
            batch_key=f"{department}:{digest}:{line}",
        )
    except SigningError as exc:
        return BatchRow(line, record.get("citizen") or "", None, exc)
    return BatchRow(line, request.citizen, request, None)


def _strings(value: object) -> dict[str, str] | None:
    """A JSON object whose values are all strings, else None."""
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        return None
    return {str(k): v for k, v in value.items()}


def parse_json_rows(rows: object, *, department: str) -> tuple[str, list[BatchRow]]:
    """Check rows sent as JSON (``[{"citizen", "type", "level"?, "fields": {...}}]``, line = the
    row's position from 1) and name them by their canonical JSON's digest, so that sending the
    same rows again finds the same batch."""
    if not isinstance(rows, list) or not rows:
        raise InvalidRequest("No rows.", code="batch_rows_missing")
    if len(rows) > MAX_ROWS:
        raise InvalidRequest("Too many rows.", code="batch_too_many_rows", n=MAX_ROWS)
    canonical = json.dumps(rows, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = file_digest(canonical.encode())
    checked = []
    for line, raw in enumerate(rows, start=1):
        record = (
            _strings({k: v for k, v in raw.items() if k in _NOT_FIELDS})
            if isinstance(raw, dict)
            else None
        )
        fields = _strings(raw.get("fields", {})) if isinstance(raw, dict) else None
        if record is None or fields is None:
            bad = InvalidRequest("Malformed row.", code="batch_row_invalid")
            checked.append(BatchRow(line, "", None, bad))
            continue
        fields = {k: v for k, v in fields.items() if v}
        checked.append(_row(line, record, fields, department=department, digest=digest))
    return digest, checked

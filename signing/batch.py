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
from dataclasses import dataclass

from signing.errors import InvalidRequest, SigningError
from signing.issuance import IssueRequest

MAX_ROWS = 20_000
MAX_BYTES = 20 * 1024 * 1024


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
            fields = {
                k: v for k, v in record.items() if k not in ("citizen", "type", "level") and v
            }
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
                rows.append(BatchRow(line, record.get("citizen") or "", None, exc))
                continue
            rows.append(BatchRow(line, request.citizen, request, None))
    except csv.Error as exc:
        raise InvalidRequest("Unreadable CSV.", code="batch_unreadable", error=str(exc)) from None
    return rows

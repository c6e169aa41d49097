"""The public record (no sign-in): who is registered, what each may do, counts by month."""

from __future__ import annotations

import csv
import dataclasses
import io

from flask import Blueprint, abort, jsonify, render_template, request
from werkzeug.wrappers import Response

from signing.transparency import (
    PublicRecord,
    department_record,
    organisation_record,
    public_list,
)
from web.context import now, read_db

bp = Blueprint("public", __name__)
_KINDS = ("department", "organisation")


def _record(kind: str, code: str) -> PublicRecord:
    if kind not in _KINDS:
        abort(404)
    find = department_record if kind == "department" else organisation_record
    return find(read_db(), code=code[:32], now=now())


@bp.get("/public")
def index() -> str:
    """Every registered department and organisation; search by name or code."""
    query = request.args.get("q", "")[:60]
    return render_template("public.html", listed=public_list(read_db(), query=query), q=query)


@bp.get("/public/<kind>/<code>")
def record(kind: str, code: str) -> str:
    """One department's or organisation's public record."""
    return render_template("public_record.html", r=_record(kind, code))


@bp.get("/public/<kind>/<code>.csv")
def record_csv(kind: str, code: str) -> Response:
    """The monthly counts of a public record as CSV."""
    r = _record(kind, code)
    out = io.StringIO()
    writer = csv.writer(out)
    columns = (
        ("issued", "revoked", "applications")
        if kind == "department"
        else ("consents", "withdrawn", "requests")
    )
    writer.writerow(["month", *columns])
    for m in r.months:
        writer.writerow([m.month, m.first, m.second, m.third])
    disposition = f'attachment; filename="{r.code}.csv"'
    return Response(
        out.getvalue(), mimetype="text/csv", headers={"Content-Disposition": disposition}
    )


@bp.get("/api/v1/public/<kind>/<code>")
def record_json(kind: str, code: str) -> Response:
    """The public record as JSON."""
    r = dataclasses.asdict(_record(kind, code))
    r["registered_at"] = r["registered_at"].isoformat()
    r["may"] = list(r["may"])
    return jsonify(r)

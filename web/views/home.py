"""The home page and the language switch."""

from __future__ import annotations

from flask import Blueprint, make_response, redirect, render_template, request
from werkzeug.wrappers import Response

from web.inputs import local_path

bp = Blueprint("home", __name__)


@bp.get("/")
def index() -> str:
    """What Amanat is, and the ways in."""
    return render_template("home.html")


@bp.get("/lang/<code>")
def language(code: str) -> Response:
    """Remember the reader's language (English or Urdu) in a cookie."""
    target = local_path(request.args.get("next"), "/")
    response = make_response(redirect(target))
    if code in ("en", "ur"):
        response.set_cookie("lang", code, max_age=365 * 86400, samesite="Lax", httponly=True)
    return response

"""The ledger's public face: signed tree heads and consistency proofs (no event content)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from audit.checkpoint import origin_for
from audit.errors import AuditError
from audit.ledger import checkpoint_of, consistency_proof, head_json, publish_tree_head
from audit.service import MAX_SEQ
from web.context import db, head_max_age, now, runtime

bp = Blueprint("ledger", __name__, url_prefix="/api/v1/ledger")


@bp.get("/tree-head")
def tree_head() -> Response:
    """The latest signed tree head (signed now if the last one is stale)."""
    head = publish_tree_head(db(), keystore=runtime().keystore, now=now(), max_age=head_max_age())
    return jsonify(head_json(db(), head, keystore=runtime().keystore))


@bp.get("/consistency")
def consistency() -> Response:
    """A consistency proof between the signed heads of sizes ``from`` and ``to``."""
    old = request.args.get("from", type=int)
    new = request.args.get("to", type=int)
    if old is None or new is None:
        raise AuditError(_("Give the two tree sizes as ?from=N&to=M."))
    if not (0 <= old <= MAX_SEQ and 0 <= new <= MAX_SEQ):
        raise AuditError(_("A tree size is a number from 0 to %(n)s.", n=MAX_SEQ))
    return jsonify(consistency_proof(db(), keystore=runtime().keystore, old_size=old, new_size=new))


@bp.get("/checkpoint")
def checkpoint() -> Response:
    """The latest signed tree head as a C2SP checkpoint (signed note, text/plain)."""
    rt = runtime()
    head = publish_tree_head(db(), keystore=rt.keystore, now=now(), max_age=head_max_age())
    note = checkpoint_of(
        db(), keystore=rt.keystore, origin=origin_for(rt.settings.public_base_url), head=head
    )
    return Response(note, content_type="text/plain; charset=utf-8")

"""``amanat witness``: the HTTP face of a transparency-log witness (c2sp.org/tlog-witness).

Another institution (an auditor, a bank) runs it next to, not inside, Amanat: it keeps the newest
ledger checkpoint it verified and cosigns only checkpoints that extend it.
"""

from __future__ import annotations

import time

from flask import Flask, Response, request

from audit.checkpoint import Witness
from audit.errors import AuditError


def create_witness_app(witness: Witness) -> Flask:
    """A Flask app answering ``POST /add-checkpoint``."""
    app = Flask(__name__)

    @app.post("/add-checkpoint")
    def add_checkpoint() -> Response:
        data = request.get_data(cache=False)[: 64 * 1024 + 1]
        try:
            answer = witness.add_checkpoint(data, now=int(time.time()))
        except AuditError:
            # Its own state is unreadable: it cosigns nothing until an operator looks.
            return Response("witness state unavailable\n", status=503, content_type="text/plain")
        return Response(answer.body, status=answer.status, content_type=answer.content_type)

    @app.get("/")
    def about() -> Response:
        key = witness.key.public_bytes.hex()
        return Response(f"{witness.name} ed25519 {key}\n", content_type="text/plain")

    return app

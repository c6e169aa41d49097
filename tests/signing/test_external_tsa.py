"""AMANAT_TSA_URL: time stamps from a TSA reached over HTTP (here: /pki/tsa of a live server)."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

from amanat.settings import Settings
from keys import pki
from signing import pades
from signing.errors import SigningFailed
from signing.models import IssuedCertificate
from tests.conftest import TEST_PASSWORD_PROFILE
from tests.signing.test_issuance import _count
from vault.models import Document
from web.app import create_app
from web.runtime import build_runtime


@pytest.fixture
def tsa_url(env, engine, file_keystore, tmp_path) -> Iterator[str]:
    server = make_server("localhost", 0, None, threaded=True)  # type: ignore[arg-type]
    port = server.socket.getsockname()[1]
    instance = tmp_path / "tsa-instance"
    instance.mkdir()
    settings = Settings(
        instance=instance, database_url=str(engine.url), public_base_url=f"http://localhost:{port}",
        password_profile=TEST_PASSWORD_PROFILE,
    )
    runtime = build_runtime(settings, engine=engine, keystore=file_keystore)
    runtime.issuance()  # load the TSA key now, not while an issuance holds SQLite's write lock
    server.app = create_app(runtime_=runtime)  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{port}/pki/tsa"
    server.shutdown()
    thread.join(timeout=10)
    runtime.close()


def test_issuance_with_a_tsa_over_http_validates(env, tsa_url) -> None:
    env.ctx = dataclasses.replace(env.ctx, tsa_url=tsa_url)
    row = env.issue("degree")
    data = env.pdf(row)
    assert pades.lta_validation(data, root=pki.cert_der(env.ctx.material.root_cert)) == "OK"


def test_unreachable_tsa_fails_cleanly_and_stores_nothing(env) -> None:
    env.ctx = dataclasses.replace(env.ctx, tsa_url="http://127.0.0.1:9/pki/tsa")
    with pytest.raises(SigningFailed):
        env.issue("degree")
    assert _count(env, IssuedCertificate) == 0
    assert _count(env, Document) == 0

"""The public API's per-process limiter."""

from __future__ import annotations

import pytest

from identity.errors import RateLimited
from web.app import create_app
from web.memlimit import WindowLimiter
from web.runtime import build_runtime


def test_limit_per_key() -> None:
    limiter = WindowLimiter()
    for _ in range(3):
        limiter.hit("a", limit=3)
    with pytest.raises(RateLimited):
        limiter.hit("a", limit=3)
    limiter.hit("b", limit=3)


def test_public_api_answers_429_over_the_limit(settings, engine, file_keystore) -> None:

    rt = build_runtime(
        settings.with_overrides(api_requests_per_minute=2), engine=engine, keystore=file_keystore
    )
    client = create_app(runtime_=rt).test_client()
    statuses = [
        client.post("/api/v1/verify-qr", json={"payload": "x"}).status_code for _ in range(3)
    ]
    assert statuses == [200, 200, 429]

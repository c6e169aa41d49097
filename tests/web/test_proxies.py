"""The client's address and scheme come from X-Forwarded-* only when a trusted proxy sent them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from amanat.settings import Settings, SettingsError, load_settings
from web.proxies import TrustedProxies

PROXIES = Settings(instance=__import__("pathlib").Path("/x"), database_url="sqlite:///x.db",
                   trusted_proxies="127.0.0.1, 10.1.0.0/16").proxy_networks  # fmt: skip


def _seen(environ: dict[str, Any]) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def app(env: dict[str, Any], start: Any) -> Iterator[bytes]:
        seen.update(env)
        return iter([b""])

    TrustedProxies(app, PROXIES)({"wsgi.url_scheme": "http", **environ}, lambda *a: None)
    return seen


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("127.0.0.1", "203.0.113.9", "203.0.113.9"),
        (
            "127.0.0.1",
            "198.51.100.1, 203.0.113.9",
            "203.0.113.9",
        ),  # the left one is the client's word
        ("127.0.0.1", "203.0.113.9, 10.1.2.3", "203.0.113.9"),  # through two trusted proxies
        ("127.0.0.1", "not-an-address", "127.0.0.1"),
        ("192.0.2.7", "203.0.113.9", "192.0.2.7"),  # not a trusted proxy: its header is ignored
    ],
    ids=["one-hop", "client-wrote-one", "two-proxies", "garbage", "untrusted-peer"],
)
def test_the_client_address(peer: str, forwarded: str, client: str) -> None:
    assert _seen({"REMOTE_ADDR": peer, "HTTP_X_FORWARDED_FOR": forwarded})["REMOTE_ADDR"] == client


@pytest.mark.parametrize(
    ("peer", "proto", "scheme"),
    [
        ("127.0.0.1", "https", "https"),
        ("192.0.2.7", "https", "http"),
        ("127.0.0.1", "gopher", "http"),
    ],
    ids=["trusted", "untrusted", "nonsense"],
)
def test_the_scheme(peer: str, proto: str, scheme: str) -> None:
    assert (
        _seen({"REMOTE_ADDR": peer, "HTTP_X_FORWARDED_PROTO": proto})["wsgi.url_scheme"] == scheme
    )


def test_a_bad_trusted_proxy_setting_stops_the_start(tmp_path: Any) -> None:
    env = {"AMANAT_INSTANCE": str(tmp_path), "AMANAT_TRUSTED_PROXIES": "10.0.0.0/33"}
    with pytest.raises(SettingsError, match="AMANAT_TRUSTED_PROXIES"):
        load_settings(env)

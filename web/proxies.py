"""Behind a reverse proxy: the client's address and scheme, believed only from trusted proxies.

``X-Forwarded-For`` and ``X-Forwarded-Proto`` are headers anyone can send. They are read only
when the connection comes from an address in ``AMANAT_TRUSTED_PROXIES``; the client is then the
right-most address in ``X-Forwarded-For`` that is not itself a trusted proxy (each proxy appends
the address it saw, so anything left of that is what the client wrote). Rate limits, the activity
log and ``/metrics`` all rely on this address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in net for net in networks)


class TrustedProxies:
    """WSGI middleware: REMOTE_ADDR and the URL scheme from a trusted proxy's headers."""

    def __init__(self, app: WsgiApp, networks: tuple[Network, ...]) -> None:
        self.app = app
        self.networks = networks

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        peer = environ.get("REMOTE_ADDR", "")
        # The headers stay either way: /metrics refuses anything that came through a proxy.
        if self.networks and _trusted(peer, self.networks):
            self._rewrite(environ)
        return self.app(environ, start_response)

    def _rewrite(self, environ: dict[str, Any]) -> None:
        hops = [h.strip() for h in environ.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        for hop in reversed(hops):
            try:
                ip = ipaddress.ip_address(hop)
            except ValueError:
                break  # garbage where an address should be: keep the proxy's own
            if not any(ip in net for net in self.networks):
                environ["REMOTE_ADDR"] = str(ip)
                break
        proto = environ.get("HTTP_X_FORWARDED_PROTO", "").split(",")[-1].strip().lower()
        if proto in ("http", "https"):
            environ["wsgi.url_scheme"] = proto

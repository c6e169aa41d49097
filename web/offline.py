"""What ``amanat verify-qr --offline`` keeps: a deployment's trust list and signed status list.

A bank's verifier in a branch with a poor line checks codes without the register. Each run asks
the code's own site (the origin of the scanned URL, or ``--site``) for both lists with a short
timeout and keeps them; when the site does not answer, the copies kept last time are used, and
the verdict says how old their status information is (verification/qr.py). The trust list is
believed as fetched over the site's own TLS, as the landing page's script believes it; the status
list is believed only when it reads under that trust list's root.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import urllib3

from amanat.errors import AmanatError
from verification.qr import TrustEntry

TRUST_FILE, STATUS_FILE = "trust-list.json", "status-list.cwt"
_LIMITS = {TRUST_FILE: 1024 * 1024, STATUS_FILE: 4 * 1024 * 1024}
_PATHS = {TRUST_FILE: "/api/v1/trust-list", STATUS_FILE: "/api/v1/status-list"}
TIMEOUT_SECONDS = 5.0


class OfflineUnavailable(AmanatError):
    """No usable copy of the site's trust list: never fetched, or damaged."""


@dataclass(frozen=True)
class OfflineMaterial:
    """The kept copies of one site's lists, parsed."""

    site: str
    trust: tuple[TrustEntry, ...]
    root_der: bytes
    status_uri: str
    status_token: bytes | None
    refreshed: bool


def cache_dir() -> Path:
    """Where copies are kept: AMANAT_VERIFIER_CACHE, else the user's cache directory."""
    configured = os.environ.get("AMANAT_VERIFIER_CACHE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "amanat" / "verifier"


def site_of(text: str) -> str | None:
    """The origin (scheme://host[:port]) of a scanned URL; None for a bare payload."""
    parts = urlsplit((text or "").strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def _folder(directory: Path, site: str) -> Path:
    return directory / quote(site, safe="")


def _fetch(pool: urllib3.PoolManager, site: str, name: str) -> bytes | None:
    try:
        res = pool.request(
            "GET", site + _PATHS[name], preload_content=False, redirect=False, retries=False
        )
    except urllib3.exceptions.HTTPError:
        return None
    try:
        body = res.read(_LIMITS[name] + 1)
    except urllib3.exceptions.HTTPError:
        return None
    finally:
        res.release_conn()
    return body if res.status == 200 and len(body) <= _LIMITS[name] else None


def _keep(folder: Path, name: str, data: bytes) -> None:
    """Replace a kept copy atomically: a crash leaves the old copy or the new, never half."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, folder / name)


def is_known(site: str, directory: Path) -> bool:
    """Whether this machine keeps lists of ``site`` (a verifier chose it once with --site)."""
    return (_folder(directory, site) / TRUST_FILE).is_file()


def refresh(site: str, directory: Path, *, timeout: float = TIMEOUT_SECONDS) -> bool:
    """Fetch both lists from ``site`` and keep what parses; whether the trust list came.

    Once a site's list is kept its root is pinned: a new list under another root is not kept
    (a hijacked name or a forged site cannot swap the root a verifier trusts)."""
    pool = urllib3.PoolManager(timeout=urllib3.Timeout(total=timeout))
    folder = _folder(directory, site)
    trust = _fetch(pool, site, TRUST_FILE)
    parsed = _parse_trust(trust) if trust is not None else None
    if trust is None or parsed is None:
        return False
    if is_known(site, directory):
        kept = _parse_trust((folder / TRUST_FILE).read_bytes())
        if kept is not None and kept[1] != parsed[1]:
            raise OfflineUnavailable("root changed", code="offline_root_changed", site=site)
    _keep(folder, TRUST_FILE, trust)
    status = _fetch(pool, site, STATUS_FILE)
    if status is not None:
        _keep(folder, STATUS_FILE, status)
    return True


def _parse_trust(data: bytes) -> tuple[tuple[TrustEntry, ...], bytes, str] | None:
    try:
        body: Any = json.loads(data)
        root = base64.b64decode(body["root"], validate=True)
        uri = body["status_list"]["uri"]
        entries = tuple(
            TrustEntry(
                department=str(c["department"]),
                cert_der=base64.b64decode(c["certificate"], validate=True),
                revoked=c["status"] == "revoked",
            )
            for c in body["certificates"]
        )
    except (ValueError, KeyError, TypeError, binascii.Error, RecursionError):
        return None
    return (entries, root, uri) if isinstance(uri, str) else None


def load(site: str, directory: Path, *, refreshed: bool) -> OfflineMaterial:
    """The kept copies for ``site``; OfflineUnavailable when there is no usable trust list."""
    folder = _folder(directory, site)
    try:
        parsed = _parse_trust((folder / TRUST_FILE).read_bytes())
    except OSError:
        parsed = None
    if parsed is None:
        raise OfflineUnavailable("no trust list kept", code="offline_no_trust_list", site=site)
    try:
        status: bytes | None = (folder / STATUS_FILE).read_bytes()
    except OSError:
        status = None
    trust, root, uri = parsed
    return OfflineMaterial(site, trust, root, uri, status, refreshed)

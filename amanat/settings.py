"""Settings: one frozen value built once from ``AMANAT_*`` variables and the instance folder.

Precedence: the environment, then ``<instance>/amanat.toml``, then the defaults of DESIGN 5.3.
Nothing else in Amanat reads the environment.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import argon2.profiles
from argon2 import Parameters

from amanat.errors import AmanatError


class SettingsError(AmanatError):
    """A setting is missing or malformed."""


@dataclass(frozen=True)
class Settings:
    """Deployment settings (DESIGN 5.3)."""

    instance: Path
    database_url: str
    public_base_url: str = "http://localhost:8000"
    keystore: str = "file"
    pkcs11_module: str = ""
    pkcs11_token: str = ""
    pkcs11_pin: str = field(default="", repr=False)
    blobstore: str = ""
    tsa_url: str = ""
    tsa_trust: str = ""
    max_upload_bytes: int = 25 * 1024 * 1024
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    login_attempts_per_minute: int = 20
    api_requests_per_minute: int = 600
    # Every event a web worker commits is covered by a signed tree head within this many seconds.
    tree_head_seconds: int = 5
    # Verifications are written to the holders' ledgers off the request, at most this late (a
    # crash loses at most this much of them; a clean stop loses nothing).
    verification_flush_seconds: int = 1
    # Dates and times on pages are shown in this zone, in words of the reader's language.
    time_zone: str = "Asia/Karachi"
    # Argon2id parameters, by their name in argon2.profiles (RFC 9106's second recommendation:
    # 64 MiB, 3 passes, 4 lanes; about 80 ms a hash on one core here). Tests use CHEAPEST.
    password_profile: str = "RFC_9106_LOW_MEMORY"  # noqa: S105 (a profile name, not a secret)
    log_level: str = "INFO"
    # The task engine's queue: empty for the database's own (a file beside SQLite, the same
    # PostgreSQL), or sqlite:<file>, postgresql://..., redis://... (web/tasks.py).
    tasks: str = ""
    # A worker holds a batch row this long; one that died leaves the row to be taken again then.
    batch_lease_seconds: int = 60
    # /metrics answers a request with this bearer token; without one, only this machine's own
    # address, not through a proxy.
    metrics_token: str = field(default="", repr=False)
    # Addresses (or networks) of the reverse proxies whose X-Forwarded-For/-Proto are believed.
    trusted_proxies: str = ""
    # Sent as X-Amanat-Node on every answer when set (which node of several served a request).
    node_name: str = ""
    # Notices (web/notices.py): e-mail through this SMTP server (STARTTLS unless "none"), SMS
    # through an HTTP gateway that takes the JSON body of sms_template.
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_from: str = "Amanat <no-reply@localhost>"
    smtp_tls: str = "starttls"
    smtp_ca_file: str = ""
    sms_url: str = ""
    sms_token: str = field(default="", repr=False)
    sms_template: str = '{"to": "{to}", "text": "{text}"}'
    # Private networks that organisations' callback URLs may point into all the same (a bank's
    # system inside the same data centre; tests on this machine): "10.1.0.0/16, 127.0.0.1".
    webhook_allowed_networks: str = ""
    # The signed status list for offline verifiers (signing/status_list.py): how long a list is
    # valid, and how many indexes certificates draw theirs from.
    status_list_hours: int = 24
    status_list_capacity: int = 1 << 24
    # A B-LTA certificate gets a new archive time-stamp when its newest one ends within this many
    # days (signing/archive.py); the time-stamping authority is rolled within it too.
    archive_margin_days: int = 365
    # How long a citizen who asked for their account to be closed can still cancel (with their
    # passkey) before everything is erased (signing/erasure.py).
    erasure_grace_days: int = 14
    # How long after an assisted recovery starts its link begins to work (identity/assisted.py):
    # the time the citizen has to refuse it.
    recovery_wait_hours: int = 72
    # Staff passkeys (identity/passkeys.py STAFF): a FIDO MDS3 blob file, the root certificate
    # that signs it (PEM or DER file), and the AAGUIDs allowed (comma-separated). Unset: staff
    # register passkeys as citizens do (attestation "none").
    mds_blob: str = ""
    mds_root: str = ""
    staff_aaguids: str = ""

    @property
    def origin(self) -> str:
        """The exact web origin (scheme://host[:port]) passkeys are bound to."""
        parts = urlsplit(self.public_base_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def rp_id(self) -> str:
        """The WebAuthn relying-party id: the host name of the public URL."""
        return urlsplit(self.public_base_url).hostname or "localhost"

    @property
    def https(self) -> bool:
        """Whether the service is published over HTTPS (secure cookies, HSTS)."""
        return urlsplit(self.public_base_url).scheme == "https"

    @property
    def blob_dir(self) -> Path:
        """Folder of the filesystem blob store (the default one when blobs are in S3)."""
        spec = self.blobstore if self.blobstore.startswith("file:") else ""
        return Path(spec[len("file:") :]) if spec else self.instance / "blobs"

    @property
    def key_file(self) -> Path:
        """The file key store's master-key file."""
        return self.instance / "master.keys"

    @property
    def secret_key_file(self) -> Path:
        """File holding the web tier's signing secret (CSRF tokens)."""
        return self.instance / "secret.key"

    @property
    def proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """The trusted proxies as networks (``"127.0.0.1, 10.0.0.0/8"``); ValueError names a bad
        entry."""
        parts = (p.strip() for p in self.trusted_proxies.split(","))
        return tuple(ipaddress.ip_network(p, strict=False) for p in parts if p)

    @property
    def webhook_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """The private networks callbacks may point into; ValueError names a bad entry."""
        parts = (p.strip() for p in self.webhook_allowed_networks.split(","))
        return tuple(ipaddress.ip_network(p, strict=False) for p in parts if p)

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some fields changed (tests, CLI flags)."""
        return replace(self, **changes)


_INT_FIELDS = {
    "max_upload_bytes",
    "session_idle_minutes",
    "session_absolute_hours",
    "login_attempts_per_minute",
    "api_requests_per_minute",
    "tree_head_seconds",
    "verification_flush_seconds",
    "batch_lease_seconds",
    "smtp_port",
    "status_list_hours",
    "status_list_capacity",
    "archive_margin_days",
    "erasure_grace_days",
    "recovery_wait_hours",
}
_STR_FIELDS = {
    "mds_blob",
    "mds_root",
    "staff_aaguids",
    "database_url",
    "public_base_url",
    "keystore",
    "pkcs11_module",
    "pkcs11_token",
    "pkcs11_pin",
    "blobstore",
    "tsa_url",
    "tsa_trust",
    "time_zone",
    "password_profile",
    "log_level",
    "tasks",
    "metrics_token",
    "trusted_proxies",
    "node_name",
    "smtp_host",
    "smtp_user",
    "smtp_password",
    "smtp_from",
    "smtp_tls",
    "smtp_ca_file",
    "sms_url",
    "sms_token",
    "sms_template",
    "webhook_allowed_networks",
}


def _check_limits(settings: Settings) -> None:
    if settings.status_list_capacity > 1 << 29:
        # Verifiers refuse a list whose bits pass 64 MiB (verification/status_list.py).
        raise SettingsError("AMANAT_STATUS_LIST_CAPACITY must be at most 536870912 (2^29)")
    if settings.archive_margin_days >= 3650:
        # A margin as long as a TSA certificate lasts (ten years) would renew every file again
        # at once, and roll the TSA at every run.
        raise SettingsError("AMANAT_ARCHIVE_MARGIN_DAYS must be under 3650 (ten years)")
    if not 1 <= settings.erasure_grace_days <= 90:
        # A day at least, to cancel a closing someone else asked for with a stolen session.
        raise SettingsError("AMANAT_ERASURE_GRACE_DAYS must be 1 to 90")
    if not 24 <= settings.recovery_wait_hours <= 720:
        # At least a day for the owner to hear of it and refuse.
        raise SettingsError("AMANAT_RECOVERY_WAIT_HOURS must be 24 to 720")


def _from_toml(instance: Path) -> dict[str, Any]:
    """The instance's amanat.toml (an unknown setting is refused, not ignored)."""
    toml_file = instance / "amanat.toml"
    if not toml_file.is_file():
        return {}
    try:
        with toml_file.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{toml_file}: {exc}") from None
    values: dict[str, Any] = {}
    for key, value in data.items():
        name = key.lower().removeprefix("amanat_")
        if name not in _INT_FIELDS | _STR_FIELDS:
            raise SettingsError(f"{toml_file}: unknown setting {key!r}")
        values[name] = value
    return values


def _integers(values: dict[str, Any]) -> None:
    for name in _INT_FIELDS & values.keys():
        try:
            values[name] = int(values[name])
        except (TypeError, ValueError):
            raise SettingsError(f"AMANAT_{name.upper()} must be an integer") from None
        if values[name] <= 0:
            raise SettingsError(f"AMANAT_{name.upper()} must be positive")


def _check_parsed(settings: Settings) -> None:
    """What must parse before the service starts: a typo stops it, not the first request."""
    try:
        zoneinfo.ZoneInfo(settings.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"AMANAT_TIME_ZONE: unknown time zone {settings.time_zone!r}") from None
    try:
        settings.proxy_networks  # noqa: B018 (parsed here so that a typo stops the start)
    except ValueError as exc:
        raise SettingsError(f"AMANAT_TRUSTED_PROXIES: {exc}") from None
    try:
        settings.webhook_networks  # noqa: B018 (the same)
    except ValueError as exc:
        raise SettingsError(f"AMANAT_WEBHOOK_ALLOWED_NETWORKS: {exc}") from None
    if urlsplit(settings.public_base_url).scheme not in ("http", "https"):
        raise SettingsError("AMANAT_PUBLIC_BASE_URL must be an http(s) URL")
    if not isinstance(getattr(argon2.profiles, settings.password_profile, None), Parameters):
        raise SettingsError(
            f"AMANAT_PASSWORD_PROFILE: {settings.password_profile!r} is not in argon2.profiles"
        )


def load_settings(
    environ: Mapping[str, str] | None = None, *, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Build the settings from ``environ`` (default: the process environment) over the
    instance's amanat.toml, then ``overrides``."""
    env = os.environ if environ is None else environ
    instance = Path(env.get("AMANAT_INSTANCE", "./instance")).resolve()
    values = _from_toml(instance)
    for name in _INT_FIELDS | _STR_FIELDS:
        env_name = "AMANAT_" + name.upper()
        if env_name in env:
            values[name] = env[env_name]
    if overrides:
        values.update(overrides)
    _integers(values)
    values.setdefault("database_url", f"sqlite:///{instance / 'amanat.db'}")
    settings = Settings(instance=instance, **values)
    if settings.keystore not in ("file", "pkcs11"):
        raise SettingsError("AMANAT_KEYSTORE must be 'file' or 'pkcs11'")
    if settings.keystore == "pkcs11" and not (settings.pkcs11_module and settings.pkcs11_token):
        raise SettingsError(
            "AMANAT_KEYSTORE=pkcs11 needs AMANAT_PKCS11_MODULE and AMANAT_PKCS11_TOKEN"
        )
    _check_limits(settings)
    _check_parsed(settings)
    return settings

"""The ``amanat`` commands (DESIGN 5.1); ``web/cli.py`` is the entry point that loads them."""

from __future__ import annotations

import datetime as dt
import os
import zoneinfo
from typing import Any

import click

from amanat import migrate
from amanat.db import create_engine, session_factory, transaction
from amanat.errors import AmanatError
from amanat.settings import Settings, SettingsError, load_settings
from audit import EventTag, record_event
from audit.errors import AuditError
from audit.keyring import bind_keystore, ensure_ledger_key
from audit.ledger import (
    authenticate_legacy_events,
    consistency_proof,
    head_json,
    inclusion_proof,
    latest_tree_head,
    publish_tree_head,
    rebuild_tree_nodes,
    rewrap_ledger_keys,
    verify_ledger,
)
from audit.service import LEDGER_APPENDED, LEDGER_PENDING
from identity import passwords, recovery
from identity.accounts import create_account, find_by_login
from identity.models import Organisation, Role
from identity.organisations import (
    add_member,
    create_api_key,
    create_organisation,
    list_api_keys,
    list_organisations,
    revoke_api_key,
)
from keys import KeysError
from keys.stores import open_keystore
from signing.apikeys import (
    create_department_api_key,
    list_department_api_keys,
    revoke_department_api_key,
)
from signing.applications import set_offers
from signing.errors import SigningError
from signing.issuance import IssuanceContext, IssueRequest, issue_certificate, revoke_certificate
from signing.models import CrlState, Department
from signing.pki import (
    create_department,
    ensure_pki,
    load_pki,
    revoke_department_key,
    rewrap_pki_keys,
)
from signing.types import certificate_types
from signing.webhooks import rewrap_webhook_secrets, rotate_webhook_secret
from vault.blobs import BlobStore, open_blobstore
from vault.service import VaultContext, rewrap_owner_keys, sweep_orphan_blobs
from web.runtime import utcnow

DEMO_CITIZEN = "35202-1234567-1"
DEMO_OFFICER = "demo-officer"
DEMO_ORGANISATION = "DEMOBANK"
DEMO_BANKER = "demo-bank"


def _sessions(settings: Settings, engine: Any) -> Any:
    """A session factory whose sessions authenticate ledger events with the key store."""
    return bind_keystore(session_factory(engine), open_keystore(settings))


def _cover_with_head(settings: Settings, s: Any) -> None:
    """Sign a tree head in the same transaction when it appended events (no event is left
    without a signed head because it was written on the command line)."""
    if s.info.get(LEDGER_APPENDED) or s.info.get(LEDGER_PENDING):
        publish_tree_head(s, keystore=open_keystore(settings), now=utcnow())


def said(exc: AmanatError) -> str:
    """What a refusal says on the command line: its code's words (web/messages.py), else its
    own English line."""
    from web.messages import refusal_text

    return refusal_text(exc)


def _blobs(settings: Settings) -> BlobStore:
    """The blob store the settings name (file folder or S3 bucket)."""
    return open_blobstore(settings.blobstore, default_dir=settings.blob_dir)


def _settings() -> Settings:
    try:
        settings = load_settings()
    except SettingsError as exc:
        raise click.ClickException(said(exc)) from None
    from identity import passwords

    passwords.use_profile(settings.password_profile)
    return settings


@click.group()
def main() -> None:
    """Amanat: citizen e-file vault (the commands; ``web.cli.main`` runs them)."""


@main.command()
@click.option("--demo", is_flag=True, help="Also create a demo citizen and officer.")
def init(demo: bool) -> None:
    """Create or upgrade the database, the master key and the secret key."""
    settings = _settings()
    settings.instance.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        open_keystore(settings, create=True)
    except KeysError as exc:
        raise click.ClickException(said(exc)) from None
    from web.app import _secret_key

    _secret_key(settings.secret_key_file)
    try:
        store = _blobs(settings)
        if hasattr(store, "ensure_bucket") and store.ensure_bucket():
            click.echo(f"Bucket {getattr(store, 'bucket', '')} created.")
    except AmanatError as exc:
        raise click.ClickException(said(exc)) from None
    engine = create_engine(settings.database_url)
    _upgrade(settings, engine)
    if engine.url.get_backend_name() == "sqlite" and engine.url.database:
        # An instance made before the umask above may have a world-readable database file.
        os.chmod(engine.url.database, 0o600)
    click.echo(f"Database ready at revision {migrate.current_revision(engine)}.")
    with transaction(_sessions(settings, engine)) as s:
        ensure_ledger_key(s, keystore=open_keystore(settings), now=utcnow())
        if ensure_pki(s, keystore=open_keystore(settings), now=utcnow()):
            click.echo("Deployment PKI created: root CA, OCSP responder, time-stamping authority.")
    if demo:
        _demo(settings, engine)
    with transaction(_sessions(settings, engine)) as s:
        # Whatever init wrote (and the empty ledger of a new instance) is covered by a head.
        publish_tree_head(s, keystore=open_keystore(settings), now=utcnow())


def _upgrade(settings: Settings, engine: Any) -> None:
    """Apply the migrations, then bring events written under older revisions up to date (once):
    tree nodes for events from before the Merkle ledger, MACs for events from before 0005."""
    before = migrate.current_revision(engine)
    try:
        migrate.upgrade(engine)
    except migrate.ForeignKeysBroken as exc:
        raise click.ClickException(said(exc)) from None
    with transaction(session_factory(engine)) as s:
        count = rebuild_tree_nodes(s)
    if count:
        click.echo(f"Ledger: Merkle tree built over {count} existing events.")
    # Only right after the upgrade that added MACs: a later run never vouches for rows that
    # someone wrote since without the key store.
    if before is not None and before < "0005":
        try:
            keystore = open_keystore(settings)
            with transaction(session_factory(engine)) as s:
                done = authenticate_legacy_events(s, keystore=keystore, now=utcnow())
                publish_tree_head(s, keystore=keystore, now=utcnow())
        except (KeysError, AuditError) as exc:
            raise click.ClickException(said(exc)) from None
        click.echo(f"Ledger: {done} events from before revision 0005 authenticated.")


def _demo(settings: Settings, engine: Any) -> None:
    """Create the demo department, accounts and API key once; print their sign-ins.

    Later runs print the same sign-ins (kept 0600 in the instance) instead of new passwords and
    another API key, as long as the demo citizen still exists in this database.
    """
    import json

    from keys.stores import write_private_file

    kept = settings.instance / "demo-sign-ins.json"
    with _sessions(settings, engine)() as s:
        known = find_by_login(s, login=DEMO_CITIZEN) is not None
    if kept.is_file() and known:
        try:
            _print_demo(json.loads(kept.read_text()))
            return
        except (ValueError, KeyError):
            pass  # a damaged file: make new sign-ins
    with transaction(_sessions(settings, engine)) as s:
        demo = _demo_accounts(settings, s)
        _cover_with_head(settings, s)
    write_private_file(kept, json.dumps(demo).encode())
    _print_demo(demo)


def _demo_accounts(settings: Settings, s: Any) -> dict[str, str]:
    now = utcnow()
    keystore = open_keystore(settings)
    if s.get(Department, "DEMO") is None:
        material = load_pki(s, keystore=keystore, base_url=settings.public_base_url)
        create_department(
            s,
            keystore=keystore,
            material=material,
            code="DEMO",
            name="Demo Department",
            name_ur="نمونہ محکمہ",
            now=now,
        )
    citizen = find_by_login(s, login=DEMO_CITIZEN) or create_account(
        s, role=Role.CITIZEN, display_name="Demo Citizen", login=DEMO_CITIZEN, now=now
    )
    officer = find_by_login(s, login=DEMO_OFFICER) or create_account(
        s,
        role=Role.OFFICER,
        display_name="Demo Officer",
        login=DEMO_OFFICER,
        affiliation="DEMO",
        now=now,
    )
    set_offers(s, code="DEMO", types=certificate_types())
    if s.get(Organisation, DEMO_ORGANISATION) is None:
        create_organisation(s, code=DEMO_ORGANISATION, name="Demo Bank", now=now)
    banker = find_by_login(s, login=DEMO_BANKER) or add_member(
        s, code=DEMO_ORGANISATION, login=DEMO_BANKER, display_name="Demo Banker", now=now
    )
    demo = {"citizen": _demo_password(), "officer": _demo_password(), "banker": _demo_password()}
    for account, key in ((citizen, "citizen"), (officer, "officer"), (banker, "banker")):
        passwords.set_password(s, account=account, password=demo[key], now=now)
    demo["code"] = recovery.generate_codes(s, account=citizen, now=now)[0]
    demo["api_key"] = create_api_key(
        s,
        code=DEMO_ORGANISATION,
        label="demo",
        scopes=["requests", "shares:read", "verify"],
        now=now,
    ).token
    return demo


def _print_demo(demo: dict[str, str]) -> None:
    click.echo("")
    click.echo("Demo accounts (for trying Amanat out; never use --demo in production):")
    click.echo(f"  citizen  CNIC {DEMO_CITIZEN}  password {demo['citizen']}")
    click.echo(f"           or a recovery code, e.g. {demo['code']}")
    click.echo(f"  officer  login {DEMO_OFFICER}  password {demo['officer']}  (department DEMO)")
    click.echo(
        f"  bank     login {DEMO_BANKER}  password {demo['banker']}  (organisation DEMOBANK)"
    )
    click.echo(f"           API key {demo['api_key']}")
    click.echo(
        "  Sign in at /login ('Sign in with a password'), then add a passkey under Security."
    )


def _demo_password() -> str:
    import secrets

    return "-".join(secrets.token_hex(3) for _ in range(3))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=0, type=int, help="Worker processes (default: one per core).")
@click.option(
    "--task-worker/--no-task-worker", default=True, show_default=True,
    help="Also run a task-engine worker beside the web server (batches, periodic jobs); a "
    "production install runs 'amanat worker' as a service of its own and passes --no-task-worker.",
)  # fmt: skip
def run(host: str, port: int, workers: int, task_worker: bool) -> None:
    """Serve the web app with gunicorn."""
    settings = _settings()
    _metrics_folder(settings)
    from web.app import create_app  # after the metrics folder is set: see web/metrics.py

    app = create_app(settings)
    rt = app.extensions["amanat"]
    click.echo(f"Amanat is running at {settings.public_base_url}  (Ctrl+C stops it)")
    beside = _task_worker() if task_worker else None
    try:
        # Connections must not be shared across fork: each worker opens its own. A worker that
        # stops writes its buffered verifications and signs its last events first.
        _serve(app, host, port, workers or (os.cpu_count() or 1), rt.after_fork, rt.close)
    finally:
        if beside is not None:
            _stop(beside)


def _metrics_folder(settings: Settings) -> None:
    """One folder for every web worker's counters (``/metrics`` adds them up), emptied of an
    earlier run's; set before prometheus-client is imported, which reads it then."""
    folder = settings.instance / "metrics"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


def _task_worker() -> Any:
    """``amanat worker`` as a child of the web server (the embedded default needs nothing else)."""
    import subprocess
    import sys

    command = [sys.executable, "-c", "from web.cli import main; main()", "worker"]
    return subprocess.Popen(command)  # noqa: S603 (our own interpreter and command, no shell)


def _stop(child: Any) -> None:
    """Stop a child gracefully (Huey finishes the job in hand on SIGINT), then for good."""
    import signal
    import subprocess

    if child.poll() is None:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(20)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(5)


def _serve(
    app: Any,
    host: str,
    port: int,
    workers: int,
    after_fork: Any = None,
    worker_exit: Any = None,
) -> None:
    """Serve a WSGI app with gunicorn."""
    from gunicorn.app.base import BaseApplication

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("timeout", 120)
            # Requests are short: a stop waits at most this long for them (gunicorn's default 30).
            self.cfg.set("graceful_timeout", 10)
            self.cfg.set("accesslog", None)
            # gunicorn 25+ opens a control socket under the home folder, shared by every instance
            # the account runs; Amanat needs none.
            if "control_socket_disable" in self.cfg.settings:
                self.cfg.set("control_socket_disable", True)
            if after_fork is not None:
                self.cfg.set("post_fork", lambda _server, _worker: after_fork())
            if worker_exit is not None:
                self.cfg.set("worker_exit", lambda _server, _worker: worker_exit())

        def load(self) -> Any:
            return app

    _Server().run()


@main.command()
@click.option("--name", required=True, help="The witness's key name, e.g. auditor.example/w1.")
@click.option(
    "--log",
    "logs",
    multiple=True,
    required=True,
    help="ORIGIN=KEYFILE: a log and its public key (PEM or DER; 'amanat audit checkpoint').",
)
@click.option("--state-dir", required=True, help="Folder for the witness key and its state.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8100, show_default=True, type=int)
def witness(name: str, logs: tuple[str, ...], state_dir: str, host: str, port: int) -> None:
    """Run a C2SP witness: cosign ledger checkpoints only when they extend what it saw."""
    from pathlib import Path

    from audit.checkpoint import Witness
    from keys.notes import WitnessKey
    from web.witness import create_witness_app

    known: dict[str, bytes] = {}
    for item in logs:
        origin, sep, path = item.partition("=")
        if not sep or not origin:
            raise CouldNotCheck(f"--log takes ORIGIN=KEYFILE, not {item!r}")
        known[origin] = _public_key_file(Path(path))
    folder = Path(state_dir)
    try:
        key = WitnessKey(folder / "witness.key")
    except KeysError as exc:
        raise click.ClickException(said(exc)) from None
    app = create_witness_app(Witness(name=name, key=key, logs=known, state=folder / "state.json"))
    click.echo(f"Witness {name} (ed25519 {key.public_bytes.hex()}) at http://{host}:{port}")
    _serve(app, host, port, 1)


def _public_key_file(path: Any) -> bytes:
    """A public key file (PEM 'PUBLIC KEY' or SPKI DER) as SPKI DER."""
    import base64

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CouldNotCheck(f"cannot read {path}: {exc.strerror}") from None
    if b"-----BEGIN PUBLIC KEY-----" in data:
        inner = data.split(b"-----BEGIN PUBLIC KEY-----")[1].split(b"-----END PUBLIC KEY-----")[0]
        data = base64.b64decode(b"".join(inner.split()))
    return bytes(data)


@main.group()
def db() -> None:
    """Database commands."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations."""
    settings = _settings()
    engine = create_engine(settings.database_url)
    _upgrade(settings, engine)
    click.echo(f"Database at revision {migrate.current_revision(engine)}.")


@main.group()
def keys() -> None:
    """Master-key commands."""


@keys.command("rotate")
def keys_rotate() -> None:
    """Add a master-key version and rewrap every owner key under it (blobs are untouched)."""
    settings = _settings()
    try:
        store = open_keystore(settings)
        engine = create_engine(settings.database_url)
        version = store.rotate()
        now = utcnow()
        with transaction(bind_keystore(session_factory(engine), store)) as s:
            count = rewrap_owner_keys(s, keystore=store, now=now)
            pki_count = rewrap_pki_keys(s, keystore=store)
            pki_count += rewrap_ledger_keys(s, keystore=store)
            pki_count += rewrap_webhook_secrets(s, keystore=store)
            record_event(
                s,
                tag=EventTag.KEYS_MASTER_KEY_ROTATED,
                actor="operator",
                subject_id=None,
                now=now,
                details={"version": version, "rewrapped": count},
            )
            publish_tree_head(s, keystore=store, now=now)
    except KeysError as exc:
        raise click.ClickException(said(exc)) from None
    click.echo(
        f"Master key version {version} is now current; {count} owner keys and "
        f"{pki_count} PKI keys rewrapped."
    )


def _issuance(settings: Settings, session: Any) -> IssuanceContext:
    keystore = open_keystore(settings)
    material = load_pki(session, keystore=keystore, base_url=settings.public_base_url)
    from web.runtime import tsa_roots

    return IssuanceContext(
        keystore=keystore,
        material=material,
        vault=VaultContext(keystore=keystore, blobs=_blobs(settings)),
        tsa_url=settings.tsa_url,
        tsa_roots=tsa_roots(settings),
        status_capacity=settings.status_list_capacity,
    )


def _in_transaction(action: Any) -> Any:
    """Run ``action(settings, session)`` in one transaction (a tree head covers what it wrote);
    domain errors become clear CLI errors."""
    settings = _settings()
    engine = create_engine(settings.database_url)
    try:
        with transaction(_sessions(settings, engine)) as s:
            result = action(settings, s)
            _cover_with_head(settings, s)
            return result
    except AmanatError as exc:
        raise click.ClickException(said(exc)) from None
    finally:
        engine.dispose()


def _moment(text: str, settings: Settings) -> dt.datetime:
    """An ISO 8601 moment from the command line; without an offset, in AMANAT_TIME_ZONE."""
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a date and time; write it as 2026-12-01T09:30 (ISO 8601)."
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zoneinfo.ZoneInfo(settings.time_zone))
    return moment.astimezone(dt.UTC)


@main.group()
def department() -> None:
    """Issuing departments."""


@department.command("create")
@click.argument("code")
@click.option("--name", required=True, help="The department's name in English.")
@click.option("--name-ur", default=None, help="The department's name in Urdu.")
@click.option("--rsa", is_flag=True, help="RSA-3072 instead of ECDSA P-256.")
@click.option("--hsm", is_flag=True, help="Keep the signing key in the PKCS#11 token.")
def department_create(code: str, name: str, name_ur: str | None, rsa: bool, hsm: bool) -> None:
    """Create a department with its signing key and certificate."""

    def act(settings: Settings, s: Any) -> None:
        ctx = _issuance(settings, s)
        d = create_department(
            s,
            keystore=ctx.keystore,
            material=ctx.material,
            code=code,
            name=name,
            name_ur=name_ur,
            key_kind="rsa-3072" if rsa else "ec-p256",
            now=utcnow(),
            hsm=hsm,
        )
        click.echo(f"Department {d.code} created; signing certificate {d.certs[-1].serial_hex}.")

    _in_transaction(act)


@department.command("revoke-key")
@click.argument("code")
@click.option("--reason", default="key_compromise", show_default=True)
@click.option(
    "--compromised-since",
    "since",
    default=None,
    metavar="WHEN",
    help="When the key was compromised, if before now (ISO 8601, e.g. 2026-12-01T09:30;"
    " without an offset it is read in AMANAT_TIME_ZONE): certificates recorded from then on"
    " fail on every channel, older ones stay valid.",
)
def department_revoke_key(code: str, reason: str, since: str | None) -> None:
    """Key compromise: revoke the signing certificate (OCSP and CRL at once), roll a new key."""

    def act(settings: Settings, s: Any) -> None:
        ctx = _issuance(settings, s)
        new = revoke_department_key(
            s,
            keystore=ctx.keystore,
            material=ctx.material,
            code=code,
            reason=reason,
            now=utcnow(),
            invalid_since=_moment(since, settings) if since else None,
        )
        click.echo(f"Old certificate revoked; new signing certificate {new.serial_hex}.")

    _in_transaction(act)


@department.command("create-key")
@click.argument("code")
@click.option("--label", required=True, help="What the key is for (e.g. 'registrar system').")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    default=("issue",),
    show_default=True,
    help="issue (certificates and batches), revoke, applications; repeatable.",
)
def department_create_api_key(code: str, label: str, scopes: tuple[str, ...]) -> None:
    """Create an API key for the department's own system; it is printed once, never stored."""

    def act(settings: Settings, s: Any) -> str:
        return create_department_api_key(
            s, code=code, label=label, scopes=scopes, now=utcnow()
        ).token

    token = _in_transaction(act)
    click.echo("API key (shown once; store it in the department's secret store):")
    click.echo(token)


@department.command("offer")
@click.argument("code")
@click.option("--type", "types", multiple=True, help="A certificate type code; repeatable.")
def department_offer(code: str, types: tuple[str, ...]) -> None:
    """Set what citizens may apply to the department for (no --type: nothing)."""

    def act(settings: Settings, s: Any) -> list[str]:
        return set_offers(s, code=code, types=types)

    offered = _in_transaction(act)
    click.echo(
        f"Department {code.upper()} takes applications for: {', '.join(offered) or 'nothing'}."
    )


@department.command("list-keys")
@click.argument("code")
def department_list_api_keys(code: str) -> None:
    """The department's API keys: id, label, scopes, created, last used, revoked."""

    def when(value: Any) -> str:
        return value.strftime("%Y-%m-%d %H:%M") if value else "-"

    def act(settings: Settings, s: Any) -> list[str]:
        return [
            f"{k.key_id}\t{k.label}\t{','.join(k.scopes)}\tcreated {when(k.created_at)}"
            f"\tlast used {when(k.last_used_at)}\trevoked {when(k.revoked_at)}"
            for k in list_department_api_keys(s, code=code)
        ]

    for line in _in_transaction(act):
        click.echo(line)


@department.command("revoke-api-key")
@click.argument("key_id")
def department_revoke_api_key(key_id: str) -> None:
    """Revoke a department API key at once (KEY_ID is the part after 'amanat_')."""

    def act(settings: Settings, s: Any) -> str:
        return revoke_department_api_key(s, key_id=key_id, now=utcnow()).key_id

    click.echo(f"API key {_in_transaction(act)} revoked.")


def _parse_fields(pairs: tuple[str, ...]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.ClickException(f"--field takes key=value (got {pair!r})")
        fields[key.strip()] = value
    return fields


@main.command()
@click.option("--department", "department_code", required=True)
@click.option("--citizen", required=True, help="The holder's CNIC.")
@click.option("--type", "type_code", required=True, help="birth, degree or domicile.")
@click.option("--field", "field_pairs", multiple=True, help="key=value or key:ur=value (repeat).")
@click.option(
    "--level",
    default="B-LTA",
    show_default=True,
    type=click.Choice(["B-B", "B-T", "B-LT", "B-LTA"]),
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="Also write the signed PDF here."
)
def issue(
    department_code: str,
    citizen: str,
    type_code: str,
    field_pairs: tuple[str, ...],
    level: str,
    output: str | None,
) -> None:
    """Issue a certificate into a citizen's vault; print its serial."""
    request = None
    try:
        request = IssueRequest.build(
            department=department_code,
            citizen=citizen,
            type_code=type_code,
            fields=_parse_fields(field_pairs),
            level=level,
        )
    except SigningError as exc:
        raise click.ClickException(said(exc)) from None

    def act(settings: Settings, s: Any) -> str:
        ctx = _issuance(settings, s)
        row = issue_certificate(s, ctx=ctx, request=request, now=utcnow())
        if output and row.document_id is not None and row.holder_id is not None:
            from audit.actors import Actor
            from vault.service import open_document

            opened = open_document(
                s,
                ctx=ctx.vault,
                owner_id=row.holder_id,
                document_id=row.document_id,
                purpose="download",
                now=utcnow(),
                actor=str(Actor.department(row.department_code)),
            )
            with opened.file, open(output, "wb") as fh:
                fh.write(opened.file.read())
        return row.serial

    click.echo(_in_transaction(act))


@main.command("issue-batch")
@click.option("--department", "department_code", required=True)
@click.option("--report", type=click.Path(dir_okay=False), help="Write a per-row CSV report here.")
@click.option(
    "--workers", default=0, type=int,
    help="Run this many worker processes here until the batch is done (default: none, the "
    "running workers take it).",
)  # fmt: skip
@click.option("--no-wait", is_flag=True, help="Put the batch on the queue, print its id, return.")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False))
def issue_batch(
    department_code: str, report: str | None, workers: int, no_wait: bool, csv_file: str
) -> None:
    """Issue every row of a CSV; resumable (rows issued before are skipped, never issued twice)."""
    from signing.batches import submit_file
    from web.batch_follow import follow_batch
    from web.tasks import task_engine

    def act(settings: Settings, s: Any) -> Any:
        with open(csv_file, "rb") as fh:
            data = fh.read()
        name = os.path.basename(csv_file)
        return submit_file(s, department=department_code, actor=None, name=name, data=data,
                           now=utcnow())  # fmt: skip

    progress = _in_transaction(act)
    settings = _settings()
    if not progress.done:
        try:
            task_engine(settings).enqueue_batch(progress.id)
        except AmanatError as exc:
            raise click.ClickException(said(exc)) from None
    if no_wait:
        click.echo(str(progress.id))
        return
    if follow_batch(settings, batch_id=progress.id, workers=workers, report=report):
        raise SystemExit(1)


@main.command()
@click.argument("into", type=click.Path(file_okay=False))
@click.option("--no-keys", is_flag=True, help="Leave the key material out (kept elsewhere).")
def backup(into: str, no_keys: bool) -> None:
    """Back up the database, the encrypted blobs and the key material into a new folder."""
    from pathlib import Path

    from web.backup import make_backup

    settings = _settings()
    try:
        made = make_backup(settings, into=Path(into), keys=not no_keys, now=utcnow())
    except AmanatError as exc:
        raise click.ClickException(said(exc)) from None
    click.echo(f"Backup written to {made.folder} ({made.files} files, {made.database}).")
    if made.with_keys:
        click.echo("It holds the key material: keep it apart from other copies of the data.")
    else:
        click.echo("No key material in it: the master key must come back from where it is kept.")


@main.command()
@click.argument("source", type=click.Path(exists=True, file_okay=False))
@click.option("--replace", is_flag=True, help="Replace an instance that already has data.")
def restore(source: str, replace: bool) -> None:
    """Restore a backup into this instance (every file is checked first), then check the ledger."""
    from pathlib import Path

    from web.backup import BackupError, restore_backup

    settings = _settings()
    try:
        if not replace and _has_data(settings):
            raise BackupError("Not empty.", code="backup_instance_not_empty")
        restored = restore_backup(settings, source=Path(source))
    except AmanatError as exc:
        raise click.ClickException(said(exc)) from None
    click.echo(f"Restored {restored.files} files from {restored.folder}.")
    engine = create_engine(settings.database_url)
    try:
        migrate.upgrade(engine)
        with _sessions(settings, engine)() as s:
            report = verify_ledger(s, keystore=open_keystore(settings))
    finally:
        engine.dispose()
    if not report.intact:
        raise click.ClickException(f"The restored ledger is not intact: {report.problem}")
    click.echo(f"Ledger intact: {report.events} events, {report.heads} signed tree heads checked.")


def _has_data(settings: Settings) -> bool:
    """The instance already holds a database with Amanat's tables."""
    from sqlalchemy import inspect

    if settings.database_url.startswith("sqlite"):
        path = settings.database_url.removeprefix("sqlite:///")
        if not os.path.exists(path):
            return False
    engine = create_engine(settings.database_url)
    try:
        return "alembic_version" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


@main.command()
@click.option("--workers", default=0, type=int, help="Processes taking jobs (default: 1 per core).")
@click.option(
    "--periodic/--no-periodic", default=True, show_default=True,
    help="Also run the schedule: tree heads, CRL renewal, ended consents, stalled batches.",
)  # fmt: skip
def worker(workers: int, periodic: bool) -> None:
    """Run a task-engine worker: batch rows and the periodic jobs (Ctrl+C stops it)."""
    from web.tasks import queue_location, run_worker

    settings = _settings()
    count = workers or (os.cpu_count() or 1)
    try:
        click.echo(f"Worker: {count} processes on {_redacted(queue_location(settings))}")
        run_worker(settings, workers=count, periodic=periodic, app_factory=_worker_app)
    except AmanatError as exc:
        raise click.ClickException(said(exc)) from None


def _worker_app(rt: Any) -> Any:
    """The web app a worker words its notices with (its own runtime, no server)."""
    from web.app import create_app

    return create_app(runtime_=rt)


def _redacted(location: str) -> str:
    """A queue's address without its password."""
    from urllib.parse import urlsplit

    parts = urlsplit(location)
    if parts.password:
        return location.replace(f":{parts.password}@", ":***@")
    return location


@main.command()
@click.argument("serial")
@click.option("--reason", required=True)
def revoke(serial: str, reason: str) -> None:
    """Revoke an issued certificate (the registry reflects it at once)."""

    def act(settings: Settings, s: Any) -> str:
        return revoke_certificate(s, serial=serial, reason=reason, now=utcnow()).serial

    click.echo(f"Certificate {_in_transaction(act)} revoked.")


class CouldNotCheck(click.ClickException):
    """The verdict could not be reached at all (unreadable input, no database): exit 3, which no
    verdict uses (0 passed, 1 failed, 2 indeterminate)."""

    exit_code = 3


def _with_register(settings: Settings, check: Any) -> Any:
    """Run ``check(session)`` on the register; a missing or unready database is said plainly."""
    from sqlalchemy.exc import SQLAlchemyError

    engine = create_engine(settings.database_url)
    try:
        with session_factory(engine)() as s:
            return check(s)
    except SQLAlchemyError:
        raise CouldNotCheck(
            "the register cannot be read: is this instance set up? Run 'amanat init' first "
            f"(database {engine.url.render_as_string(hide_password=True)})"
        ) from None
    finally:
        engine.dispose()


def _read_input(path: str, limit: int) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(limit)
    except OSError as exc:
        raise CouldNotCheck(f"cannot read {path}: {exc.strerror}") from None


@main.command()
@click.argument("pdf_file")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict JSON (DESIGN 4.3).")
def verify(pdf_file: str, as_json: bool) -> None:
    """Verify a signed PDF; exit 0 passed, 1 failed, 2 indeterminate, 3 could not check."""
    import json

    from signing.check import check_pdf

    settings = _settings()
    data = _read_input(pdf_file, 26 * 1024 * 1024)
    check = _with_register(settings, lambda s: check_pdf(s, data=data, now=utcnow()))
    if as_json:
        click.echo(json.dumps(check.to_json(_reason_text()), indent=2, ensure_ascii=False))
    else:
        _echo_verdict(check)
        for sig in check.verdict.signatures:
            who = sig.signer if sig.trusted else f"an unknown signer calling itself {sig.signer!r}"
            click.echo(f"  signed by {who} ({sig.pades_level}, {sig.modification})")
        entry = check.certificate
        if entry is not None:
            what = f"{entry.type_title} of {entry.holder}"
            click.echo(f"  certificate {entry.serial}: {what}, {entry.status.value}")
    raise SystemExit(check.exit_code)


@main.command("verify-deletion")
@click.argument("certificate_file")
def verify_deletion(certificate_file: str) -> None:
    """Check a deletion certificate (PDF or JSON) this service signed; exit 0 genuine, 1 not."""
    from web.app import create_app
    from web.deletion import ERASED_LABELS, check_deletion_file

    settings = _settings()
    data = _read_input(certificate_file, 2 * 1024 * 1024)
    app = create_app(settings)
    with app.test_request_context("/"):
        try:
            found = _with_register(settings, lambda s: check_deletion_file(
                s, keystore=open_keystore(settings), data=data))  # fmt: skip
        except AmanatError as exc:
            click.echo(f"NOT GENUINE: {said(exc)}", err=True)
            raise SystemExit(1) from None
        click.echo(f"Genuine deletion certificate {found.erasure} of {found.service}")
        click.echo(f"  asked for {found.requested_at}, erased {found.erased_at}")
        for key, label in ERASED_LABELS.items():
            click.echo(f"  {label}: {found.erased.get(key, 0)}")
    raise SystemExit(0)


def _reason_text() -> Any:
    from web.messages import reason_text

    return reason_text


def _echo_verdict(check: Any) -> None:
    verdict = check.verdict
    sub = f" / {verdict.sub_indication.value}" if verdict.sub_indication else ""
    click.echo(verdict.indication.value + sub)
    from web.messages import reason_text

    for reason in verdict.reasons:
        click.echo(f"  {reason_text(reason)}")


def _qr_text(url: str | None, image: str | None) -> str:
    """The scanned text: given, or read from the image."""
    if (url is None) == (image is None):
        raise CouldNotCheck("give the scanned URL or --image PNG (one of them)")
    if image is None:
        return url or ""
    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    try:
        codes = zxingcpp.read_barcodes(
            Image.open(image), formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
        )
    except (UnidentifiedImageError, OSError, ValueError):
        raise CouldNotCheck("the image cannot be read") from None
    if not codes:
        raise CouldNotCheck("no QR code found in the image")
    return str(codes[0].text)


@main.command("verify-qr")
@click.argument("url", required=False)
@click.option("--image", help="A photo or scan (PNG).")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict JSON.")
@click.option(
    "--offline",
    is_flag=True,
    help="Without the register: the site's trust and status lists, fetched when it answers, "
    "else the copies kept last time.",
)
@click.option("--site", help="With --offline: the deployment (https://host) for a bare payload.")
def verify_qr_command(
    url: str | None, image: str | None, as_json: bool, offline: bool, site: str | None
) -> None:
    """Check a certificate QR code: signature offline, then the register (exit codes as verify)."""
    import json

    from signing.check import check_qr

    text = _qr_text(url, image)
    if offline:
        check = _offline_check(text, site)
    else:
        settings = _settings()
        check = _with_register(settings, lambda s: check_qr(s, text=text, now=utcnow()))
    if as_json:
        click.echo(json.dumps(check.to_json(_reason_text()), indent=2, ensure_ascii=False))
    else:
        _echo_verdict(check)
        claims = check.claims
        if claims is not None:
            what = f"{claims.type_code} {claims.serial} of {claims.holder}"
            click.echo(f"  {what} ({claims.department})")
    raise SystemExit(check.exit_code)


def _offline_check(text: str, site: str | None) -> Any:
    """The QR verdict from the kept trust and status lists, refreshed first when the site
    answers (web/offline.py)."""
    from signing.check import CertificateCheck
    from verification.qr import verify_qr_offline
    from web import offline

    origin = (site or "").rstrip("/") or offline.site_of(text)
    if origin is None or offline.site_of(origin) != origin:
        raise CouldNotCheck("give --site https://host: the code names no site")
    directory = offline.cache_dir()
    if not site and not offline.is_known(origin, directory):
        # A code can name any site, and a forged one serves its own trust list: only a site the
        # verifier chose is believed.
        raise CouldNotCheck(
            f"this code names {origin}, which this machine does not trust yet; if that is the "
            f"service you verify against, run once with --site {origin}"
        )
    try:
        fresh = offline.refresh(origin, directory)
        kept = offline.load(origin, directory, refreshed=fresh)
    except AmanatError as exc:
        raise CouldNotCheck(said(exc)) from None
    except OSError as exc:
        raise CouldNotCheck(f"cannot keep the lists in {directory}: {exc.strerror}") from None
    if not fresh:
        click.echo(f"{origin} did not answer: using the lists kept last time.", err=True)
    result = verify_qr_offline(
        text,
        trust_list=kept.trust,
        root_der=kept.root_der,
        status_uri=kept.status_uri,
        status_token=kept.status_token,
        now=utcnow(),
    )
    return CertificateCheck(result.verdict, None, result.claims)


@main.group()
def pki() -> None:
    """Deployment PKI."""


@pki.command("refresh-crl")
def pki_refresh_crl() -> None:
    """Issue a fresh CRL now (the task worker renews it hourly as it nears its next update)."""
    from signing.pki import refresh_crl

    def act(settings: Settings, s: Any) -> str:
        material = load_pki(s, keystore=open_keystore(settings), base_url=settings.public_base_url)
        refresh_crl(s, material=material, now=utcnow())
        state = s.get(CrlState, "root")
        return f"CRL #{state.number} issued; it is valid for one day."

    click.echo(_in_transaction(act))


@main.group("vault")
def vault_group() -> None:
    """Vault maintenance."""


@vault_group.command("migrate-blobs")
@click.option("--to", "target_spec", required=True, help="The new store, e.g. s3://bucket/prefix.")
def vault_migrate_blobs(target_spec: str) -> None:
    """Copy every blob to another store, resumably (blobs already there are skipped)."""
    from vault.service import referenced_blob_ids
    from web.migrate_blobs import migrate_blobs

    settings = _settings()
    engine = create_engine(settings.database_url)
    try:
        with _sessions(settings, engine)() as s:
            ids = referenced_blob_ids(s)
        source = _blobs(settings)
        target = open_blobstore(target_spec, default_dir=settings.blob_dir)
        if hasattr(target, "ensure_bucket"):
            target.ensure_bucket()
        with click.progressbar(length=len(ids), label=f"Copying {len(ids)} blobs") as bar:
            done = migrate_blobs(ids, source=source, target=target, progress=lambda: bar.update(1))
    except AmanatError as exc:
        raise click.ClickException(said(exc)) from None
    finally:
        engine.dispose()
    click.echo(f"{done.copied} copied, {done.present} were there already: the new store holds "
               f"every blob. Set AMANAT_BLOBSTORE={target_spec} and restart.")  # fmt: skip


@vault_group.command("sweep")
@click.option("--min-age", default=3600, show_default=True, help="Seconds a blob must be old.")
def vault_sweep(min_age: int) -> None:
    """Remove blobs no document references (left by a crash mid-upload)."""
    settings = _settings()
    engine = create_engine(settings.database_url)
    with transaction(_sessions(settings, engine)) as s:
        removed = sweep_orphan_blobs(s, blobs=_blobs(settings), min_age_seconds=min_age)
    click.echo(f"{removed} orphan blobs removed.")


@main.group()
def org() -> None:
    """Verifying organisations (banks, employers): registration, members, API keys."""


@org.command("create")
@click.argument("code")
@click.option("--name", required=True, help="The organisation's name.")
@click.option("--name-ur", default=None, help="The name in Urdu.")
def org_create(code: str, name: str, name_ur: str | None) -> None:
    """Register an organisation."""

    def act(settings: Settings, s: Any) -> str:
        return create_organisation(s, code=code, name=name, name_ur=name_ur, now=utcnow()).code

    click.echo(f"Organisation {_in_transaction(act)} registered.")


@org.command("list")
def org_list() -> None:
    """Every organisation and its live API keys."""

    def act(settings: Settings, s: Any) -> list[str]:
        lines = []
        for o in list_organisations(s):
            live = [k for k in list_api_keys(s, code=o.code) if k.revoked_at is None]
            lines.append(f"{o.code}\t{o.name}\t{len(live)} live API keys")
        return lines

    for line in _in_transaction(act):
        click.echo(line)


@org.command("add-member")
@click.argument("code")
@click.option("--login", required=True, help="The member's login name.")
@click.option("--name", "display_name", required=True, help="The member's name.")
def org_add_member(code: str, login: str, display_name: str) -> None:
    """Add a member account; prints a one-time password (they then add a passkey)."""
    password = _demo_password() + "-" + _demo_password()

    def act(settings: Settings, s: Any) -> str:
        account = add_member(s, code=code, login=login, display_name=display_name, now=utcnow())
        passwords.set_password(s, account=account, password=password, now=utcnow())
        return account.login

    click.echo(
        f"Member {_in_transaction(act)} added. First password (give it in person): {password}"
    )


@org.command("create-key")
@click.argument("code")
@click.option("--label", required=True, help="What the key is for (e.g. 'loan system').")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    default=("shares:read",),
    show_default=True,
    help="shares:read (fetch shared documents), verify (verification API), requests (ask"
    " citizens for documents); repeatable.",
)
def org_create_key(code: str, label: str, scopes: tuple[str, ...]) -> None:
    """Create an API key; it is printed once and never stored."""

    def act(settings: Settings, s: Any) -> str:
        return create_api_key(s, code=code, label=label, scopes=scopes, now=utcnow()).token

    token = _in_transaction(act)
    click.echo("API key (shown once; store it in the organisation's secret store):")
    click.echo(token)


@org.command("revoke-key")
@click.argument("key_id")
def org_revoke_key(key_id: str) -> None:
    """Revoke an API key at once (KEY_ID is the part after 'amanat_')."""

    def act(settings: Settings, s: Any) -> str:
        return revoke_api_key(s, key_id=key_id, now=utcnow()).key_id

    click.echo(f"API key {_in_transaction(act)} revoked.")


@org.command("webhook-secret")
@click.argument("code")
def org_webhook_secret(code: str) -> None:
    """Make a new webhook signing secret (the old one stops at once); it is printed once."""

    def act(settings: Settings, s: Any) -> str:
        keystore = open_keystore(settings)
        return rotate_webhook_secret(s, keystore=keystore, code=code, now=utcnow())

    secret = _in_transaction(act)
    click.echo("Webhook secret (shown once; the organisation checks Amanat-Signature with it):")
    click.echo(secret)


@main.group()
def dpo() -> None:
    """The data-protection office: the accounts that handle citizens' disputes."""


@dpo.command("add")
@click.option("--login", required=True, help="The officer's login name.")
@click.option("--name", "display_name", required=True, help="The officer's name.")
def dpo_add(login: str, display_name: str) -> None:
    """Add a data-protection officer; prints a one-time password (they then add a passkey)."""
    login, password = _add_staff(Role.DPO, login, display_name)
    click.echo(
        f"Data-protection officer {login} added. First password (give it in person): {password}"
    )


def _add_staff(role: Role, login: str, display_name: str) -> tuple[str, str]:
    """Create a staff account with a first password (they then add a passkey): (login, password)."""
    password = _demo_password() + "-" + _demo_password()

    def act(settings: Settings, s: Any) -> str:
        account = create_account(s, role=role, display_name=display_name, login=login, now=utcnow())
        passwords.set_password(s, account=account, password=password, now=utcnow())
        return account.login

    return _in_transaction(act), password


@main.group("recovery-officer")
def recovery_officer() -> None:
    """Service-centre officers who start assisted recovery after checking a CNIC card."""


@recovery_officer.command("add")
@click.option("--login", required=True, help="The officer's login name.")
@click.option("--name", "display_name", required=True, help="The officer's name.")
def recovery_officer_add(login: str, display_name: str) -> None:
    """Add a recovery officer; prints a one-time password (they then add a passkey)."""
    login, password = _add_staff(Role.RECOVERY, login, display_name)
    click.echo(f"Recovery officer {login} added. First password (give it in person): {password}")


@main.group()
def shares() -> None:
    """Consents."""


@shares.command("settle")
def shares_settle() -> None:
    """Record consents that ended by time or download count (the task worker does every 10 min).

    They are also recorded the first time anyone uses or lists them; this makes the citizen's
    activity show the end when it happens.
    """
    from vault.shares import settle_ended

    def act(settings: Settings, s: Any) -> int:
        return settle_ended(s, now=utcnow())

    click.echo(f"{_in_transaction(act)} ended consents recorded.")


@main.group()
def audit() -> None:
    """The tamper-evident ledger."""


_WITNESS = click.option(
    "--witness",
    "witnesses",
    multiple=True,
    help="URL of a witness (c2sp.org/tlog-witness) to have the head cosigned by; repeatable.",
)


def ledger_origin(settings: Settings) -> str:
    """The ledger's checkpoint origin: this deployment's host and '/amanat-ledger'."""
    from audit.checkpoint import origin_for

    return origin_for(settings.public_base_url)


def _post_to(url: str) -> Any:
    """A poster for audit.ledger.submit_to_witness: POST url/add-checkpoint, (status, text)."""
    import urllib.error
    import urllib.request

    def post(body: bytes) -> tuple[int, str]:
        target = url.rstrip("/") + "/add-checkpoint"
        req = urllib.request.Request(target, data=body, method="POST")  # noqa: S310 - operator's URL
        try:
            with urllib.request.urlopen(req, timeout=10) as res:  # noqa: S310
                return res.status, res.read(65536).decode(errors="replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(65536).decode(errors="replace")
        except (urllib.error.URLError, OSError) as exc:
            raise CouldNotCheck(f"the witness at {url} cannot be reached: {exc}") from None

    return post


def _witnessed(settings: Settings, s: Any, witnesses: tuple[str, ...]) -> list[str]:
    """Sign a head now and have each witness cosign it; the cosignature lines."""
    from audit.ledger import submit_to_witness

    keystore = open_keystore(settings)
    head = publish_tree_head(s, keystore=keystore, now=utcnow())
    return [
        submit_to_witness(
            s, keystore=keystore, origin=ledger_origin(settings), head=head, post=_post_to(url)
        )
        for url in witnesses
    ]


@audit.command("verify")
@_WITNESS
def audit_verify(witnesses: tuple[str, ...]) -> None:
    """Recompute the chain, the Merkle tree and every event's MAC; check every signed head (and,
    with --witness, that the ledger extends what each witness saw)."""

    from audit.ledger import WitnessDisagrees

    def act(settings: Settings, s: Any) -> Any:
        report = verify_ledger(s, keystore=open_keystore(settings))
        if report.intact and witnesses:
            try:
                _witnessed(settings, s, witnesses)
            except WitnessDisagrees as exc:
                s.rollback()  # no head is signed over a ledger a witness disagrees with
                return report, str(exc)
        return report, None

    report, disagreement = _in_transaction(act)
    if disagreement:
        click.echo(f"LEDGER TAMPERED: {disagreement}", err=True)
        raise SystemExit(1)
    if report.intact:
        click.echo(
            f"Ledger intact: {report.events} events, {report.heads} signed tree heads checked"
            + (f", consistent with {len(witnesses)} witness(es)." if witnesses else ".")
        )
        if report.waiting:
            click.echo(f"{report.waiting} events wait to be chained ('amanat audit publish').")
        return
    where = f"event {report.first_bad_seq}" if report.first_bad_seq else "the tree heads"
    click.echo(f"LEDGER TAMPERED at {where}: {report.problem}", err=True)
    raise SystemExit(1)


@audit.command("publish")
@_WITNESS
def audit_publish(witnesses: tuple[str, ...]) -> None:
    """Sign a tree head for the current ledger (the task worker does every minute); with
    --witness, have it cosigned (run that from cron)."""

    def act(settings: Settings, s: Any) -> Any:
        keystore = open_keystore(settings)
        cosignatures = _witnessed(settings, s, witnesses)
        head = publish_tree_head(s, keystore=keystore, now=utcnow())
        return head_json(s, head, keystore=keystore), cosignatures

    head, cosignatures = _in_transaction(act)
    click.echo(f"Tree head: {head['tree_size']} events, root {head['root_hash']}.")
    for line in cosignatures:
        click.echo(f"Cosigned: {line.strip()}")


@audit.command("checkpoint")
@click.option("--key-out", help="Also write the ledger's public key (PEM) here, for witnesses.")
def audit_checkpoint(key_out: str | None) -> None:
    """Print the newest signed tree head as a C2SP checkpoint (and its origin)."""
    from audit.ledger import checkpoint_of

    def act(settings: Settings, s: Any) -> Any:
        keystore = open_keystore(settings)
        head = publish_tree_head(s, keystore=keystore, now=utcnow())
        public = head_json(s, head, keystore=keystore)["public_key"]
        origin = ledger_origin(settings)
        return checkpoint_of(s, keystore=keystore, origin=origin, head=head), public

    note, public = _in_transaction(act)
    if key_out:
        import textwrap

        pem = "\n".join(textwrap.wrap(public, 64))
        with open(key_out, "w") as fh:
            fh.write(f"-----BEGIN PUBLIC KEY-----\n{pem}\n-----END PUBLIC KEY-----\n")
    click.echo(note, nl=False)


@audit.command("proof")
@click.option("--event", "event", type=int, help="Inclusion proof of this event (its number).")
@click.option("--from", "old", type=int, help="Consistency proof from this tree size...")
@click.option("--to", "new", type=int, help="...to this one (both sizes of signed heads).")
def audit_proof(event: int | None, old: int | None, new: int | None) -> None:
    """Print a proof as JSON (checkable with the algorithm in docs/ledger.md)."""
    import json

    if (event is None) == (old is None or new is None) or (old is None) != (new is None):
        raise click.UsageError("give either --event ID or both --from N and --to M")

    def act(settings: Settings, s: Any) -> Any:
        if event is not None:
            head = latest_tree_head(s)
            if head is None or head.tree_size < event:
                head = publish_tree_head(s, keystore=open_keystore(settings), now=utcnow())
            return inclusion_proof(s, keystore=open_keystore(settings), seq=event, head=head)
        assert old is not None
        assert new is not None
        return consistency_proof(s, keystore=open_keystore(settings), old_size=old, new_size=new)

    click.echo(json.dumps(_in_transaction(act), indent=2))


if __name__ == "__main__":  # pragma: no cover
    main()

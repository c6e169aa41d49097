"""The ``amanat`` command line (DESIGN 5.1): a light entry point that loads the commands only
when one runs.

``amanat --help`` (and a mistyped command) answers from the table below without importing the
commands (``web/commands.py`` pulls in SQLAlchemy, pyHanko, fpdf2 and alembic: two seconds on an
older machine); ``tests/web/test_cli_entry.py`` keeps the table equal to the commands' own help.
"""

from __future__ import annotations

import importlib
import logging
import os
from typing import Any

import click

# Each command's first help line, as the command itself says it (a test compares them).
COMMANDS: dict[str, str] = {
    "audit": "The tamper-evident ledger.",
    "backup": "Back up the database, the encrypted blobs and the key material into a new folder.",
    "db": "Database commands.",
    "department": "Issuing departments.",
    "dpo": "The data-protection office: the accounts that handle citizens' disputes.",
    "init": "Create or upgrade the database, the master key and the secret key.",
    "issue": "Issue a certificate into a citizen's vault; print its serial.",
    "issue-batch": (
        "Issue every row of a CSV; resumable (rows issued before are skipped, never issued twice)."
    ),
    "keys": "Master-key commands.",
    "org": "Verifying organisations (banks, employers): registration, members, API keys.",
    "pki": "Deployment PKI.",
    "recovery-officer": (
        "Service-centre officers who start assisted recovery after checking a CNIC card."
    ),
    "restore": (
        "Restore a backup into this instance (every file is checked first), then check the ledger."
    ),
    "revoke": "Revoke an issued certificate (the registry reflects it at once).",
    "run": "Serve the web app with gunicorn.",
    "shares": "Consents.",
    "vault": "Vault maintenance.",
    "verify": "Verify a signed PDF; exit 0 passed, 1 failed, 2 indeterminate, 3 could not check.",
    "verify-deletion": (
        "Check a deletion certificate (PDF or JSON) this service signed; exit 0 genuine, 1 not."
    ),
    "verify-qr": (
        "Check a certificate QR code: signature offline, then the register (exit codes as verify)."
    ),
    "worker": "Run a task-engine worker: batch rows and the periodic jobs (Ctrl+C stops it).",
    "witness": "Run a C2SP witness: cosign ledger checkpoints only when they extend what it saw.",
}


class LazyCommands(click.Group):
    """A group whose commands are imported from ``web.commands`` on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        commands: Any = importlib.import_module("web.commands")
        found: click.Command | None = commands.main.get_command(ctx, cmd_name)
        return found

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        # A stand-in per command: click shortens its help as it would the command's own.
        rows = [
            (name, click.Command(name, short_help=COMMANDS[name]).get_short_help_str(limit))
            for name in sorted(COMMANDS)
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyCommands)
def main() -> None:
    """Amanat: citizen e-file vault."""
    # Everything the service creates (database file, blobs, logs, sockets) is for its own account
    # only: files 0600, folders 0700.
    os.umask(0o077)
    # pyHanko warns on every B-LT(A) signature that it will not fetch (we hand it the data).
    logging.getLogger("pyhanko").setLevel(logging.ERROR)

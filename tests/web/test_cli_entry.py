"""The ``amanat`` entry point answers --help without loading the commands, and its table of
commands is the commands' own."""

from __future__ import annotations

import subprocess
import sys

import click
from click.testing import CliRunner

from web import cli, commands


def test_the_table_is_the_commands_own_help() -> None:
    ctx = click.Context(commands.main)
    own = {
        name: commands.main.get_command(ctx, name).get_short_help_str(limit=1000)  # type: ignore[union-attr]
        for name in commands.main.list_commands(ctx)
    }
    assert own == cli.COMMANDS


def test_help_lists_every_command() -> None:
    shown = CliRunner().invoke(cli.main, ["--help"])
    assert shown.exit_code == 0
    assert all(f"  {name} " in shown.output for name in cli.COMMANDS)


def test_help_loads_no_database_or_pdf_library() -> None:
    probe = (
        "import sys; from web.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('sqlalchemy', 'pyhanko', 'fpdf', 'alembic', 'web.commands')"
        " if m in sys.modules]\n"
        "print('LOADED', heavy)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert "LOADED []" in out.stdout


def test_a_command_still_runs_through_the_entry_point() -> None:
    shown = CliRunner().invoke(cli.main, ["verify-qr", "--help"])
    assert shown.exit_code == 0
    assert "--image" in shown.output


def test_an_unknown_command_is_a_clear_error() -> None:
    shown = CliRunner().invoke(cli.main, ["issu"])
    assert shown.exit_code == 2
    assert "No such command 'issu'" in shown.output

"""``amanat issue-batch`` after the batch is on the queue: a progress bar until every row has an
outcome, the refused rows, the per-row report, a signed tree head over what was issued.

With ``--workers N`` the command also starts N worker processes of its own (``amanat worker``),
so that one machine needs nothing else running; they stop when the batch is done.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
import uuid

import click

from amanat.db import transaction
from amanat.settings import Settings
from audit.ledger import publish_tree_head
from signing.batches import BatchProgress, RowOutcome, RowRefused, batch_outcomes, batch_progress
from web.messages import refusal_text
from web.runtime import Runtime, build_runtime, utcnow

POLL_SECONDS = 0.5
# Said once when no row has moved for this long: nobody may be taking jobs from the queue.
NOBODY_SECONDS = 15.0


def _start_workers(count: int) -> subprocess.Popen[bytes] | None:
    if count <= 0:
        return None
    command = [sys.executable, "-c", "from web.cli import main; main()", "worker",
               "--workers", str(count), "--no-periodic"]  # fmt: skip
    # Our own interpreter and command, no shell.
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, start_new_session=True)  # noqa: S603


def _stop_workers(workers: subprocess.Popen[bytes] | None) -> None:
    if workers is None or workers.poll() is not None:
        return
    # Huey stops gracefully on SIGINT (a row being signed is finished first), at once on SIGTERM.
    os.killpg(workers.pid, signal.SIGINT)
    try:
        workers.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(workers.pid, signal.SIGTERM)
        workers.wait(10)


def follow_batch(
    settings: Settings, *, batch_id: uuid.UUID, workers: int, report: str | None
) -> int:
    """Show the batch's progress until it is done; print and report its rows; how many failed."""
    rt = build_runtime(settings)
    local = _start_workers(workers)
    try:
        progress = _wait(rt, batch_id, local)
        with rt.sessions() as s:
            outcomes = batch_outcomes(s, batch_id=batch_id)
    finally:
        _stop_workers(local)
    failed = [o for o in outcomes if o.error is not None]
    for o in failed:
        click.echo(f"line {o.line}: {refusal_text(o.error or RowRefused())}", err=True)
    if report:
        _write_report(report, outcomes)
    click.echo(f"{progress.issued} issued, {progress.failed} failed.")
    with transaction(rt.sessions) as s:
        head = publish_tree_head(s, keystore=rt.keystore, now=utcnow())
        click.echo(f"Ledger tree head signed at {head.tree_size} events.")
    rt.close()
    rt.engine.dispose()
    return len(failed)


def _wait(rt: Runtime, batch_id: uuid.UUID, local: subprocess.Popen[bytes] | None) -> BatchProgress:
    sessions = rt.sessions
    with sessions() as s:
        progress = batch_progress(s, batch_id=batch_id)
    label = f"Issuing {progress.total} certificates"
    moved_at, said_nobody = time.monotonic(), False
    with click.progressbar(length=progress.total, label=label) as bar:
        shown = progress.issued + progress.failed
        bar.update(shown)
        while not progress.done:
            if local is not None and local.poll() is not None:
                raise click.ClickException(
                    f"The workers this command started stopped (exit {local.returncode}); the "
                    f"batch stays on the queue ({batch_id})."
                )
            time.sleep(POLL_SECONDS)
            with sessions() as s:
                progress = batch_progress(s, batch_id=batch_id)
            now_done = progress.issued + progress.failed
            if now_done != shown:
                bar.update(now_done - shown)
                shown, moved_at = now_done, time.monotonic()
            elif not said_nobody and time.monotonic() - moved_at > NOBODY_SECONDS:
                said_nobody = True
                click.echo(
                    f"\nNo row has moved for {NOBODY_SECONDS:.0f} s: is a worker running "
                    f"('amanat worker', or --workers N here)? Ctrl+C stops waiting; the batch "
                    f"stays on the queue ({batch_id}).",
                    err=True,
                )
    return progress


def _write_report(path: str, outcomes: list[RowOutcome]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["line", "citizen", "serial", "error"])
        for o in outcomes:
            error = refusal_text(o.error) if o.error else ""
            writer.writerow([o.line, o.citizen, o.serial or "", error])

"""Command-line start-up: ``amanat --help`` next to a bare ``python -c pass`` (same run)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _best(args: list[str], runs: int = 15) -> float:
    """The fastest of ``runs`` wall-clock runs, in seconds (the least disturbed one)."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(args, cwd=ROOT, check=True, capture_output=True)
        best = min(best, time.perf_counter() - start)
    return best


def run(*, sizes: list[str] | None = None) -> list[dict]:
    """``cli.help_seconds``: the entry point must answer --help without loading the commands."""
    print("cli: amanat --help ...", flush=True)
    bare = _best([sys.executable, "-c", "pass"])
    ours = _best([sys.executable, "-c", "from web.cli import main; main()", "--help"])
    return [
        {
            "name": "cli.help_seconds",
            "value": round(ours, 3),
            "unit": "s",
            "baseline": "python -c pass",
            "baseline_value": round(bare, 3),
            "ratio": round(bare / ours, 2),
            "target": "< 0.3 s",
        }
    ]

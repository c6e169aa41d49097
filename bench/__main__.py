"""Run the benchmarks, print a table, write ``bench/results.json`` (DESIGN 7; not committed:
figures belong to the machine and the load they were measured under).

Each result: ``{"name", "value", "unit", "baseline", "baseline_value", "ratio", "target",
"load_average"}``.
``ratio`` is ours divided by the baseline's, measured in the same run (higher is better; times
become rates); memory values are bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from bench import (
    cli_bench,
    issue_bench,
    ledger_bench,
    nodes_bench,
    soak_bench,
    vault_bench,
    verify_bench,
)
from bench.load import load_average

SUITES = {
    "vault": vault_bench.run,
    "issue": issue_bench.run,
    "verify": verify_bench.run,
    "ledger": ledger_bench.run,
    "cli": cli_bench.run,
    "nodes": nodes_bench.run,
    "soak": soak_bench.run,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--only", choices=sorted(SUITES), help="run one suite")
    parser.add_argument("--sizes", default="1MiB,64MiB,1GiB", help="vault document sizes")
    args = parser.parse_args(argv)
    results: list[dict] = []
    for name, suite in SUITES.items():
        if args.only and name != args.only:
            continue
        # Every figure carries the load it was measured under (a loaded machine reads 3-7x low).
        load = load_average()
        print(f"{name}: load average {load} (1, 5, 15 min), {os.cpu_count()} cores", flush=True)
        for result in suite(sizes=args.sizes.split(",")):
            results.append({**result, "load_average": load})
    out = Path(__file__).with_name("results.json")
    if args.only and out.exists():
        # One suite re-run: keep the other suites' last results, replace this suite's.
        fresh = {r["name"] for r in results}
        kept = [r for r in json.loads(out.read_text()) if r["name"] not in fresh]
        results = kept + results
    out.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(f"{'name':32} {'value':>14} {'unit':6} {'baseline':>14} {'ratio':>7}  target")
    for r in results:
        base = "" if r["baseline_value"] is None else f"{r['baseline_value']:14.4g}"
        ratio = "" if r["ratio"] is None else f"{r['ratio']:7.2f}"
        print(
            f"{r['name']:32} {r['value']:14.4g} {r['unit']:6} {base:>14} {ratio:>7}  {r['target']}"
        )
    print(f"\nwritten to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

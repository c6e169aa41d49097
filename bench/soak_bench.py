"""Soak: five minutes (``SOAK_SECONDS``) of public verifications of one citizen's certificate —
QR checks and PDF uploads at once, as a stranger could send them — against gunicorn on SQLite.

What must hold (issue 11): the citizen's ledger grows by a bounded number of events (repeats
fold), no answer is wrong, the workers' memory stays flat, and the activity export stays quick.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from bench import load
from bench.load import free_port, wrk
from bench.vault_bench import _children, _vm_rss
from bench.verify_bench import _instance, _qr_url, _server


def _events(db: Path) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT count(*) FROM audit_events").fetchone()[0])
    finally:
        conn.close()


def _workers_rss(port: int) -> int:
    """The largest resident memory of the server's worker processes (bytes)."""
    master = next(
        (
            int(p.name)
            for p in Path("/proc").iterdir()
            if p.name.isdigit() and f"--port\x00{port}".encode() in _cmdline(p)
        ),
        None,
    )
    if master is None:
        return 0
    return max((_vm_rss(pid) for pid in _children(master) if pid != master), default=0)


def _cmdline(proc: Path) -> bytes:
    try:
        return (proc / "cmdline").read_bytes()
    except OSError:
        return b""


def run(*, sizes: list[str] | None = None) -> list[dict]:
    """``soak.*``: events added, wrong answers, worker memory growth, QR p99 under the soak."""
    seconds = float(os.environ.get("SOAK_SECONDS", "300"))
    with tempfile.TemporaryDirectory(prefix="amanat-soak-") as name:
        tmp = Path(name)
        port = free_port()
        env, pdf = _instance(tmp, "soak", None, port)
        db = tmp / "soak" / "amanat.db"
        body = json.dumps({"payload": _qr_url(pdf)}).encode()
        with _server(env, port) as base:
            urllib.request.urlopen(base + "/healthz").read()
            # Warm up both paths first (imports, caches): the memory that counts is what grows.
            wrk(base + "/api/v1/verify-qr", body=body, expect="TOTAL_PASSED", seconds=2)
            _pdf_load(base, pdf.read_bytes(), seconds=3, tmp=tmp)
            # The peak QR rate with PDF uploads beside it (the soak's own mix): the soak then
            # holds 80% of it.
            beside = threading.Thread(
                target=lambda: _pdf_load(base, pdf.read_bytes(), seconds=5, tmp=tmp)
            )
            beside.start()
            peak = wrk(base + "/api/v1/verify-qr", body=body, expect="TOTAL_PASSED", seconds=5)
            beside.join()
            time.sleep(2)
            before, rss_start = _events(db), _workers_rss(port)
            print(f"soak: {seconds:.0f} s of QR checks and PDF uploads at once ...", flush=True)
            pdfs: dict = {}
            uploader = threading.Thread(
                target=lambda: pdfs.update(
                    _pdf_load(base, pdf.read_bytes(), seconds=seconds, tmp=tmp)
                )
            )
            uploader.start()
            qr = wrk(
                base + "/api/v1/verify-qr", body=body, expect="TOTAL_PASSED", seconds=seconds,
                delay_ms=_pause_for(peak["rps"], share=0.8),
            )  # fmt: skip
            uploader.join()
            time.sleep(2)  # the recorders' last flush
            rss_end = _workers_rss(port)
        added = _events(db) - before
    checks = qr["requests"] + pdfs.get("requests", 0)
    wrong = qr["wrong"] + qr["socket_errors"] + pdfs.get("wrong", 0)
    print(f"  {checks} checks, {added} events added, {wrong} wrong answers")
    return [
        {
            "name": "soak.events_added",
            "value": added,
            "unit": "events",
            "baseline": f"{checks} verifications in {seconds:.0f} s",
            "baseline_value": checks,
            "ratio": None,
            "target": "<= 2 (one line per verifier a day; page and API without a key are one)",
        },
        {
            "name": "soak.wrong_answers",
            "value": wrong,
            "unit": "count",
            "baseline": "every answer 200 with the expected indication",
            "baseline_value": None,
            "ratio": None,
            "target": "0",
        },
        {
            "name": "soak.worker_rss_growth",
            "value": round(rss_end / rss_start, 3) if rss_start else 0,
            "unit": "ratio",
            "baseline": f"{rss_start / 2**20:.0f} MiB at first, {rss_end / 2**20:.0f} at the end",
            "baseline_value": None,
            "ratio": None,
            "target": "<= 1.1 (flat within 10%)",
        },
        {
            "name": "soak.qr_rate",
            "value": round(qr["rps"], 1),
            "unit": "req/s",
            "baseline": f"peak {peak['rps']:.0f} req/s measured first (same server and mix)",
            "baseline_value": round(peak["rps"], 1),
            "ratio": round(qr["rps"] / peak["rps"], 3) if peak["rps"] else None,
            "target": "about 0.8 (paced)",
        },
        {
            "name": "soak.qr_p99_ms",
            "value": round(qr["p99_ms"], 2),
            "unit": "ms",
            "baseline": f"p50 {qr['p50_ms']:.2f} ms, with PDF uploads at the same time",
            "baseline_value": None,
            "ratio": None,
            "target": "reported",
        },
    ]


def _pause_for(peak_rps: float, *, share: float, connections: int = 8) -> float:
    """The pause (ms) between a connection's requests that holds ``share`` of the peak rate:
    at the peak a request takes connections / peak seconds; the pause adds what is missing."""
    if peak_rps <= 0:
        return 0.0
    return 1000 * connections * (1 / (share * peak_rps) - 1 / peak_rps)


def _pdf_load(base: str, data: bytes, *, seconds: float, tmp: Path) -> dict:
    """PDF uploads (application/pdf) to the verification API from a second wrk, meanwhile;
    every answer must be TOTAL_PASSED."""
    script = load.SCRIPT.replace(
        'wrk.headers["Content-Type"] = "application/json"',
        'wrk.headers["Content-Type"] = "application/pdf"',
    )
    return load.wrk(
        base + "/api/v1/verify", body=data, expect="TOTAL_PASSED", seconds=seconds,
        connections=2, threads=1, script=script,
    )  # fmt: skip

"""Verification benchmark, every ratio against a baseline measured in the same run:

- full verdicts on an issued B-LTA PDF against stock pyHanko doing the same work in its own process;
- QR checks through the HTTP API (gunicorn, one worker per core) at 8 connections (wrk) against
  ``GET /healthz`` on the same server, on SQLite and on PostgreSQL, with p50 and p99 latency;
- the same QR checks with the access log at INFO (the default) against WARNING.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from bench.load import free_port, wait_until_up, wrk

ROOT = Path(__file__).resolve().parents[1]
AMANAT = [sys.executable, "-c", "from web.cli import main; main()"]
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

# One child per side, so that nothing loaded or patched by ours can speed the baseline up.
_CHILD = r"""
import datetime as dt, io, json, logging, sys, time
sys.path.insert(0, {root!r})
logging.disable(logging.WARNING)
mode, pdf, root, count = sys.argv[1], open(sys.argv[2], "rb").read(), open(sys.argv[3], "rb").read(), int(sys.argv[4])
now = dt.datetime.now(dt.UTC)
if mode == "ours":
    from verification import verify_pdf
    def once():
        assert verify_pdf(pdf, trust_roots=[root], now=now).passed
else:
    # Stock pyHanko doing the same work: the signature and the document timestamp, each with a
    # fresh strict offline context from the file's DSS, revocation hard-fail.
    from asn1crypto import x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
    from pyhanko.sign.validation.dss import DocumentSecurityStore
    def once():
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        dss = DocumentSecurityStore.read_dss(reader)
        settings = {{"trust_roots": [x509.Certificate.load(root)], "allow_fetching": False,
                    "revocation_mode": "hard-fail"}}
        sig, ts = reader.embedded_signatures
        assert validate_pdf_signature(sig, dss.as_validation_context(settings)).bottom_line
        assert validate_pdf_timestamp(ts, validation_context=dss.as_validation_context(settings)).valid
once()
t = time.perf_counter()
for _ in range(count):
    once()
print(json.dumps({{"seconds": (time.perf_counter() - t) / count}}))
"""

ISSUE_ARGS = [
    "issue", "--department", "DEMO", "--citizen", "35202-1234567-1", "--type", "degree",
    "--field", "name=Ayesha Khan", "--field", "degree=BSc", "--field", "year=2024",
]  # fmt: skip


def _instance(tmp: Path, label: str, database_url: str | None, port: int) -> tuple[dict, Path]:
    """A demo instance with one issued B-LTA certificate: (its environment, the PDF)."""
    env = {
        **os.environ,
        "AMANAT_INSTANCE": str(tmp / label),
        "AMANAT_LOG_LEVEL": "WARNING",
        "AMANAT_PUBLIC_BASE_URL": f"http://localhost:{port}",
        "AMANAT_API_REQUESTS_PER_MINUTE": "100000000",
    }
    env.pop("AMANAT_DATABASE_URL", None)
    if database_url:
        env["AMANAT_DATABASE_URL"] = database_url
    subprocess.run([*AMANAT, "init", "--demo"], env=env, cwd=ROOT, check=True, capture_output=True)
    pdf = tmp / f"{label}.pdf"
    subprocess.run(
        [*AMANAT, *ISSUE_ARGS, "-o", str(pdf)], env=env, cwd=ROOT, check=True, capture_output=True
    )
    return env, pdf


@contextlib.contextmanager
def _pg_schema() -> Iterator[str]:
    """A fresh schema in the local PostgreSQL test database (as the tests use), dropped after."""
    from sqlalchemy import create_engine, text

    base = os.environ.get("AMANAT_TEST_DATABASE_URL", PG)
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    engine = create_engine(base)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield base + ("&" if "?" in base else "?") + f"options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def _root_der(env: dict) -> bytes:
    get_root = (
        "from web.commands import _settings; from amanat.db import create_engine, session_factory; "
        "from signing.check import trust_roots; import sys; "
        "s=session_factory(create_engine(_settings().database_url))(); "
        "sys.stdout.buffer.write(trust_roots(s)[0])"
    )
    return subprocess.run(
        [sys.executable, "-c", get_root], env=env, cwd=ROOT, check=True, capture_output=True
    ).stdout


def _pdf_result(env: dict, pdf: Path, root: Path, count: int = 20) -> dict:
    print("verify: PDF verdicts, ours and stock pyHanko, each in its own process ...", flush=True)
    seconds = {}
    for mode in ("ours", "bare"):
        out = subprocess.run(
            [sys.executable, "-c", _CHILD.format(root=str(ROOT)), mode, str(pdf), str(root),
             str(count)],
            env=env, check=True, capture_output=True, text=True,
        )  # fmt: skip
        seconds[mode] = json.loads(out.stdout.strip().splitlines()[-1])["seconds"]
    return {
        "name": "verify.pdf.blta",
        "value": round(1 / seconds["ours"], 2),
        "unit": "pdf/s",
        "baseline": "stock pyHanko: signature + document timestamp, hard-fail, own process",
        "baseline_value": round(1 / seconds["bare"], 2),
        "ratio": round(seconds["bare"] / seconds["ours"], 2),
        "target": ">= 1.3",
    }


def run(*, sizes: list[str] | None = None) -> list[dict]:
    """PDF verdicts, then QR checks under load on SQLite and PostgreSQL, then the log level."""
    results = []
    with tempfile.TemporaryDirectory(prefix="amanat-verify-bench-") as name:
        tmp = Path(name)
        port = free_port()
        env, pdf = _instance(tmp, "sqlite", None, port)
        root = tmp / "root.der"
        root.write_bytes(_root_der(env))
        results.append(_pdf_result(env, pdf, root))
        results.extend(_qr_results(env, pdf, port, "sqlite"))
        results.append(_log_info_result(env, pdf, port))
        with _pg_schema() as url:
            pg_env, pg_pdf = _instance(tmp, "postgresql", url, port)
            results.extend(_qr_results(pg_env, pg_pdf, port, "postgresql"))
    return results


def _qr_url(pdf: Path) -> str:
    import zxingcpp
    from PIL import Image

    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-singlefile", str(pdf), str(pdf.with_suffix(""))],
        check=True,
    )
    return str(
        zxingcpp.read_barcodes(
            Image.open(pdf.with_suffix(".png")),
            formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode),
        )[0].text
    )


@contextlib.contextmanager
def _server(env: dict, port: int, *args: str, **extra: str) -> Iterator[str]:
    server = subprocess.Popen(
        [*AMANAT, "run", "--port", str(port), *args],
        env={**env, **extra},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base + "/healthz")
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def _qr_results(env: dict, pdf: Path, port: int, label: str, seconds: float = 8.0) -> list[dict]:
    """QR checks next to /healthz on the same server, 8 connections (wrk)."""
    body = json.dumps({"payload": _qr_url(pdf)}).encode()
    with _server(env, port) as base:
        print(f"verify: {label}: /healthz and QR API, 8 connections, {seconds:.0f} s each ...")
        wrk(base + "/api/v1/verify-qr", body=body, expect="TOTAL_PASSED", seconds=1)  # warm
        health = wrk(base + "/healthz", expect='"ok"', seconds=seconds)
        qr = wrk(base + "/api/v1/verify-qr", body=body, expect="TOTAL_PASSED", seconds=seconds)
    for r in (health, qr):
        if r["wrong"] or r["socket_errors"]:
            raise SystemExit(f"verify bench: wrong answers under load: {r}")
    print(
        f"  healthz {health['rps']:.0f} req/s, QR {qr['rps']:.0f} req/s (p99 {qr['p99_ms']:.1f} ms)"
    )
    return [
        {
            "name": f"verify.qr.api.c8.{label}",
            "value": round(qr["rps"], 1),
            "unit": "req/s",
            "baseline": "GET /healthz, same server, 8 connections",
            "baseline_value": round(health["rps"], 1),
            "ratio": round(qr["rps"] / health["rps"], 2),
            "target": ">= 0.6",
        },
        {
            "name": f"verify.qr.api_p99_ms.{label}",
            "value": round(qr["p99_ms"], 2),
            "unit": "ms",
            "baseline": f"p50 {qr['p50_ms']:.2f} ms; /healthz itself p99 {health['p99_ms']:.1f} ms",
            "baseline_value": 10.0,
            "ratio": round(10.0 / qr["p99_ms"], 2),
            "target": "p99 < 10 ms (ratio > 1)",
        },
    ]


def _log_info_result(
    env: dict, pdf: Path, port: int, seconds: float = 5.0, rounds: int = 3
) -> dict:
    """QR checks with the access log at INFO (the default) against WARNING, same run: the levels
    alternate, ``rounds`` times each, and the best round of each counts (a few per cent is the
    difference sought, about the size of the machine's own noise)."""
    body = json.dumps({"payload": _qr_url(pdf)}).encode()
    rates: dict[str, float] = {"WARNING": 0.0, "INFO": 0.0}
    for _ in range(rounds):
        for level in rates:
            with _server(env, port, AMANAT_LOG_LEVEL=level) as base:
                wrk(base + "/api/v1/verify-qr", body=body, expect="TOTAL_PASSED", seconds=1)
                rate = wrk(
                    base + "/api/v1/verify-qr", body=body, expect="TOTAL_PASSED", seconds=seconds
                )["rps"]
            rates[level] = max(rates[level], rate)
    print(f"  QR at INFO {rates['INFO']:.0f} req/s, at WARNING {rates['WARNING']:.0f} req/s")
    return {
        "name": "web.log_info.c8",
        "value": round(rates["INFO"], 1),
        "unit": "req/s",
        "baseline": f"the same QR checks at AMANAT_LOG_LEVEL=WARNING (best of {rounds}, alternating)",
        "baseline_value": round(rates["WARNING"], 1),
        "ratio": round(rates["INFO"] / rates["WARNING"], 2),
        "target": ">= 0.97",
    }

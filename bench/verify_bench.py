"""Verification benchmark: full verdicts on an issued B-LTA PDF next to pyHanko's bare
``validate_pdf_signature`` on the same file (same run), and QR verifications through the HTTP API
(gunicorn, SQLite) under concurrent load, with p50 and p99 latency."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AMANAT = [sys.executable, "-c", "from web.cli import main; main()"]

_CHILD = r"""
import datetime as dt, io, json, logging, sys, time
sys.path.insert(0, {root!r})
logging.disable(logging.WARNING)
from asn1crypto import x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.dss import DocumentSecurityStore
from verification import verify_pdf
pdf, root = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
count = int(sys.argv[3])
now = dt.datetime.now(dt.UTC)
assert verify_pdf(pdf, trust_roots=[root], now=now).passed
t = time.perf_counter()
for _ in range(count):
    verify_pdf(pdf, trust_roots=[root], now=now)
ours = (time.perf_counter() - t) / count
t = time.perf_counter()
for _ in range(count):
    reader = PdfFileReader(io.BytesIO(pdf))
    vc = DocumentSecurityStore.read_dss(reader).as_validation_context(
        {{"trust_roots": [x509.Certificate.load(root)], "allow_fetching": False}})
    validate_pdf_signature(reader.embedded_signatures[0], vc)
bare = (time.perf_counter() - t) / count
print(json.dumps({{"ours": ours, "bare": bare}}))
"""


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(*, sizes: list[str] | None = None) -> list[dict]:
    results = []
    with tempfile.TemporaryDirectory(prefix="amanat-verify-bench-") as tmp:
        inst = Path(tmp) / "inst"
        port = _free_port()
        env = {
            **os.environ,
            "AMANAT_INSTANCE": str(inst),
            "AMANAT_LOG_LEVEL": "WARNING",
            "AMANAT_PUBLIC_BASE_URL": f"http://localhost:{port}",
            "AMANAT_API_REQUESTS_PER_MINUTE": "100000000",
        }
        env.pop("AMANAT_DATABASE_URL", None)
        subprocess.run(
            [*AMANAT, "init", "--demo"], env=env, cwd=ROOT, check=True, capture_output=True
        )
        pdf = Path(tmp) / "cert.pdf"
        subprocess.run(
            [
                *AMANAT,
                "issue",
                "--department",
                "DEMO",
                "--citizen",
                "35202-1234567-1",
                "--type",
                "degree",
                "--field",
                "name=Ayesha Khan",
                "--field",
                "degree=BSc",
                "--field",
                "year=2024",
                "-o",
                str(pdf),
            ],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        root = Path(tmp) / "root.der"
        get_root = (
            "from web.cli import _settings; from amanat.db import create_engine, session_factory; "
            "from web.verify import trust_roots; import sys; s=session_factory(create_engine(_settings().database_url))(); "
            "sys.stdout.buffer.write(trust_roots(s)[0])"
        )
        root.write_bytes(
            subprocess.run(
                [sys.executable, "-c", get_root], env=env, cwd=ROOT, check=True, capture_output=True
            ).stdout
        )
        print("verify: PDF verdicts ...", flush=True)
        out = subprocess.run(
            [sys.executable, "-c", _CHILD.format(root=str(ROOT)), str(pdf), str(root), "20"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        timing = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(
            {
                "name": "verify.pdf.blta",
                "value": round(1 / timing["ours"], 2),
                "unit": "pdf/s",
                "baseline": "pyHanko validate_pdf_signature alone (DSS context), same file",
                "baseline_value": round(1 / timing["bare"], 2),
                "ratio": round(timing["bare"] / timing["ours"], 2),
                "target": ">= 0.67 (within 1.5x)",
            }
        )
        results.append(_qr_load(env, pdf, port))
    return results


def _qr_load(env: dict, pdf: Path, port: int, threads: int = 0, seconds: float = 8.0) -> dict:
    # As many clients as workers (one per core): the load the machine holds without queueing.
    threads = threads or (os.cpu_count() or 1)
    import zxingcpp
    from PIL import Image

    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-singlefile", str(pdf), str(pdf.with_suffix(""))],
        check=True,
    )
    url = zxingcpp.read_barcodes(
        Image.open(pdf.with_suffix(".png")),
        formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode),
    )[0].text
    server = subprocess.Popen(
        [*AMANAT, "run", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    body = json.dumps({"payload": url}).encode()
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        print(f"verify: QR API, {threads} clients for {seconds:.0f} s ...", flush=True)
        stop = time.monotonic() + seconds

        def client() -> None:
            while time.monotonic() < stop:
                req = urllib.request.Request(
                    f"http://127.0.0.1:{port}/api/v1/verify-qr",
                    data=body,
                    headers={"Content-Type": "application/json"},
                )
                t = time.perf_counter()
                try:
                    with urllib.request.urlopen(req, timeout=10) as res:
                        ok = json.loads(res.read())["indication"] == "TOTAL_PASSED"
                except OSError:
                    ok = False
                elapsed = (time.perf_counter() - t) * 1000
                with lock:
                    if ok:
                        latencies.append(elapsed)
                    else:
                        errors[0] += 1

        pool = [threading.Thread(target=client) for _ in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
    finally:
        server.terminate()
        server.wait(timeout=30)
    latencies.sort()
    p50 = statistics.median(latencies)
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    return {
        "name": "verify.qr.api_p99_ms",
        "value": round(p99, 1),
        "unit": "ms",
        "baseline": f"p50 {p50:.1f} ms; {len(latencies) / seconds:.0f} req/s with {threads} clients; {errors[0]} errors",
        "baseline_value": 20.0,
        "ratio": round(20.0 / p99, 2),
        "target": "p99 < 20 ms",
    }

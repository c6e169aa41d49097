"""Issuance benchmark: certificates per second at B-B, B-T and B-LTA, one process and one process
per core, next to pyHanko's plain ``sign_pdf`` with a ``SimpleSigner`` (key loaded from files per
signature, no ``bytes_reserved``, pyHanko's own in-process TSA) on the same PDF, same run.

"Ours" is the whole issuance: QR payload and image, PDF rendering, signing, the strict offline
check, the encrypted vault write, the registry row and two ledger events. The baseline only signs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LEVELS = ("B-B", "B-T", "B-LTA")
COUNTS = {"B-B": 40, "B-T": 40, "B-LTA": 25}
BASELINE_COUNTS = {"B-B": 20, "B-T": 20, "B-LTA": 10}
BATCH_ROWS = (60, 600)

_CHILD = r"""
import datetime as dt, io, json, sys, time, tempfile, pathlib, logging
sys.path.insert(0, {root!r})
logging.disable(logging.WARNING)
from amanat.db import Base, create_engine, session_factory
import audit.models, identity.models, vault.models, signing.models
from keys.stores import FileKeyStore
from audit.keyring import bind_keystore
from keys import pki
from vault.blobs import FileBlobStore
from vault.service import VaultContext
from identity.accounts import create_account
from identity.models import Role
from signing import pki as spki, issuance, pades, qr, render
from signing.types import get_type

mode, level, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
d = pathlib.Path(tempfile.mkdtemp(dir={tmp!r}))
engine = create_engine(f"sqlite:///{{d}}/x.db"); Base.metadata.create_all(engine)
ks = FileKeyStore.create(d / "k"); now = dt.datetime.now(dt.UTC)
S = bind_keystore(session_factory(engine), ks)
fields = {{"name": "Ayesha Khan", "degree": "BSc Computer Science", "year": "2024", "grade": "A"}}
with S() as s:
    spki.ensure_pki(s, keystore=ks, now=now); s.commit()
    m = spki.load_pki(s, keystore=ks, base_url="http://localhost:8000")
    spki.create_department(s, keystore=ks, material=m, code="PU", name="University of the Punjab", now=now)
    create_account(s, role=Role.CITIZEN, display_name="Ayesha", login="35202-1234567-1", now=now)
    s.commit()
ctx = issuance.IssuanceContext(keystore=ks, material=m, vault=VaultContext(keystore=ks, blobs=FileBlobStore(d / "b")))
if mode == "ours":
    request = issuance.IssueRequest.build(department="PU", citizen="35202-1234567-1", type_code="degree", fields=fields, level=level)
    with S() as s:  # warm-up: first use loads keys and fonts
        issuance.issue_certificate(s, ctx=ctx, request=request, now=now); s.commit()
    t = time.perf_counter()
    for _ in range(count):
        with S() as s:
            issuance.issue_certificate(s, ctx=ctx, request=request, now=dt.datetime.now(dt.UTC)); s.commit()
    print(json.dumps({{"seconds": time.perf_counter() - t, "count": count}}))
    sys.exit(0)

if mode == "sign":
    # Our signing step alone (kept key, reserved size, in-process TSA, validation data per batch).
    with S() as s:
        cert_row = spki.active_cert(s, code="PU")
        key = spki.department_key(s, keystore=ks, material=m, cert=cert_row)
        trust = issuance.trust_data(s, material=m, cert=cert_row, now=now)
    ctype = get_type("degree")
    _url, png, _v = qr.build_qr(base_url="http://localhost:8000", key=key, cert_der=cert_row.cert_der, department="PU", serial="AAAA-BBBB-CCCC", type_code="degree", holder="Ayesha", fields=fields, display=ctype.display, issued_at=now)
    pdf = render.render_certificate(ctype=ctype, department_name="University of the Punjab", department_name_ur=None, fields=fields, serial="AAAA-BBBB-CCCC", issued_at=now, qr_png=png, verify_url="x")
    signer = pades.KeySigner(key, cert_row.cert_der, [pki.cert_der(m.root_cert)])
    pades.sign_pdf(pdf, signer=signer, timestamper=ctx.timestamper, trust=trust, level=level)
    t = time.perf_counter()
    for _ in range(count):
        pades.sign_pdf(pdf, signer=signer, timestamper=ctx.timestamper, trust=trust, level=level)
    print(json.dumps({{"seconds": time.perf_counter() - t, "count": count}}))
    sys.exit(0)

# Baseline: pyHanko out of the box on the same rendered PDF.
from pyhanko.sign import signers
from pyhanko.sign.fields import MDPPerm, SigSeedSubFilter
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko_certvalidator import ValidationContext
from asn1crypto import keys as ak
with S() as s:
    cert_row = spki.active_cert(s, code="PU")
    key = spki.department_key(s, keystore=ks, material=m, cert=cert_row)
    trust = issuance.trust_data(s, material=m, cert=cert_row, now=now)
ctype = get_type("degree")
_url, png, _v = qr.build_qr(base_url="http://localhost:8000", key=key, cert_der=cert_row.cert_der, department="PU", serial="AAAA-BBBB-CCCC", type_code="degree", holder="Ayesha", fields=fields, display=ctype.display, issued_at=now)
pdf = render.render_certificate(ctype=ctype, department_name="University of the Punjab", department_name_ur=None, fields=fields, serial="AAAA-BBBB-CCCC", issued_at=now, qr_png=png, verify_url="x")
(d / "key.der").write_bytes(pki.private_key_der(key)); (d / "cert.der").write_bytes(cert_row.cert_der)
(d / "root.der").write_bytes(pki.cert_der(m.root_cert))
tsa_key = ak.PrivateKeyInfo.load(pki.private_key_der(m.tsa_key))
t = time.perf_counter()
for _ in range(count):
    signer = signers.SimpleSigner.load(str(d / "key.der"), str(d / "cert.der"), ca_chain_files=(str(d / "root.der"),))
    ts = None if level == "B-B" else DummyTimeStamper(tsa_cert=pades.asn1_cert(m.tsa_cert), tsa_key=tsa_key)
    vc = None
    if level == "B-LTA":
        vc = ValidationContext(trust_roots=[pades.asn1_cert(trust.root)], crls=list(trust.crls), ocsps=list(trust.ocsps), other_certs=[pades.asn1_cert(c) for c in trust.others], allow_fetching=False)
    meta = signers.PdfSignatureMetadata(field_name="Sig", subfilter=SigSeedSubFilter.PADES, certify=True, docmdp_permissions=MDPPerm.NO_CHANGES,
        embed_validation_info=level == "B-LTA", use_pades_lta=level == "B-LTA", validation_context=vc)
    signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), meta, signer=signer, timestamper=ts)
print(json.dumps({{"seconds": time.perf_counter() - t, "count": count}}))
"""


def _spawn(mode: str, level: str, count: int, tmp: str) -> subprocess.Popen[str]:
    root = str(Path(__file__).resolve().parents[1])
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD.format(root=root, tmp=tmp), mode, level, str(count)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def _result(proc: subprocess.Popen[str]) -> dict:
    out, _ = proc.communicate(timeout=1800)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark child failed ({proc.returncode})")
    return json.loads(out.strip().splitlines()[-1])


def run(*, sizes: list[str] | None = None) -> list[dict]:
    cores = os.cpu_count() or 1
    results = []
    with tempfile.TemporaryDirectory(prefix="amanat-issue-bench-") as tmp:
        for level in LEVELS:
            print(f"issue: {level} ...", flush=True)
            base = _result(_spawn("baseline", level, BASELINE_COUNTS[level], tmp))
            base_rate = base["count"] / base["seconds"]
            sign = _result(_spawn("sign", level, COUNTS[level], tmp))
            sign_rate = sign["count"] / sign["seconds"]
            one = _result(_spawn("ours", level, COUNTS[level], tmp))
            one_rate = one["count"] / one["seconds"]
            procs = [_spawn("ours", level, COUNTS[level], tmp) for _ in range(cores)]
            parts = [_result(p) for p in procs]
            # Per-core rate: each process's own rate, summed (setup time excluded), over cores.
            all_rate = sum(p["count"] / p["seconds"] for p in parts)
            results.append(
                {
                    "name": f"issue.{level}.per_core",
                    "value": round(one_rate, 2),
                    "unit": "cert/s",
                    "baseline": "pyHanko sign_pdf + SimpleSigner.load per signature, no bytes_reserved (sign only)",
                    "baseline_value": round(base_rate, 2),
                    "ratio": round(one_rate / base_rate, 2),
                    "target": ">= 5 (B-LTA)" if level == "B-LTA" else "",
                }
            )
            results.append(
                {
                    "name": f"issue.{level}.sign_only",
                    "value": round(sign_rate, 2),
                    "unit": "cert/s",
                    "baseline": "the same naive pyHanko signing, same PDF, same level",
                    "baseline_value": round(base_rate, 2),
                    "ratio": round(sign_rate / base_rate, 2),
                    "target": ">= 5 (B-LTA)" if level == "B-LTA" else "",
                }
            )
            results.append(
                {
                    "name": f"issue.{level}.all_cores",
                    "value": round(all_rate, 2),
                    "unit": "cert/s",
                    "baseline": f"same, {cores} processes vs the baseline on one core",
                    "baseline_value": round(base_rate, 2),
                    "ratio": round(all_rate / base_rate, 2),
                    "target": "",
                }
            )
        results.append(_batch_through_cli(tmp))
        results.append(_workers_scale(tmp))
    return results


def _timed_batch(tmp: str, rows: int, workers: int = 0) -> float:
    """Seconds for a real `amanat issue-batch --workers N` of ``rows`` B-LTA rows on a fresh
    SQLite instance (the task engine's queue beside it; N worker processes, default one per
    core, started by the command: their start-up is counted)."""
    root = Path(__file__).resolve().parents[1]
    instance = Path(tempfile.mkdtemp(dir=tmp, prefix="batch-"))
    env = {**os.environ, "AMANAT_INSTANCE": str(instance), "AMANAT_LOG_LEVEL": "WARNING"}
    env.pop("AMANAT_DATABASE_URL", None)
    amanat = [sys.executable, "-c", "from web.cli import main; main()"]
    subprocess.run([*amanat, "init", "--demo"], env=env, cwd=root, check=True, capture_output=True)
    csv_path = instance / "batch.csv"
    lines = ["citizen,type,name,degree,year,grade"] + [
        f"35202-1234567-1,degree,Ayesha Khan {i},BSc Computer Science,2024,A" for i in range(rows)
    ]
    csv_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cores = os.cpu_count() or 1
    start = time.perf_counter()
    done = subprocess.run(
        [
            *amanat,
            "issue-batch",
            "--department",
            "DEMO",
            "--workers",
            str(workers or cores),
            str(csv_path),
        ],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0 or f"{rows} issued, 0 failed." not in done.stdout:
        raise SystemExit(f"batch failed: {done.stdout[-300:]} {done.stderr[-300:]}")
    return elapsed


def _workers_scale(tmp: str) -> dict:
    """Rows per second of the same batch with two task-engine workers against one (the marginal
    rate between two sizes, so that start-up does not count)."""
    small, large = BATCH_ROWS
    print(f"issue: batch rows/s with 1 and 2 workers ({small} and {large} rows) ...", flush=True)
    rates = {}
    for workers in (1, 2):
        t_small, t_large = _timed_batch(tmp, small, workers), _timed_batch(tmp, large, workers)
        rates[workers] = (large - small) / (t_large - t_small)
    return {
        "name": "issue.batch.workers2_vs_1",
        "value": round(rates[2], 2),
        "unit": "rows/s",
        "baseline": "the same batch with one worker process",
        "baseline_value": round(rates[1], 2),
        "ratio": round(rates[2] / rates[1], 2),
        "target": ">= 1.7",
    }


def _batch_through_cli(tmp: str) -> dict:
    """Time the real `amanat issue-batch` (SQLite, one process per core) at two sizes; a 10,000-row
    batch takes the larger run's time plus the remaining rows at the marginal rate between them
    (start-up, spawning the workers and loading keys and fonts, counted once, as it would be)."""
    small, large = BATCH_ROWS
    print(f"issue: amanat issue-batch of {small} and {large} B-LTA rows ...", flush=True)
    t_small, t_large = _timed_batch(tmp, small), _timed_batch(tmp, large)
    rate = (large - small) / (t_large - t_small)
    minutes = (t_large + (10_000 - large) / rate) / 60
    return {
        "name": "issue.batch10k.minutes",
        "value": round(minutes, 1),
        "unit": "min",
        "baseline": (
            f"target; measured {small} rows in {t_small:.1f} s and {large} in {t_large:.1f} s "
            f"({rate:.1f} rows/s marginal)"
        ),
        "baseline_value": 15.0,
        "ratio": round(15.0 / minutes, 2),
        "target": "< 15 min",
    }

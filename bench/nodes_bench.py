"""Several nodes: QR checks through nginx (deploy/nginx/amanat.conf's proxying, plain HTTP) in
front of two nodes of one worker each, against one node of two workers answered directly, the
same instance and the same machine in the same run (target: no worse than 0.9x)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bench.load import free_port, wait_until_up, wrk
from bench.verify_bench import ROOT, _instance, _qr_url, _server

SECONDS = 8.0


def _node(env: dict, port: int, workers: int, name: str) -> contextlib.AbstractContextManager[str]:
    """A web node of ``workers`` processes behind the proxy (verify_bench's server)."""
    return _server(env, port, "--workers", str(workers), "--no-task-worker",
                   AMANAT_NODE_NAME=name, AMANAT_TRUSTED_PROXIES="127.0.0.1")  # fmt: skip


@contextlib.contextmanager
def _nginx(tmp: Path, port: int, nodes: list[int]) -> Iterator[str]:
    """nginx with the production file's upstream and proxy settings, without TLS (the bench
    measures the extra hop, not the cipher)."""
    site = (ROOT / "deploy" / "nginx" / "amanat.conf").read_text()
    upstream = site[site.index("upstream amanat_web") : site.index("}", site.index("upstream")) + 1]
    location = site[site.index("    location / {") :]
    location = location[: location.index("\n    }") + 6]
    upstream = upstream.replace("@@NODES@@", " ".join(f"server 127.0.0.1:{n};" for n in nodes))
    temp = " ".join(
        f"{k}_temp_path {tmp / k};" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = tmp / "nginx.conf"
    conf.write_text(
        f"user root; worker_processes 1; pid {tmp / 'nginx.pid'}; error_log {tmp / 'error.log'};\n"
        "events { worker_connections 256; }\n"
        f"http {{ access_log off; {temp}\n{upstream}\n"
        f"server {{ listen 127.0.0.1:{port}; client_max_body_size 26m;\n{location}\n}} }}\n"
    )
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    proc = subprocess.Popen([nginx, "-c", str(conf), "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base + "/healthz")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def run(**_: object) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="amanat-nodes-") as tmp_name:
        tmp = Path(tmp_name)
        port = free_port()
        env, pdf = _instance(tmp, "nodes", None, port)
        body = json.dumps({"payload": _qr_url(pdf)}).encode()
        print(f"nodes: one node of 2 workers directly, {SECONDS:.0f} s ...", flush=True)
        with _node(env, port, 2, "single") as base:
            wrk(base + "/api/v1/verify-qr", body=body, expect="TOTAL_PASSED", seconds=1)
            direct = wrk(base + "/api/v1/verify-qr", body=body, expect="TOTAL_PASSED",
                         seconds=SECONDS)  # fmt: skip
        print("nodes: nginx in front of two nodes of 1 worker ...", flush=True)
        a, b, front = free_port(), free_port(), free_port()
        with _node(env, a, 1, "a"), _node(env, b, 1, "b"), _nginx(tmp, front, [a, b]) as base:
            wrk(base + "/api/v1/verify-qr", body=body, expect="TOTAL_PASSED", seconds=1)
            proxied = wrk(base + "/api/v1/verify-qr", body=body, expect="TOTAL_PASSED",
                          seconds=SECONDS)  # fmt: skip
    for r in (direct, proxied):
        if r["wrong"] or r["socket_errors"]:
            raise SystemExit(f"nodes bench: wrong answers under load: {r}")
    print(f"  direct {direct['rps']:.0f} req/s, through nginx {proxied['rps']:.0f} req/s")
    return [{
        "name": "nodes.nginx_two_nodes.qr.c8", "value": round(proxied["rps"], 1), "unit": "req/s",
        "baseline": "one node of 2 workers answered directly, same instance, same run",
        "baseline_value": round(direct["rps"], 1),
        "ratio": round(proxied["rps"] / direct["rps"], 2), "target": ">= 0.9",
    }]  # fmt: skip


if __name__ == "__main__":
    for line in run():
        print(json.dumps(line))
    os._exit(0)

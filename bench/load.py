"""HTTP load from a second process: wrk (Debian's package), with a Lua script that reports
requests, errors and latency percentiles as one JSON line.

Python client threads in the benchmark's own process share one GIL and measured themselves more
than the server; wrk is C, and the same wrk drives the baseline in the same run.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

SCRIPT = r"""
local body_file = os.getenv("BENCH_BODY")
if body_file and body_file ~= "" then
  local f = assert(io.open(body_file, "rb"))
  wrk.method = "POST"
  wrk.body = f:read("*a")
  wrk.headers["Content-Type"] = "application/json"
  f:close()
end
local bad = 0
local expect = os.getenv("BENCH_EXPECT")
response = function(status, headers, body)
  if status ~= 200 or (expect ~= "" and not string.find(body, expect, 1, true)) then
    bad = bad + 1
  end
end
-- A paced load (BENCH_DELAY_MS between a connection's requests) holds a rate below the peak.
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "") or 0
if pause > 0 then
  delay = function() return pause end
end
-- Each thread keeps its own 'bad'; wrk gathers thread tables in done().
function setup(thread) table.insert(threads, thread) end
threads = {}
done = function(summary, latency, requests)
  local wrong = 0
  for _, t in ipairs(threads) do wrong = wrong + (t:get("bad") or 0) end
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "socket_errors": %d, "wrong": %d, ' ..
    '"p50_ms": %.3f, "p99_ms": %.3f}\n',
    summary.requests, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    wrong, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


def require_wrk() -> str:
    """wrk's path, or a clear error naming the package."""
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("bench needs wrk: run 'make bench' as root, or 'apt-get install wrk'")
    return path


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, timeout: float = 20.0) -> None:
    """Poll ``url`` until it answers (any status), or fail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"bench: the server at {url} did not come up")


def load_average() -> str:
    """The machine's 1/5/15-minute load average, as printed with every suite."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def wrk(
    url: str,
    *,
    body: bytes | None = None,
    expect: str = "",
    connections: int = 8,
    seconds: float = 8.0,
    threads: int = 2,
    script: str = SCRIPT,
    delay_ms: float = 0.0,
) -> dict:
    """Drive ``url`` with wrk; every answer must be 200 (and contain ``expect``). With
    ``delay_ms``, each connection waits that long between its requests (a paced load).

    Returns requests per second, p50/p99 in ms and the count of wrong answers.
    """
    with tempfile.TemporaryDirectory(prefix="amanat-wrk-") as tmp:
        lua = Path(tmp) / "bench.lua"
        lua.write_text(script)
        env = {**os.environ, "BENCH_EXPECT": expect, "BENCH_BODY": "", "BENCH_DELAY_MS": ""}
        if delay_ms > 0:
            env["BENCH_DELAY_MS"] = f"{delay_ms:.3f}"
        if body is not None:
            (Path(tmp) / "body").write_bytes(body)
            env["BENCH_BODY"] = str(Path(tmp) / "body")
        out = subprocess.run(
            [
                require_wrk(),
                f"-t{threads}",
                f"-c{connections}",
                f"-d{seconds:.0f}s",
                "-s",
                str(lua),
                url,
            ],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["rps"] = result["requests"] / result["seconds"]
    return result

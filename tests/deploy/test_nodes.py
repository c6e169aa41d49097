"""The production shape on this machine: two `amanat run` nodes on one PostgreSQL database and one
S3 bucket (a real Swift with s3api), behind a real nginx (Debian's) with TLS, configured from
deploy/nginx/amanat.conf. A citizen signs in
through the proxy, uploads on one node and downloads on the other, a certificate is verified, and
the ledger both nodes wrote verifies afterwards."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import pg_schema_url as schema_of_its_own
from web.cli import main

ROOT = Path(__file__).resolve().parents[2]
AMANAT = [sys.executable, "-c", "from web.cli import main; main()"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tls(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "tls.crt", folder / "tls.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def _nginx_conf(folder: Path, *, port: int, http_port: int, nodes: list[int]) -> Path:
    cert, key = _tls(folder)
    site = (ROOT / "deploy" / "nginx" / "amanat.conf").read_text()
    for mark, value in {
        "@@NODES@@": " ".join(f"server 127.0.0.1:{n};" for n in nodes),
        "@@LISTEN@@": f"127.0.0.1:{port}", "@@HTTP_LISTEN@@": f"127.0.0.1:{http_port}",
        "@@SERVER_NAME@@": "localhost", "@@CERT@@": str(cert), "@@KEY@@": str(key),
    }.items():  # fmt: skip
        site = site.replace(mark, value)
    assert "@@" not in site
    (folder / "site.conf").write_text(site)
    temp = " ".join(f"{kind}_temp_path {folder / kind};" for kind in
                    ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))  # fmt: skip
    main_conf = folder / "nginx.conf"
    main_conf.write_text(
        f"user root; worker_processes 1; pid {folder / 'nginx.pid'};\n"
        f"error_log {folder / 'error.log'} warn;\n"
        "events { worker_connections 128; }\n"
        f"http {{ access_log off; {temp} include {folder / 'site.conf'}; }}\n"
    )
    return main_conf


@pytest.fixture
def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    if not found:
        pytest.fail("nginx is not installed: `make deps` installs Debian's nginx")
    return found


class Https:
    """Requests through the proxy, with the cookies a browser would keep."""

    def __init__(self, port: int, cafile: Path) -> None:
        self.port = port
        self.context = ssl.create_default_context(cafile=str(cafile))
        self.cookies: dict[str, str] = {}

    def send(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ):
        conn = http.client.HTTPSConnection("localhost", self.port, context=self.context, timeout=60)
        sent = {**(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn.request(method, path, body=body, headers=sent)
        res = conn.getresponse()
        data = res.read()
        for cookie in res.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name] = rest.split(";")[0]
        conn.close()
        return res, data


def _wait_ready(port: int) -> None:
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing answers on port {port}")


def _multipart(csrf: str, name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{csrf}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.fixture
def two_nodes(
    tmp_path: Path, nginx_binary: str, pg_schema_url: str, swift_s3: dict[str, str]
) -> Iterator[dict]:
    port, http_port, nodes = _free_port(), _free_port(), [_free_port(), _free_port()]
    env = {**os.environ, "AMANAT_INSTANCE": str(tmp_path / "inst"), "HOME": str(tmp_path),
           "AMANAT_DATABASE_URL": pg_schema_url, "AMANAT_PUBLIC_BASE_URL": f"https://localhost:{port}",
           "AMANAT_TRUSTED_PROXIES": "127.0.0.1", "AMANAT_LOG_LEVEL": "WARNING",
           "AMANAT_BLOBSTORE": f"s3://amanat-tests/nodes-{uuid.uuid4().hex[:10]}",
           **swift_s3}  # fmt: skip
    shown = CliRunner().invoke(main, ["init", "--demo"], env=env)
    assert shown.exit_code == 0, shown.output
    password = re.search(r"CNIC 35202-1234567-1\s+password (\S+)", shown.output).group(1)
    conf = _nginx_conf(tmp_path, port=port, http_port=http_port, nodes=nodes)
    started: list[subprocess.Popen[bytes]] = []

    def stop() -> None:
        for proc in started:
            if proc.poll() is None:
                proc.terminate()
        for proc in started:
            proc.wait(60)

    try:
        for name, node_port in zip(("node-a", "node-b"), nodes, strict=True):
            started.append(subprocess.Popen(
                [*AMANAT, "run", "--port", str(node_port), "--workers", "1", "--no-task-worker"],
                env={**env, "AMANAT_NODE_NAME": name}, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, start_new_session=True,
            ))  # fmt: skip
        started.append(subprocess.Popen(
            [nginx_binary, "-c", str(conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
        ))  # fmt: skip
        for p in (*nodes, port):
            _wait_ready(p)
        yield {"env": env, "port": port, "http_port": http_port, "password": password,
               "cafile": tmp_path / "tls.crt", "tmp": tmp_path, "stop": stop}  # fmt: skip
    finally:
        stop()


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A PostgreSQL schema of its own (the shared database of both nodes)."""

    with schema_of_its_own() as (url, _schema):
        yield url


def _sign_in(web: Https, password: str) -> str:
    res, page = web.send("GET", "/login")
    csrf = re.search(rb'name="csrf-token" content="([^"]+)"', page).group(1).decode()
    body = f"csrf_token={csrf}&login=35202-1234567-1&password={password}".encode()
    res, _ = web.send("POST", "/login/password", body,
                      {"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert res.status == 302, res.status
    assert "Secure" in (res.headers.get("Set-Cookie") or ""), "https came through the proxy"
    _, page = web.send("GET", "/vault")
    return re.search(rb'name="csrf-token" content="([^"]+)"', page).group(1).decode()


def _until_node(web: Https, node: str, method: str, path: str, **kw) -> tuple:
    """Send until a node other than ``node`` answers (nginx takes turns)."""
    for _ in range(6):
        res, data = web.send(method, path, **kw)
        if res.headers.get("X-Amanat-Node") != node:
            return res, data
    raise AssertionError(f"only {node} answered")


def test_a_citizen_walks_through_two_nodes_behind_nginx(two_nodes: dict) -> None:
    web = Https(two_nodes["port"], two_nodes["cafile"])
    csrf = _sign_in(web, two_nodes["password"])
    document = b"%PDF-1.7\n% a scanned domicile letter\n" + os.urandom(3000) + b"\n%%EOF\n"
    body, kind = _multipart(csrf, "domicile.pdf", document)
    headers = {"Content-Type": kind, "X-CSRF-Token": csrf, "Accept": "application/json"}
    res, data = web.send("POST", "/vault", body, headers)
    assert res.status == 201, data[:300]
    uploaded_on = res.headers["X-Amanat-Node"]
    doc_id = __import__("json").loads(data)["id"]
    res, data = _until_node(web, uploaded_on, "GET", f"/vault/{doc_id}/file?download=1")
    assert res.status == 200, "the other node opened what the first stored"
    assert data == document, "the other node opened what the first stored"
    assert not (two_nodes["tmp"] / "inst" / "blobs").exists() or not any(
        (two_nodes["tmp"] / "inst" / "blobs").glob("??/??/*")
    ), "the blobs are in the bucket, not on a node's disk"
    assert {uploaded_on, res.headers["X-Amanat-Node"]} == {"node-a", "node-b"}

    issued = CliRunner().invoke(main, [
        "issue", "--department", "DEMO", "--citizen", "35202-1234567-1", "--type", "degree",
        "--field", "name=Ayesha Khan", "--field", "degree=BSc", "--field", "year=2024",
        "-o", str(two_nodes["tmp"] / "degree.pdf")], env=two_nodes["env"])  # fmt: skip
    assert issued.exit_code == 0, issued.output
    pdf = (two_nodes["tmp"] / "degree.pdf").read_bytes()
    verdicts = set()
    for _ in range(2):  # once on each node
        res, data = web.send("POST", "/api/v1/verify", pdf, {"Content-Type": "application/pdf"})
        assert res.status == 200, data[:300]
        verdicts.add((res.headers["X-Amanat-Node"], __import__("json").loads(data)["indication"]))
    assert verdicts == {("node-a", "TOTAL_PASSED"), ("node-b", "TOTAL_PASSED")}

    res, _ = web.send("GET", "/metrics")
    assert res.status == 404, "metrics are not served through the public address"
    conn = http.client.HTTPConnection("127.0.0.1", two_nodes["http_port"], timeout=10)
    conn.request("GET", "/vault", headers={"Host": "localhost"})
    redirect = conn.getresponse()
    assert redirect.status == 301
    assert redirect.headers["Location"].startswith("https://localhost")

    two_nodes["stop"]()  # each node writes its buffered verifications and signs its last events
    verified = CliRunner().invoke(main, ["audit", "verify"], env=two_nodes["env"])
    assert verified.exit_code == 0, verified.output
    intact = re.search(r"Ledger intact: (\d+) events, (\d+) signed tree heads", verified.output)
    assert intact, verified.output
    assert int(intact.group(1)) >= 5, verified.output
    assert int(intact.group(2)) >= 2, verified.output

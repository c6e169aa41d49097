"""amanat verify-qr --offline: the site's trust and status lists fetched when it answers and kept
for when it does not; the verdict says how old its status is and turns indeterminate when the
kept list has expired."""

from __future__ import annotations

import base64
import datetime as dt
import json
import socket
import threading
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from werkzeug.serving import make_server

from signing.issuance import revoke_certificate
from signing.status_list import build_status_list
from tests.signing.test_issuance import _decode_qr
from tests.web.certificates import issue_degree
from web.cli import main
from web.offline import STATUS_FILE, TRUST_FILE


@pytest.fixture
def site(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def code(app, client, sessions, file_keystore, clock, tmp_path):
    row, pdf = issue_degree(app, client, sessions, file_keystore, clock)
    return row, _decode_qr(pdf, tmp_path)


def _dead_site() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def _run(cache: Path, *args: str):
    env = {"AMANAT_VERIFIER_CACHE": str(cache)}
    return CliRunner().invoke(main, ["verify-qr", "--offline", *args], env=env)


def test_connected_it_passes_on_a_fresh_list(tmp_path, site, code) -> None:
    _row, url = code
    result = _run(tmp_path / "cache", url, "--site", site)
    assert result.exit_code == 0, result.output
    assert "TOTAL_PASSED" in result.output
    assert "signed status list" in result.output


def test_connected_it_keeps_both_lists(tmp_path, site, code) -> None:
    _row, url = code
    _run(tmp_path / "cache", url, "--site", site)
    kept = tmp_path / "cache" / quote(site, safe="")
    assert (kept / TRUST_FILE).stat().st_size
    assert (kept / STATUS_FILE).stat().st_size


def test_cut_off_it_uses_the_kept_lists(tmp_path, app, code) -> None:
    _row, url = code
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_port}"
    assert _run(tmp_path / "cache", url, "--site", origin).exit_code == 0
    server.shutdown()
    server.server_close()
    result = _run(tmp_path / "cache", url, "--site", origin)
    assert result.exit_code == 0, result.output
    assert "did not answer: using the lists kept last time" in result.output


def test_a_revocation_in_a_renewed_list_fails(tmp_path, site, code, sessions, clock) -> None:
    row, url = code
    with sessions() as s:
        revoke_certificate(s, serial=row.serial, reason="issued in error", now=clock.value)
        s.commit()
    result = _run(tmp_path / "cache", url, "--site", site)
    assert result.exit_code == 1, result.output
    assert "TOTAL_FAILED / REVOKED" in result.output


def test_a_kept_list_that_expired_is_indeterminate(tmp_path, site, code, app, sessions) -> None:
    _row, url = code
    cache = tmp_path / "cache"
    assert _run(cache, url, "--site", site).exit_code == 0
    old = dt.datetime.now(dt.UTC) - dt.timedelta(hours=30)
    with sessions() as s:
        material = app.extensions["amanat"].issuance().material
        token = build_status_list(s, material=material, now=old, valid_for=dt.timedelta(days=1))
        s.rollback()
    dead = _dead_site()
    kept = cache / quote(dead, safe="")
    kept.mkdir(parents=True)
    (kept / TRUST_FILE).write_bytes((cache / quote(site, safe="") / TRUST_FILE).read_bytes())
    (kept / STATUS_FILE).write_bytes(token.token)
    result = _run(cache, url, "--site", dead)
    assert result.exit_code == 2, result.output
    assert "has expired (30 hours old)" in result.output


def test_never_connected_it_cannot_check(tmp_path, code) -> None:
    _row, url = code
    result = _run(tmp_path / "cache", url, "--site", _dead_site())
    assert result.exit_code == 3
    assert "check one code while connected first" in result.output


def test_a_bare_payload_needs_a_site(tmp_path, code) -> None:
    _row, url = code
    result = _run(tmp_path / "cache", url.split("#", 1)[1])
    assert result.exit_code == 3
    assert "give --site" in result.output


def test_a_site_never_chosen_is_not_believed(tmp_path, code) -> None:
    _row, url = code
    result = _run(tmp_path / "cache", url)
    assert result.exit_code == 3
    assert "does not trust yet" in result.output


def test_a_site_chosen_once_is_followed_from_the_code(tmp_path, site, code) -> None:
    _row, url = code
    cache = tmp_path / "cache"
    assert _run(cache, url, "--site", site).exit_code == 0
    # The code names its own site (http://localhost:8000 here); kept under that name, it is used.
    own = cache / quote("http://localhost:8000", safe="")
    (cache / quote(site, safe="")).rename(own)
    result = _run(cache, url)
    assert result.exit_code == 0, result.output


def test_a_site_that_changes_its_root_is_not_believed(tmp_path, site, code) -> None:

    _row, url = code
    cache = tmp_path / "cache"
    assert _run(cache, url, "--site", site).exit_code == 0
    kept = cache / quote(site, safe="") / TRUST_FILE
    body = json.loads(kept.read_bytes())
    body["root"] = base64.b64encode(b"another root").decode()
    kept.write_text(json.dumps(body))
    result = _run(cache, url, "--site", site)
    assert result.exit_code == 3
    assert "another root" in result.output


def test_a_cache_that_cannot_be_written_is_said_plainly(tmp_path, site, code) -> None:
    _row, url = code
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    result = _run(blocker, url, "--site", site)
    assert result.exit_code == 3
    assert "cannot keep the lists" in result.output

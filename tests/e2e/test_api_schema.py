"""Schemathesis against the live server's own OpenAPI document (bounded): no server error, no
answer that breaks the document, no request it declares valid refused — without and with an API
key of an organisation."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from identity.organisations import create_api_key, create_organisation
from signing.pki import ensure_pki

pytestmark = pytest.mark.e2e
ST = Path(sys.executable).parent / "st"


def _run(url: str, *headers: str) -> subprocess.CompletedProcess[str]:
    if not ST.exists():
        pytest.fail(f"schemathesis is missing at {ST}: make test installs the dev extras")
    args = [str(ST), "run", f"{url}/api/v1/openapi.json", "--max-examples", "15", "--checks", "all"]
    for header in headers:
        args += ["-H", header]
    return subprocess.run(args, capture_output=True, text=True, timeout=600)


@pytest.fixture
def api_key(live_server: str, sessions, file_keystore) -> str:
    now = dt.datetime.now(dt.UTC)
    with sessions() as s:
        ensure_pki(s, keystore=file_keystore, now=now)
        create_organisation(s, code="BANK", name="Example Bank", now=now)
        token = create_api_key(
            s, code="BANK", label="t", scopes=["shares:read", "verify"], now=now
        ).token
        s.commit()
    return token


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("with_key", [False, True], ids=["anonymous", "api-key"])
def test_the_api_keeps_its_own_document(live_server: str, api_key: str, with_key: bool) -> None:
    result = _run(live_server, *([f"Authorization: Bearer {api_key}"] if with_key else []))
    summary = result.stdout[-3000:]
    assert result.returncode == 0, summary
    assert " passed" in summary, summary
    assert "failures" not in summary.split("SUMMARY")[-1], summary

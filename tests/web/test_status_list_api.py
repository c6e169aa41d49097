"""GET /api/v1/status-list publishes the signed list the trust list points to; it reflects a
revocation once the periodic job renews it, and a request signs one when no worker did."""

from __future__ import annotations

import base64
import datetime as dt

import pytest

from keys import pki
from signing.issuance import revoke_certificate
from signing.models import CertificateCopy
from tests.web.certificates import issue_degree
from verification import status_list as tsl
from web.tasks import _periodic_jobs, renew_archives, renew_status_list


@pytest.fixture
def issued(app, client, sessions, file_keystore, clock):
    return issue_degree(app, client, sessions, file_keystore, clock)


def _read(api, clock) -> tsl.StatusList:
    trust = api.get("/api/v1/trust-list").get_json()
    res = api.get("/api/v1/status-list")
    assert res.status_code == 200
    assert res.mimetype == tsl.MEDIA_TYPE
    return tsl.read_status_list(
        res.get_data(),
        root_der=base64.b64decode(trust["root"]),
        uri=trust["status_list"]["uri"],
        now=clock.value,
    )


def test_the_list_reads_under_the_trust_lists_root(client, issued, clock) -> None:
    row, _pdf = issued
    listed = _read(client.application.test_client(), clock)
    assert listed.status(row.status_idx) == 0
    assert listed.issued_at == clock.value.replace(
        microsecond=0
    )


def test_the_trust_list_names_the_lists_signer(client, issued) -> None:
    trust = client.application.test_client().get("/api/v1/trust-list").get_json()
    signer = trust["status_list"]
    assert signer["uri"] == "http://localhost:8000/api/v1/status-list"
    assert bytes.fromhex(signer["kid"]) == pki.kid_of(base64.b64decode(signer["certificate"]))


def test_the_list_may_be_cached_a_minute(client, issued) -> None:
    res = client.application.test_client().get("/api/v1/status-list")
    assert res.headers["Cache-Control"] == "public, max-age=60"
    assert res.headers["Expires"]


def test_the_periodic_job_publishes_a_revocation(app, client, issued, sessions, clock) -> None:
    row, _pdf = issued
    api = client.application.test_client()
    assert _read(api, clock).status(row.status_idx) == 0
    clock.advance(minutes=2)
    with sessions() as s:
        revoke_certificate(s, serial=row.serial, reason="issued in error", now=clock.value)
        s.commit()
    clock.advance(minutes=1)
    renew_status_list(app.extensions["amanat"])
    assert _read(api, clock).status(row.status_idx) == 1


def test_a_list_no_worker_renewed_is_signed_by_the_request(client, issued, clock) -> None:
    api = client.application.test_client()
    first = _read(api, clock)
    clock.advance(hours=13)
    assert _read(api, clock).issued_at == first.issued_at + dt.timedelta(hours=13)


@pytest.mark.parametrize("job", ["renew_status_list", "renew_archives"])
def test_the_engine_schedules_the_renewal(job: str) -> None:
    assert job in {name for name, _schedule, _job in _periodic_jobs()}


def test_the_archive_job_renews_a_due_certificate(app, client, issued, clock, sessions) -> None:

    row, _pdf = issued
    clock.advance(days=365 * 9 + 200)  # the time-stamping certificate ends within the margin
    assert renew_archives(app.extensions["amanat"]) == 1
    with sessions() as s:
        assert s.query(CertificateCopy).filter_by(serial=row.serial).count() == 1

"""Offline QR verdicts with a status list: passed while the list is fresh and says valid, failed
when it says revoked, indeterminate when it has expired or does not reach the code's index, and
codes made before status lists keep the plain offline verdict."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from signing import qr as qr_builder
from signing.models import DepartmentCert
from verification import FailedSub, IndeterminateSub, Indication
from verification.qr import TrustEntry, verify_qr
from verification.status_list import StatusList

DAY = dt.timedelta(days=1)


@pytest.fixture
def code(env):
    row = env.issue("degree")
    with env.sessions() as s:
        cert = s.get(DepartmentCert, row.department_cert_id)
    key = env.ctx.material._department_keys[cert.key_id]

    def make(status_idx: int | None = 5) -> tuple[str, list[TrustEntry]]:
        payload = qr_builder.build_payload(
            key=key,
            cert_der=cert.cert_der,
            department="UNI",
            serial=row.serial,
            type_code="degree",
            holder="Ayesha Khan",
            fields=row.fields,
            display=("name",),
            issued_at=env.now,
            status_idx=status_idx,
        )
        url = qr_builder.certificate_url("http://localhost:8000", row.serial, payload)
        return url, [TrustEntry(department="UNI", cert_der=cert.cert_der)]

    return make


def _list(env, *, revoked: frozenset[int] = frozenset(), age=dt.timedelta(hours=2)) -> StatusList:
    bits = bytearray(2)
    for idx in revoked:
        bits[idx // 8] |= 1 << (idx % 8)
    issued = env.now - age
    return StatusList(
        "http://localhost:8000/api/v1/status-list", issued, issued + DAY, 3600, bytes(bits)
    )


def test_a_fresh_list_saying_valid_passes(env, code) -> None:
    url, trust = code()
    verdict = verify_qr(url, trust_list=trust, now=env.now, status=_list(env)).verdict
    assert (verdict.indication, verdict.reasons[0].code) == (
        Indication.TOTAL_PASSED,
        "qr_genuine_status_list",
    )


def test_the_verdict_says_how_old_the_status_is(env, code) -> None:
    url, trust = code()
    verdict = verify_qr(url, trust_list=trust, now=env.now, status=_list(env)).verdict
    assert verdict.reasons[0].args()["hours"] == "2"


def test_a_list_saying_revoked_fails(env, code) -> None:
    url, trust = code()
    listed = _list(env, revoked=frozenset({5}))
    verdict = verify_qr(url, trust_list=trust, now=env.now, status=listed).verdict
    assert (verdict.indication, verdict.sub_indication) == (
        Indication.TOTAL_FAILED,
        FailedSub.REVOKED,
    )


def test_an_expired_list_is_indeterminate(env, code) -> None:
    url, trust = code()
    listed = _list(env, age=DAY + dt.timedelta(minutes=1))
    verdict = verify_qr(url, trust_list=trust, now=env.now, status=listed).verdict
    assert (verdict.indication, verdict.reasons[0].code) == (
        Indication.INDETERMINATE,
        "qr_status_list_expired",
    )


def test_an_expired_list_saying_revoked_is_still_only_indeterminate(env, code) -> None:
    url, trust = code()
    listed = _list(env, revoked=frozenset({5}), age=2 * DAY)
    verdict = verify_qr(url, trust_list=trust, now=env.now, status=listed).verdict
    assert verdict.indication is Indication.INDETERMINATE


def test_an_index_beyond_the_list_is_indeterminate(env, code) -> None:
    url, trust = code(status_idx=999)
    verdict = verify_qr(url, trust_list=trust, now=env.now, status=_list(env)).verdict
    assert (verdict.indication, verdict.reasons[0].code) == (
        Indication.INDETERMINATE,
        "qr_status_unknown",
    )


def test_a_code_made_before_status_lists_keeps_the_offline_verdict(env, code) -> None:
    url, trust = code(status_idx=None)
    verdict = verify_qr(url, trust_list=trust, now=env.now, status=_list(env)).verdict
    assert (verdict.indication, verdict.reasons[0].code) == (
        Indication.INDETERMINATE,
        "qr_genuine_offline",
    )


def test_a_revoked_department_key_outweighs_a_fresh_list(env, code) -> None:
    url, trust = code()
    revoked = [dataclasses.replace(trust[0], revoked=True)]
    verdict = verify_qr(url, trust_list=revoked, now=env.now, status=_list(env)).verdict
    assert verdict.sub_indication is IndeterminateSub.REVOKED_NO_POE


@pytest.mark.parametrize("bad", [-1, "5", 2.5])
def test_a_malformed_index_is_a_malformed_code(env, code, bad) -> None:
    url, trust = code(status_idx=bad)
    verdict = verify_qr(url, trust_list=trust, now=env.now, status=_list(env)).verdict
    assert (verdict.indication, verdict.reasons[0].code) == (
        Indication.TOTAL_FAILED,
        "qr_malformed_content",
    )


def test_a_list_under_an_hour_old_says_no_age(env, code) -> None:
    url, trust = code()
    listed = _list(env, age=dt.timedelta(minutes=20))
    verdict = verify_qr(url, trust_list=trust, now=env.now, status=listed).verdict
    assert (verdict.indication, verdict.reasons[0].code) == (
        Indication.TOTAL_PASSED,
        "qr_genuine_status_list_recent",
    )

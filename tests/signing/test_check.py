"""signing.check: the register's rules over a verdict, the same on the PDF and the QR channel."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import update

from amanat.db import create_engine, session_factory
from signing.check import CertificateStatus, check_pdf, check_qr, trust_snapshot
from signing.errors import InvalidRequest
from signing.models import DepartmentCert
from signing.pki import active_cert, revoke_department_key
from tests.signing.test_issuance import _decode_qr
from verification import FailedSub, IndeterminateSub, Indication
from verification.qr import verify_qr
from web.messages import reason_text


@pytest.fixture
def issued(env, tmp_path):
    """A B-LTA certificate, its PDF and the link in its QR code."""
    row = env.issue("degree")
    pdf = env.pdf(row)
    return row, pdf, _decode_qr(pdf, tmp_path)


def _revoke_key(env, *, at: dt.datetime) -> None:
    with env.sessions() as s:
        revoke_department_key(
            s, keystore=env.ctx.keystore, material=env.ctx.material, code="UNI", now=at
        )
        s.commit()


def _channels(env, pdf: bytes, url: str):
    with env.sessions() as s:
        return check_pdf(s, data=pdf, now=env.now), check_qr(s, text=url, now=env.now)


def test_a_genuine_certificate_passes_on_both_channels(env, issued) -> None:
    _row, pdf, url = issued
    by_pdf, by_qr = _channels(env, pdf, url)
    assert by_pdf.verdict.passed
    assert by_qr.verdict.passed
    assert by_pdf.certificate == by_qr.certificate
    assert by_pdf.certificate.status is CertificateStatus.VALID


def test_after_a_key_revocation_an_older_certificate_passes_on_both_channels(env, issued) -> None:
    """The register recorded it before the key was revoked: PDF and QR agree it is valid."""
    _row, pdf, url = issued
    _revoke_key(env, at=env.now + dt.timedelta(minutes=1))
    by_pdf, by_qr = _channels(env, pdf, url)
    assert by_pdf.verdict.indication is by_qr.verdict.indication is Indication.TOTAL_PASSED


@pytest.fixture
def found_late(env, tmp_path):
    """A compromise found late: a certificate recorded ten minutes ago, one now, then the key
    revoked a minute on with the invalidity date between the two. (Issued at the real time or
    before: a file's validation data may not be dated after the moment pyHanko signs it.)"""
    found = []
    for row in (
        dataclasses.replace(env, now=env.now - dt.timedelta(minutes=10)).issue("degree"),
        env.issue("degree"),
    ):
        pdf = env.pdf(row)
        found.append((row, pdf, _decode_qr(pdf, tmp_path)))
    with env.sessions() as s:
        revoke_department_key(
            s,
            keystore=env.ctx.keystore,
            material=env.ctx.material,
            code="UNI",
            now=env.now + dt.timedelta(minutes=1),
            invalid_since=env.now - dt.timedelta(minutes=5),
        )
        s.commit()
    return found


def test_a_certificate_recorded_after_the_invalidity_date_fails_on_both_channels(
    env, found_late
) -> None:
    _before, (_row, pdf, url) = found_late
    for check in _channels(env, pdf, url):
        assert check.verdict.indication is Indication.TOTAL_FAILED
        assert check.verdict.sub_indication is FailedSub.REVOKED
        assert "held compromised from" in reason_text(check.verdict.reasons[0])


def test_a_certificate_recorded_before_the_invalidity_date_passes_on_both_channels(
    env, found_late
) -> None:
    (_row, pdf, url), _after = found_late
    by_pdf, by_qr = _channels(env, pdf, url)
    assert by_pdf.verdict.indication is by_qr.verdict.indication is Indication.TOTAL_PASSED


def test_the_reason_names_the_invalidity_date_not_the_revocation(env, found_late) -> None:
    _before, (_row, pdf, url) = found_late
    by_pdf, _by_qr = _channels(env, pdf, url)
    since = (env.now - dt.timedelta(minutes=5)).isoformat(timespec="minutes")
    assert by_pdf.verdict.reasons[0].args()["at"] == since


def test_an_invalidity_date_in_the_future_is_refused_and_changes_nothing(env, issued) -> None:

    with env.sessions() as s:
        with pytest.raises(InvalidRequest) as caught:
            revoke_department_key(
                s,
                keystore=env.ctx.keystore,
                material=env.ctx.material,
                code="UNI",
                now=env.now,
                invalid_since=env.now + dt.timedelta(days=1),
            )
        s.rollback()
        assert active_cert(s, code="UNI").status == "active"
    assert caught.value.code == "revoke_invalid_since_future"


def test_offline_a_code_signed_by_a_revoked_key_is_indeterminate(env, issued) -> None:
    """Without the register nothing proves when the code was made."""
    _row, _pdf, url = issued
    _revoke_key(env, at=env.now + dt.timedelta(minutes=1))
    with env.sessions() as s:
        offline = verify_qr(url, trust_list=trust_snapshot(s).entries, now=env.now)
    assert offline.verdict.indication is Indication.INDETERMINATE
    assert offline.verdict.sub_indication is IndeterminateSub.REVOKED_NO_POE


def test_the_check_is_turned_into_json_in_one_place(env, issued) -> None:
    _row, pdf, _url = issued
    with env.sessions() as s:
        check = check_pdf(s, data=pdf, now=env.now)
    body = check.to_json()
    assert body["indication"] == "TOTAL_PASSED"
    assert body["certificate"]["status"] == "valid"
    assert check.exit_code == 0
    assert len(check.file_sha256 or "") == 64


def test_a_revocation_made_through_another_engine_is_seen_by_a_warm_cache(env, issued) -> None:
    """Department certificates are cached per process; a key revoked by another worker or node
    (here: another engine on the same database) is seen at the next check."""

    row, _pdf, url = issued
    with env.sessions() as s:
        assert check_qr(s, text=url, now=env.now).verdict.passed  # the cache is warm
    other = create_engine(env.sessions.kw["bind"].url)
    try:
        with session_factory(other)() as s:
            s.execute(
                update(DepartmentCert)
                .where(DepartmentCert.id == row.department_cert_id)
                .values(status="revoked", revoked_at=row.issued_at - dt.timedelta(seconds=1))
            )
            s.commit()
    finally:
        other.dispose()
    with env.sessions() as s:
        check = check_qr(s, text=url, now=env.now)
    assert check.verdict.indication is Indication.TOTAL_FAILED
    assert check.verdict.sub_indication is FailedSub.REVOKED


def test_a_warm_cache_is_not_reloaded_when_nothing_changed(env, issued) -> None:
    _row, _pdf, url = issued
    with env.sessions() as s:
        first = trust_snapshot(s)
        check_qr(s, text=url, now=env.now)
        assert trust_snapshot(s) is first

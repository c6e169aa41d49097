"""The deployment's status list: every new certificate has its own index in it, a revocation
turns its bit, and the list is signed again when it is due or older than a revocation."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from keys import cose, pki
from signing import status_list
from signing.issuance import revoke_certificate
from signing.models import IssuedCertificate, StatusListToken
from tests.signing.test_issuance import _decode_qr
from verification import status_list as tsl

DAY = dt.timedelta(days=1)


def _read(env, token: bytes, now: dt.datetime | None = None) -> tsl.StatusList:
    return tsl.read_status_list(
        token,
        root_der=pki.cert_der(env.ctx.material.root_cert),
        uri=status_list.list_uri(env.ctx.material.base_url),
        now=now or env.now,
    )


def _build(env, now: dt.datetime | None = None, capacity: int = 4096) -> StatusListToken:
    with env.sessions() as s:
        row = status_list.build_status_list(
            s, material=env.ctx.material, now=now or env.now, valid_for=DAY, capacity=capacity
        )
        s.commit()
        return row


def test_each_new_certificate_draws_its_own_index(env) -> None:
    rows = [env.issue("degree") for _ in range(3)]
    indexes = [r.status_idx for r in rows]
    assert None not in indexes
    assert len(set(indexes)) == 3


def test_the_certificates_qr_code_carries_its_index(env, tmp_path) -> None:
    row = env.issue("degree")
    text = _decode_qr(env.pdf(row), tmp_path)
    claims = cose.decode(text.split("#", 1)[1]).claims
    assert claims[cose.CLAIM_ST] == row.status_idx


def test_new_status_index_never_returns_one_in_use(env) -> None:
    row = env.issue("degree")
    with env.sessions() as s:
        s.get(IssuedCertificate, row.serial).status_idx = 0
        s.flush()
        # Two places, one in use: forty draws must all land on the other.
        drawn = {status_list.new_status_index(s, capacity=2) for _ in range(40)}
    assert drawn == {1}


def test_a_revoked_certificate_is_listed_as_invalid(env) -> None:
    kept, revoked = env.issue("degree"), env.issue("degree")
    with env.sessions() as s:
        revoke_certificate(s, serial=revoked.serial, reason="issued in error", now=env.now)
        s.commit()
    listed = _read(env, _build(env).token)
    assert (listed.status(kept.status_idx), listed.status(revoked.status_idx)) == (0, 1)


def test_the_list_reaches_an_index_beyond_a_lowered_capacity(env) -> None:
    row = env.issue("degree")
    listed = _read(env, _build(env, capacity=1).token)
    assert listed.status(row.status_idx) == 0


def test_building_keeps_only_the_newest_list(env) -> None:
    _build(env)
    newest = _build(env, now=env.now + dt.timedelta(minutes=5))
    with env.sessions() as s:
        ids = list(s.scalars(select(StatusListToken.id)))
    assert ids == [newest.id]


def _renew(env, now: dt.datetime) -> StatusListToken:
    with env.sessions() as s:
        row = status_list.renew_status_list(s, material=env.ctx.material, now=now, valid_for=DAY)
        s.commit()
        return row


def test_renewal_keeps_a_fresh_list(env) -> None:
    first = _renew(env, env.now)
    assert _renew(env, env.now + dt.timedelta(minutes=59)).issued_at == first.issued_at


def test_renewal_signs_again_after_an_hour(env) -> None:
    first = _renew(env, env.now)
    assert _renew(env, env.now + dt.timedelta(hours=1)).issued_at != first.issued_at


def test_renewal_signs_again_after_a_revocation(env) -> None:
    row = env.issue("degree")
    first = _renew(env, env.now)
    later = env.now + dt.timedelta(minutes=3)
    with env.sessions() as s:
        revoke_certificate(s, serial=row.serial, reason="issued in error", now=later)
        s.commit()
    renewed = _renew(env, later + dt.timedelta(seconds=30))
    assert (
        renewed.issued_at != first.issued_at
    )
    assert (
        _read(env, renewed.token).status(row.status_idx) == 1
    )


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (dt.timedelta(hours=1), True),
        (dt.timedelta(hours=12), True),
        (dt.timedelta(hours=13), False),
    ],
)
def test_a_list_is_servable_while_half_its_validity_is_left(env, age, expected) -> None:
    row = _build(env)
    with env.sessions() as s:
        assert status_list.servable(s, row, now=env.now + age, valid_for=DAY) is expected


@pytest.mark.parametrize(
    ("waited", "expected"), [(dt.timedelta(seconds=90), True), (dt.timedelta(minutes=3), False)]
)
def test_a_list_behind_a_revocation_is_servable_for_two_minutes(env, waited, expected) -> None:
    row = env.issue("degree")
    listed = _build(env)
    with env.sessions() as s:
        revoke_certificate(s, serial=row.serial, reason="issued in error", now=env.now)
        s.flush()
        assert status_list.servable(s, listed, now=env.now + waited, valid_for=DAY) is expected


def test_certificates_issued_before_status_lists_have_no_index(env) -> None:
    row = env.issue("degree")
    with env.sessions() as s:
        s.get(IssuedCertificate, row.serial).status_idx = None
        s.commit()
    listed = _read(env, _build(env).token)
    assert set(listed.bits) == {0}

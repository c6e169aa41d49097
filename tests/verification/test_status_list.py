"""Status lists (Token Status List, CWT form): the draft's bit order, a signer the root certified,
and every damaged, foreign, oversized or out-of-date list refused or flagged."""

from __future__ import annotations

import base64
import datetime as dt
import zlib

import cbor2
import pytest

from keys import cose, pki
from signing.status_list import build_status_list, list_uri
from verification import status_list as tsl

DAY = dt.timedelta(days=1)
# draft-ietf-oauth-status-list, section 4.1 (1-bit example): 16 statuses, their compressed form.
DRAFT_STATUSES = [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]
DRAFT_LST = "eNrbuRgAAhcBXQ"


def _b64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_pack_writes_the_drafts_example() -> None:
    revoked = {i for i, bit in enumerate(DRAFT_STATUSES) if bit}
    assert tsl.pack(revoked, 16) == _b64u(DRAFT_LST)


def test_unpack_reads_the_drafts_example() -> None:
    assert tsl.unpack(_b64u(DRAFT_LST)) == bytes([0xB9, 0xA3])


@pytest.mark.parametrize("idx", range(16))
def test_status_reads_each_entry_of_the_drafts_example(idx: int) -> None:
    listed = tsl.StatusList(
        "u", dt.datetime.now(dt.UTC), dt.datetime.now(dt.UTC), None, b"\xb9\xa3"
    )
    assert listed.status(idx) == DRAFT_STATUSES[idx]


@pytest.mark.parametrize("idx", [-1, 16, 10**9])
def test_status_beyond_the_list_is_unknown(idx: int) -> None:
    listed = tsl.StatusList(
        "u", dt.datetime.now(dt.UTC), dt.datetime.now(dt.UTC), None, b"\xb9\xa3"
    )
    assert listed.status(idx) is None


def test_unpack_refuses_a_zip_bomb() -> None:
    with pytest.raises(tsl.StatusListRejected) as caught:
        tsl.unpack(zlib.compress(bytes(tsl.MAX_LIST_BYTES + 1), 9))
    assert caught.value.code == "status_list_damaged"


@pytest.fixture
def published(env):
    with env.sessions() as s:
        row = build_status_list(
            s, material=env.ctx.material, now=env.now, valid_for=DAY, capacity=1024
        )
        s.commit()
        return row.token


def _root(env) -> bytes:
    return pki.cert_der(env.ctx.material.root_cert)


def _read(env, token: bytes, **overrides):
    args = dict(root_der=_root(env), uri=list_uri(env.ctx.material.base_url), now=env.now)
    args.update(overrides)
    return tsl.read_status_list(token, **args)


def test_a_published_list_reads_against_the_root(env, published) -> None:
    listed = _read(env, published)
    assert (listed.issued_at, listed.expires_at) == (env.now, env.now + DAY)


def test_a_published_list_lists_every_index_as_valid(env, published) -> None:
    listed = _read(env, published)
    assert (len(listed.bits), set(listed.bits)) == (128, {0})


def test_an_expired_list_is_read_and_says_so(env, published) -> None:
    listed = _read(env, published, now=env.now + DAY + dt.timedelta(seconds=1))
    assert listed.expired(env.now + DAY + dt.timedelta(seconds=1))


def test_a_list_under_another_root_is_untrusted(env, published) -> None:
    other = pki.new_private_key("ec-p256")
    root = pki.create_root(other, organisation="Other", common_name="Other Root", now=env.now)
    with pytest.raises(tsl.StatusListRejected) as caught:
        _read(env, published, root_der=pki.cert_der(root))
    assert caught.value.code == "status_list_untrusted"


def test_a_list_of_another_deployment_is_untrusted(env, published) -> None:
    with pytest.raises(tsl.StatusListRejected) as caught:
        _read(env, published, uri="https://elsewhere.example/api/v1/status-list")
    assert caught.value.code == "status_list_untrusted"


def _resign(env, *, key, cert_der: bytes, claims=None, typ=tsl.MEDIA_TYPE) -> bytes:
    body = claims or tsl.claims_for(
        uri=list_uri(env.ctx.material.base_url),
        revoked=set(),
        size=64,
        issued_at=env.now,
        valid_for=DAY,
    )
    header = {tsl.HEADER_TYP: typ, tsl.HEADER_X5CHAIN: cert_der}
    return cose.sign_message(key, cert_der=cert_der, claims=body, header=header)


def test_a_list_signed_by_the_root_itself_is_untrusted(env) -> None:
    m = env.ctx.material
    token = _resign(env, key=m.root_key, cert_der=pki.cert_der(m.root_cert))
    with pytest.raises(tsl.StatusListRejected) as caught:
        _read(env, token)
    assert caught.value.code == "status_list_untrusted"


def test_a_list_signed_by_the_time_stamping_key_is_untrusted(env) -> None:
    m = env.ctx.material
    token = _resign(env, key=m.tsa_key, cert_der=pki.cert_der(m.tsa_cert))
    with pytest.raises(tsl.StatusListRejected) as caught:
        _read(env, token)
    assert caught.value.code == "status_list_untrusted"


def test_a_list_naming_the_responder_but_signed_by_another_key_is_untrusted(env) -> None:
    m = env.ctx.material
    token = _resign(env, key=pki.new_private_key("ec-p256"), cert_der=pki.cert_der(m.ocsp_cert))
    with pytest.raises(tsl.StatusListRejected) as caught:
        _read(env, token)
    assert caught.value.code == "status_list_untrusted"


def test_a_token_of_another_type_is_damaged(env) -> None:
    m = env.ctx.material
    token = _resign(env, key=m.ocsp_key, cert_der=pki.cert_der(m.ocsp_cert), typ="application/cwt")
    with pytest.raises(tsl.StatusListRejected) as caught:
        _read(env, token)
    assert caught.value.code == "status_list_damaged"


@pytest.mark.parametrize(
    "claims",
    [
        {2: "u"},
        {2: "u", 6: "yesterday", 4: 1, 65533: {"bits": 1, "lst": b""}},
        {2: "u", 6: 1, 4: 2, 65533: {"bits": 2, "lst": zlib.compress(b"\0")}},
        {2: "u", 6: 1, 4: 2, 65533: {"bits": 1, "lst": b"not deflate"}},
        {2: "u", 6: 1, 4: 10**30, 65533: {"bits": 1, "lst": zlib.compress(b"\0")}},
        {2: "u", 6: 1, 4: 2, 65534: "long", 65533: {"bits": 1, "lst": zlib.compress(b"\0")}},
    ],
    ids=["no-list", "text-date", "two-bits", "not-deflate", "far-future", "text-ttl"],
)
def test_damaged_claims_are_refused(env, claims) -> None:
    m = env.ctx.material
    token = _resign(env, key=m.ocsp_key, cert_der=pki.cert_der(m.ocsp_cert), claims=claims)
    with pytest.raises(tsl.StatusListRejected) as caught:
        _read(env, token)
    assert caught.value.code == "status_list_damaged"


@pytest.mark.parametrize(
    "data",
    [b"", b"\x00" * 10, cbor2.dumps([1, 2, 3]), cbor2.dumps(cbor2.CBORTag(18, [b"", {}, b"", 5]))],
    ids=["empty", "zeros", "array", "number-signature"],
)
def test_bytes_that_are_no_list_are_damaged(env, data: bytes) -> None:
    with pytest.raises(tsl.StatusListRejected) as caught:
        _read(env, data)
    assert caught.value.code == "status_list_damaged"


def test_a_flipped_byte_in_the_list_is_untrusted_or_damaged(env, published) -> None:
    token = bytearray(published)
    token[len(token) // 2] ^= 0x01
    with pytest.raises(tsl.StatusListRejected):
        _read(env, bytes(token))

"""Archives that outlive their keys: renewed twice under a moving clock, a B-LTA certificate
passes pyHanko's AdES long-term validation (ETSI EN 319 102-1, 5.6.3) as of 15 years later; the
same file without renewal does not.

"As of" is a clock moved that far (time-machine): pyHanko's past-validation step reads the
system clock, and its simulation of a future validation assumes the chain is kept up by fiat.
What the verifier brings of its own is what it would fetch then: the deployment's OCSP answer
about the file's newest time-stamping certificate (the hourly job keeps a responder in date).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io

import pytest
import time_machine
from asn1crypto import ocsp as asn1_ocsp
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.dss import DocumentSecurityStore

from keys import pki
from signing import pades, status_list
from signing.archive import renew_archives
from signing.check import check_pdf
from signing.models import CertificateCopy, IssuedCertificate
from signing.pki import (
    active_cert,
    answer_ocsp,
    follow_authorities,
    fresh_responder,
    fresh_tsa,
    load_pki,
    ocsp_for_tsa,
)
from vault.service import renew_issued_copy
from verification import status_list as tsl

YEAR = dt.timedelta(days=365)
MARGIN = 6 * YEAR  # with the TSA's 10-year certificates: a renewal every ~4.5 years


def _run(env, at: dt.datetime):
    with env.sessions() as s:
        done = renew_archives(s, ctx=env.ctx, now=at, margin=MARGIN)
        s.commit()
        return done


def _stamps(pdf: bytes) -> list:
    return list(PdfFileReader(io.BytesIO(pdf)).embedded_timestamp_signatures)


def _lta_at(env, pdf: bytes, at: dt.datetime) -> str:
    """pyHanko's AdES LTA validation (its sub-indication) with the clock at ``at``."""
    with env.sessions() as s:
        fresh_responder(s, keystore=env.ctx.keystore, material=env.ctx.material, now=at)
        s.commit()
    newest = pades.newest_stamp(pdf)
    assert newest is not None
    fetched = ocsp_for_tsa(env.ctx.material, cert_der=newest.tsa_cert, now=at)
    assert fetched is not None
    root = pki.cert_der(env.ctx.material.root_cert)
    with time_machine.travel(at, tick=False):
        return pades.lta_validation(pdf, root=root, fetched=[fetched])


@pytest.fixture
def renewed_twice(env):
    row = env.issue("degree")
    original = env.pdf(row)
    runs = [_run(env, env.now + 4 * YEAR + YEAR // 2), _run(env, env.now + 9 * YEAR)]
    return row, original, runs


def test_each_run_renews_the_due_certificate(renewed_twice) -> None:
    _row, _original, runs = renewed_twice
    assert [(r.checked, r.renewed) for r in runs] == [(1, 1), (1, 1)]


def test_each_renewal_adds_one_document_time_stamp(env, renewed_twice) -> None:
    row, original, _runs = renewed_twice
    assert (len(_stamps(original)), len(_stamps(env.pdf(row)))) == (1, 3)


def test_renewed_twice_it_passes_ades_lta_validation_fifteen_years_on(env, renewed_twice) -> None:
    row, _original, _runs = renewed_twice
    assert _lta_at(env, env.pdf(row), env.now + 15 * YEAR) == "OK"


def test_without_renewal_it_fails_ades_lta_validation_fifteen_years_on(env, renewed_twice) -> None:
    """Its only time-stamp's certificate ended at year 10: nothing proves the signature existed
    while the department's certificate was valid (INDETERMINATE)."""
    _row, original, _runs = renewed_twice
    assert _lta_at(env, original, env.now + 15 * YEAR) == "OUT_OF_BOUNDS_NO_POE"


def test_without_renewal_it_passes_while_its_time_stamp_lasts(env, renewed_twice) -> None:
    _row, original, _runs = renewed_twice
    assert _lta_at(env, original, env.now + 9 * YEAR) == "OK"


def test_a_renewal_adds_no_crl_of_the_root(env, renewed_twice) -> None:
    """A root CRL in the DSS would break the long-term validation (signing.pki.stamp_crls)."""

    row, _original, _runs = renewed_twice
    dss = DocumentSecurityStore.read_dss(PdfFileReader(io.BytesIO(env.pdf(row))))
    assert (len(dss.crls), len(dss.ocsps)) == (0, 6)  # issuance 2, each renewal 2 (old, new TSA)


@pytest.mark.parametrize("which", ["original", "renewed"])
def test_every_copy_is_genuine_in_the_register(env, renewed_twice, which) -> None:
    row, original, _runs = renewed_twice
    pdf = original if which == "original" else env.pdf(row)
    with env.sessions() as s:
        check = check_pdf(s, data=pdf, now=env.now + 9 * YEAR + dt.timedelta(days=1))
    assert check.certificate is not None
    assert check.certificate.serial == row.serial


def test_the_register_keeps_the_hash_of_each_renewed_copy(env, renewed_twice) -> None:
    row, _original, _runs = renewed_twice
    with env.sessions() as s:
        copies = {c.sha256 for c in s.query(CertificateCopy).filter_by(serial=row.serial)}
    assert hashlib.sha256(env.pdf(row)).hexdigest() in copies
    assert len(copies) == 2


def test_a_certificate_not_yet_due_is_only_looked_at(env) -> None:
    env.issue("degree")
    first = _run(env, env.now + YEAR)
    assert (first.checked, first.renewed, _run(env, env.now + YEAR).checked) == (1, 0, 0)


def test_a_damaged_archive_is_set_aside_and_the_others_renewed(env) -> None:

    damaged, kept = env.issue("degree"), env.issue("degree")
    with env.sessions() as s:
        # The register points the damaged one at a file that is no certificate at all.

        renew_issued_copy(
            s,
            ctx=env.ctx.vault,
            owner_id=damaged.holder_id,
            document_id=damaged.document_id,
            data=b"%PDF-1.7 not a signed file",
            now=env.now,
            actor="test",
        )
        s.commit()
    done = _run(env, env.now + 4 * YEAR + YEAR // 2)
    with env.sessions() as s:
        later = s.get(IssuedCertificate, damaged.serial).archive_expires_at
    assert (done.renewed, done.failed) == (1, 1)
    assert len(_stamps(env.pdf(kept))) == 2
    assert later > env.now + 4 * YEAR + YEAR // 2 + MARGIN


def test_another_process_follows_a_rolled_tsa(env, file_keystore) -> None:

    with env.sessions() as s:
        other = load_pki(s, keystore=file_keystore, base_url="http://localhost:8000")
        assert fresh_tsa(
            s,
            keystore=file_keystore,
            material=env.ctx.material,
            now=env.now + 9 * YEAR,
            margin=YEAR + YEAR // 2,
        )
        s.commit()
    with env.sessions() as s:
        followed = [follow_authorities(s, keystore=file_keystore, material=other) for _ in range(2)]
    assert followed == [True, False]
    assert pki.cert_der(other.tsa_cert) == pki.cert_der(env.ctx.material.tsa_cert)


def test_a_tsa_with_years_left_is_kept(env, file_keystore) -> None:

    before = pki.cert_der(env.ctx.material.tsa_cert)
    with env.sessions() as s:
        changed = fresh_tsa(
            s, keystore=file_keystore, material=env.ctx.material, now=env.now, margin=YEAR
        )
    assert not changed
    assert pki.cert_der(env.ctx.material.tsa_cert) == before


def test_a_margin_longer_than_a_tsa_lasts_renews_once_a_day_not_in_a_loop(env) -> None:
    env.issue("degree")
    at = env.now + YEAR
    with env.sessions() as s:
        first = renew_archives(s, ctx=env.ctx, now=at, margin=20 * YEAR)
        again = renew_archives(s, ctx=env.ctx, now=at, margin=20 * YEAR)
        s.commit()
    assert (first.renewed, again.checked) == (1, 0)


FIVE_YEARS = 5 * YEAR + dt.timedelta(days=2)  # the OCSP responder's certificate is past its end


def _status_list_reads(env, at: dt.datetime, *, material=None) -> bool:
    """Whether a status list signed at ``at`` by ``material``'s responder is accepted then."""

    with env.sessions() as s:
        row = status_list.build_status_list(
            s, material=material or env.ctx.material, now=at, valid_for=dt.timedelta(days=1)
        )
        s.rollback()
    try:
        tsl.read_status_list(
            row.token,
            root_der=pki.cert_der(env.ctx.material.root_cert),
            uri=status_list.list_uri(env.ctx.material.base_url),
            now=at,
        )
    except tsl.StatusListRejected:
        return False
    return True


def test_without_the_job_the_responder_signs_nothing_a_verifier_takes_after_five_years(env):
    assert not _status_list_reads(env, env.now + FIVE_YEARS)


def test_the_archive_job_rolls_the_responder_before_it_ends(env) -> None:
    before = pki.cert_der(env.ctx.material.ocsp_cert)
    _run(env, env.now + 5 * YEAR - dt.timedelta(days=30))  # nothing is due: the job still rolls
    assert pki.cert_der(env.ctx.material.ocsp_cert) != before
    assert _status_list_reads(env, env.now + FIVE_YEARS)


def test_a_responder_with_years_left_is_kept(env) -> None:
    before = pki.cert_der(env.ctx.material.ocsp_cert)
    _run(env, env.now + YEAR)
    assert pki.cert_der(env.ctx.material.ocsp_cert) == before


def test_another_process_follows_a_rolled_responder_when_it_signs_a_list(
    env, file_keystore
) -> None:

    with env.sessions() as s:
        other = load_pki(s, keystore=file_keystore, base_url="http://localhost:8000")
    _run(env, env.now + 5 * YEAR - dt.timedelta(days=30))
    with env.sessions() as s:
        status_list.renew_status_list(
            s,
            material=other,
            now=env.now + FIVE_YEARS,
            valid_for=dt.timedelta(days=1),
            keystore=file_keystore,
        )
        s.rollback()
    assert pki.cert_der(other.ocsp_cert) == pki.cert_der(env.ctx.material.ocsp_cert)


def test_the_ocsp_responder_of_another_process_follows_a_roll(env, file_keystore) -> None:


    with env.sessions() as s:
        other = load_pki(s, keystore=file_keystore, base_url="http://localhost:8000")
        department = pki.load_cert(active_cert(s, code="UNI").cert_der)
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(department, env.ctx.material.root_cert, hashes.SHA1())
        .build()
        .public_bytes(serialization.Encoding.DER)
    )
    _run(env, env.now + 5 * YEAR - dt.timedelta(days=30))
    at = env.now + FIVE_YEARS
    with env.sessions() as s:
        der = answer_ocsp(s, material=other, request_der=request, now=at, keystore=file_keystore)
    signer = asn1_ocsp.OCSPResponse.load(der).basic_ocsp_response["certs"][0].dump()
    assert signer == pki.cert_der(env.ctx.material.ocsp_cert)
    assert pki.signs_status(
        pki.cert_der(env.ctx.material.root_cert), signer, now=at
    )


def test_a_list_signed_before_the_responder_rolled_is_signed_again_at_once(env) -> None:

    at = env.now + 5 * YEAR - dt.timedelta(days=30)
    day = dt.timedelta(days=1)
    with env.sessions() as s:
        before = status_list.build_status_list(s, material=env.ctx.material, now=at, valid_for=day)
        s.commit()
        before_token = before.token
    _run(env, at)  # rolls the responder; the list is an hour from due
    with env.sessions() as s:
        after = status_list.renew_status_list(
            s, material=env.ctx.material, now=at + dt.timedelta(minutes=1), valid_for=day
        )
    assert after.token != before_token
    assert _status_list_reads(env, at + dt.timedelta(minutes=1))

"""Certificates Amanat issued: the untouched file passes; tampered copies fail and say why."""

from __future__ import annotations

import io
import re

import pytest
from asn1crypto import keys as asn1_keys
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from keys import pki
from signing.check import check_pdf
from signing.issuance import revoke_certificate
from signing.pades import asn1_cert, run_async
from verification import FailedSub, IndeterminateSub, Indication, verify_pdf
from web.messages import reason_text


@pytest.fixture
def issued(env):
    row = env.issue("degree")
    return row, env.pdf(row), pki.cert_der(env.ctx.material.root_cert)


def test_untouched_certificate_passes(env, issued) -> None:
    row, data, root = issued
    verdict = verify_pdf(data, trust_roots=[root], now=env.now)
    assert verdict.indication is Indication.TOTAL_PASSED, verdict.reasons
    (sig,) = verdict.signatures
    assert sig.pades_level == "B-LTA"
    assert sig.department == "UNI"
    assert sig.revocation == "good"
    with env.sessions() as s:
        result = check_pdf(s, data=data, now=env.now).to_json()
    assert result["indication"] == "TOTAL_PASSED"
    assert result["certificate"]["serial"] == row.serial


def test_revoked_certificate_is_failed_revoked(env, issued) -> None:
    row, data, _root = issued
    with env.sessions() as s:
        revoke_certificate(s, serial=row.serial, reason="Obtained by fraud", now=env.now)
        s.commit()
        result = check_pdf(s, data=data, now=env.now).to_json()
    assert result["indication"] == "TOTAL_FAILED"
    assert result["sub_indication"] == "REVOKED"
    assert result["reasons"][0]["reason"] == "Obtained by fraud"


def _update(data: bytes, change) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _replace_page_content(writer) -> None:
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    stream = generic.StreamObject(stream_data=b"BT /F1 24 Tf 72 700 Td (Forged degree) Tj ET")
    page["/Contents"] = writer.add_object(stream)
    writer.update_container(page)


def _overlay_annotation(writer) -> None:
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    annot = generic.DictionaryObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/Annot"),
            generic.NameObject("/Subtype"): generic.NameObject("/FreeText"),
            generic.NameObject("/Rect"): generic.ArrayObject(
                [generic.NumberObject(n) for n in (70, 600, 400, 640)]
            ),
            generic.NameObject("/Contents"): generic.TextStringObject("Grade: A+"),
        }
    )
    page["/Annots"] = generic.ArrayObject([writer.add_object(annot)])
    writer.update_container(page)


def _add_javascript(writer) -> None:
    action = generic.DictionaryObject(
        {
            generic.NameObject("/S"): generic.NameObject("/JavaScript"),
            generic.NameObject("/JS"): generic.TextStringObject("app.alert('hi')"),
        }
    )
    writer.root["/OpenAction"] = writer.add_object(action)
    writer.update_root()


@pytest.mark.parametrize("change", [_replace_page_content, _overlay_annotation, _add_javascript])
def test_incremental_tampering_fails_and_says_so(env, issued, change) -> None:
    _row, data, root = issued
    verdict = verify_pdf(_update(data, change), trust_roots=[root], now=env.now)
    assert verdict.indication is Indication.TOTAL_FAILED
    assert "changed after it was signed" in " ".join(map(reason_text, verdict.reasons))


def test_zeroed_signature_value_fails(env, issued) -> None:
    _row, data, root = issued
    start = data.index(b"/Contents <") + len(b"/Contents <")
    end = data.index(b">", start)
    body = data[start:end]
    zeroed = data[:start] + body[:200] + b"0" * (len(body) - 200) + data[end:]
    verdict = verify_pdf(zeroed, trust_roots=[root], now=env.now)
    assert verdict.indication is Indication.TOTAL_FAILED


def test_shortened_byte_range_fails(env, issued) -> None:
    _row, data, root = issued
    index = data.index(b"/ByteRange [0 ")
    end = data.index(b"]", index)
    numbers = data[index + len(b"/ByteRange [") : end].split()
    numbers[3] = str(int(numbers[3]) - 100).encode().ljust(len(numbers[3]))
    forged = data[: index + len(b"/ByteRange [")] + b" ".join(numbers) + data[end:]
    verdict = verify_pdf(forged, trust_roots=[root], now=env.now)
    assert verdict.indication is Indication.TOTAL_FAILED


def test_untrusted_root_is_indeterminate(env, issued) -> None:
    _row, data, _root = issued
    other = pki.create_root(
        pki.new_private_key(), organisation="Other", common_name="Other", now=env.now
    )
    verdict = verify_pdf(data, trust_roots=[pki.cert_der(other)], now=env.now)
    assert verdict.indication is Indication.INDETERMINATE
    assert verdict.sub_indication is IndeterminateSub.NO_CERTIFICATE_CHAIN_FOUND


def test_second_signature_by_another_key_on_a_modified_file_fails(env, issued) -> None:
    """An attacker changes the page, drops the certification lock and signs on top: still failed."""


    _row, data, root = issued

    def change(writer) -> None:
        _replace_page_content(writer)
        del writer.root["/Perms"]
        writer.update_root()

    modified = _update(data, change)
    key = pki.new_private_key()
    cert = pki.create_root(key, organisation="Attacker", common_name="Attacker", now=env.now)
    signer = signers.SimpleSigner(
        signing_cert=asn1_cert(cert),
        signing_key=asn1_keys.PrivateKeyInfo.load(pki.private_key_der(key)),
        cert_registry=SimpleCertificateStore(),
    )
    attacker = signers.PdfSigner(signers.PdfSignatureMetadata(field_name="Attacker"), signer=signer)

    async def sign():  # the async API: a browser test may have left an event loop running
        return await attacker.async_sign_pdf(
            IncrementalPdfFileWriter(io.BytesIO(modified), strict=False)
        )

    out = run_async(sign)
    verdict = verify_pdf(out.getvalue(), trust_roots=[root], now=env.now)
    assert verdict.indication is Indication.TOTAL_FAILED
    assert len(verdict.signatures) == 2
    assert "changed" in " ".join(map(reason_text, verdict.reasons))


def _byte_range(data: bytes) -> tuple[int, list[int], int]:
    index = data.index(b"/ByteRange [")
    end = data.index(b"]", index)
    return index, [int(n) for n in data[index + len(b"/ByteRange [") : end].split()], end


def test_entries_smuggled_into_the_signature_gap_fail(env, issued) -> None:
    """The unsigned /Contents gap shrunk to make room for a new dictionary entry: signed bytes
    untouched, the signature still verifies cryptographically, the file parses."""
    _row, data, root = issued
    _index, (_zero, a, b, _c), _end = _byte_range(data)
    gap = data[a:b]
    digits = gap[1:-1]
    payload = b" /AmanatNote (Grade: A+) "
    keep = len(digits) - len(payload)
    keep -= keep % 2
    smuggled = b"<" + digits[:keep] + b">" + payload.ljust(len(gap) - keep - 2)
    forged = data[:a] + smuggled + data[b:]
    assert len(forged) == len(data)
    verdict = verify_pdf(forged, trust_roots=[root], now=env.now)
    assert verdict.indication is Indication.TOTAL_FAILED
    said = " ".join(map(reason_text, verdict.reasons))
    assert "does not cover the whole document" in said, verdict.reasons


def _rebuild_xref(data: bytes, trailer: bytes) -> bytes:
    """Append a fresh classic xref over every object's last definition (what a wrapping attacker
    does so that the moved file parses again)."""

    offsets: dict[int, int] = {}
    for m in re.finditer(rb"(?<![0-9])(\d+) 0 obj", data):
        offsets[int(m.group(1))] = m.start()
    size = max(offsets) + 1
    table = [b"xref\n0 %d\n" % size, b"0000000000 65535 f \n"]
    for n in range(1, size):
        table.append(b"%010d 00000 n \n" % offsets[n] if n in offsets else b"0000000000 65535 f \n")
    start = len(data) + 1
    return (
        data
        + b"\n"
        + b"".join(table)
        + b"trailer\n<< /Size %d %s >>\nstartxref\n%d\n%%%%EOF\n" % (size, trailer, start)
    )


def test_signature_wrapping_that_moves_the_signed_bytes_fails(env) -> None:
    """SWA: the second signed part is moved behind injected bytes (inside the signature
    dictionary, where the unsigned gap is), the byte range is pointed at its new place and the
    cross-reference table rebuilt so that the file parses."""

    row = env.issue("degree", level="B-B")
    data, root = env.pdf(row), pki.cert_der(env.ctx.material.root_cert)
    index, (_zero, a, b, c), end = _byte_range(data)
    root_ref = re.findall(rb"/Root (\d+ 0 R)", data)[-1]
    injected = b" /AmanatNote (Grade: A+, verified by the university) "
    moved = data[:b] + injected + data[b : b + c]
    old = data[index : end + 1]
    new = b"/ByteRange [0 %d %d %d]" % (a, b + len(injected), c)
    assert len(new) <= len(old)
    # pyHanko writes /ByteRange after /Contents: it sits in the moved part.
    shift = len(injected) if index > b else 0
    forged = moved[: index + shift] + new.ljust(len(old)) + moved[end + 1 + shift :]
    forged = _rebuild_xref(forged, b"/Root " + root_ref)
    verdict = verify_pdf(forged, trust_roots=[root], now=env.now)
    assert verdict.indication is Indication.TOTAL_FAILED
    assert verdict.sub_indication is not FailedSub.FORMAT_FAILURE, verdict.reasons
    assert "changed" in " ".join(map(reason_text, verdict.reasons)), verdict.reasons

"""Each file of tests/corpus/pdf-signatures gets the verdict its class demands (its README)."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from verification import (
    HARDER_THAN_ETSI,
    FailedSub,
    IndeterminateSub,
    Indication,
    NotPassed,
    Verdict,
    verify_pdf,
)
from web.messages import reason_text

# In the repository, so that a fresh clone tests itself (sources and licences: SOURCES.md there).
CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "pdf-signatures"
NOW = dt.datetime(2026, 11, 27, tzinfo=dt.UTC)


def _manifest() -> list[dict[str, str]]:
    manifest = CORPUS / "MANIFEST.tsv"
    if not manifest.is_file():
        return [{"file": "<missing>", "expect": "missing", "note": str(manifest)}]
    with manifest.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


TAMPERING_WORDS = ("changed after it was signed", "does not cover", "does not match", "not allow")


@pytest.mark.parametrize("entry", _manifest(), ids=lambda e: e["file"])
def test_corpus_file_gets_the_verdict_of_its_class(entry: dict[str, str]) -> None:
    if entry["expect"] == "missing":
        pytest.fail(
            f"the signed-PDF corpus is missing: expected {entry['note']} (tests/corpus in the repo)"
        )
    verdict = verify_pdf((CORPUS / entry["file"]).read_bytes(), trust_roots=[], now=NOW)
    expect = entry["expect"]
    text = " ".join(map(reason_text, verdict.reasons))
    if expect == "unsigned":
        assert verdict.indication is Indication.TOTAL_FAILED
        assert "no digital signature" in text
    elif expect == "signed-intact":
        assert verdict.indication is not Indication.TOTAL_PASSED
        assert verdict.signatures
        assert all(s.intact and s.valid for s in verdict.signatures)
        assert all(
            s.modification in ("NONE", "LTA_UPDATES", "FORM_FILLING") for s in verdict.signatures
        )
    elif expect == "manipulated":
        assert verdict.indication is Indication.TOTAL_FAILED
        assert any(word in text for word in TAMPERING_WORDS), text
    elif expect == "malformed":
        # Broken: TOTAL_FAILED / FORMAT_FAILURE; encrypted (the signed data cannot be read
        # without its password): INDETERMINATE / SIGNED_DATA_NOT_FOUND.
        assert (verdict.indication, verdict.sub_indication) in (
            (Indication.TOTAL_FAILED, FailedSub.FORMAT_FAILURE),
            (Indication.INDETERMINATE, IndeterminateSub.SIGNED_DATA_NOT_FOUND),
        )
        assert verdict.reasons
    else:
        pytest.fail(f"unknown class {expect!r} in the manifest")


def test_a_verdict_is_not_a_bool() -> None:
    verdict = verify_pdf(b"%PDF-1.4 nothing", trust_roots=[], now=NOW)
    with pytest.raises(TypeError):
        bool(verdict)

    with pytest.raises(NotPassed):
        verdict.require_passed()


@pytest.mark.parametrize(
    "data,reason",
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "not a PDF"),
        (b"%PDF-1.7\n" + b"1 0 obj <<" * 1000, "cannot be read"),
    ],
)
def test_bad_input_gets_a_format_failure(data: bytes, reason: str) -> None:
    verdict = verify_pdf(data, trust_roots=[], now=NOW)
    assert verdict.indication is Indication.TOTAL_FAILED
    assert verdict.sub_indication is FailedSub.FORMAT_FAILURE
    assert reason in " ".join(map(reason_text, verdict.reasons))


@pytest.mark.parametrize(
    ("indication", "sub"),
    [
        (Indication.TOTAL_PASSED, FailedSub.HASH_FAILURE),
        (Indication.TOTAL_FAILED, None),
        (Indication.TOTAL_FAILED, IndeterminateSub.TRY_LATER),
        (Indication.INDETERMINATE, FailedSub.REVOKED),
        (Indication.INDETERMINATE, None),
    ],
)
def test_an_impossible_pair_cannot_be_built(indication: Indication, sub: object) -> None:
    """Sub-indications belong to their main indication (ETSI EN 319 102-1), as in pyHanko."""
    with pytest.raises(ValueError, match="no such verdict"):
        Verdict(indication, sub, (), checked_at="2026-12-06T00:00:00+00:00")  # type: ignore[arg-type]


@pytest.mark.parametrize("sub", sorted(HARDER_THAN_ETSI))
def test_amanat_fails_harder_than_etsi_only_by_its_named_rule(sub: IndeterminateSub) -> None:
    """A constraint failure or an uncertified signer may be TOTAL_FAILED (DESIGN 4.3)."""
    verdict = Verdict(Indication.TOTAL_FAILED, sub, (), checked_at="2026-12-06T00:00:00+00:00")
    assert verdict.sub_indication is sub

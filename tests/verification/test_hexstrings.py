"""verification.hexstrings returns exactly what pyHanko's own hex-string reader returns — the same
object, the same error, the stream left at the same place — at every hex string of every corpus
file and of issued certificates, and on hand-made edge cases."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from pyhanko.pdf_utils import generic

import verification.policy  # noqa: F401  (installs it)
from verification import hexstrings

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "pdf-signatures"
FILES = sorted(CORPUS.rglob("*.pdf"))


def _outcome(reader: Any, data: bytes, at: int) -> tuple[Any, ...]:
    stream = io.BytesIO(data)
    stream.seek(at)
    try:
        value = reader(stream)
    except Exception as exc:  # the same refusal, whatever it is
        return ("error", type(exc), str(exc))
    return ("value", type(value), bytes(value.original_bytes), stream.tell())


def _hex_starts(data: bytes) -> list[int]:
    """Every '<' that pyHanko would read as a hex string ('<<' opens a dictionary)."""
    return [
        i
        for i in range(len(data))
        if data[i] == 0x3C and data[i + 1 : i + 2] != b"<" and (i == 0 or data[i - 1] != 0x3C)
    ]


def _same_everywhere(data: bytes) -> int:
    starts = _hex_starts(data)
    for at in starts:
        ours = _outcome(hexstrings.read_hex_string_from_stream, data, at)
        assert ours == _outcome(hexstrings.original(), data, at), f"differs at offset {at}"
    return len(starts)


def test_the_corpus_has_hex_strings_to_compare() -> None:
    assert len(FILES) >= 40, f"the signed-PDF corpus is missing under {CORPUS}"
    assert sum(len(_hex_starts(p.read_bytes())) for p in FILES) > 1000


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(CORPUS)))
def test_every_hex_string_of_a_corpus_file_reads_the_same(path: Path) -> None:
    _same_everywhere(path.read_bytes())  # some files (an empty one) have none


@pytest.mark.parametrize("level", ["B-B", "B-T", "B-LTA"])
def test_every_hex_string_of_an_issued_certificate_reads_the_same(env, level: str) -> None:
    row = env.issue("degree", level=level)
    assert _same_everywhere(env.pdf(row)) > 10


@pytest.mark.parametrize(
    "text",
    [
        b"<>",
        b"<48656C6C6F>",
        b"<4 8 6\n5\r6\tC\x0c6C\x006F>",
        b"<ABC>",  # odd: a 0 is added
        b"<FEFF00480069>",  # a UTF-16 text string
        b"<48 % a comment\n65>",
        b"<48G5>",
        b"<4865",  # truncated
        b"<" + b"00" * 20000 + b">rest",  # longer than a block
        b"<" + b"0" * 4095 + b">",  # '>' right at a block's edge
        b"<" + b"0" * 4096 + b">",
    ],
)
def test_edge_cases_read_the_same(text: bytes) -> None:
    data = b"xx" + text
    assert _outcome(hexstrings.read_hex_string_from_stream, data, 2) == _outcome(
        hexstrings.original(), data, 2
    )


def test_pyhanko_reads_through_the_fast_reader() -> None:


    assert generic.read_hex_string_from_stream is hexstrings.read_hex_string_from_stream

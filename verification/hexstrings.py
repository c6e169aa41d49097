"""A fast path for pyHanko's reading of PDF hex strings (``<48656C6C6F>``).

pyHanko 0.38 reads a hex string one byte at a time through a generator: a signature's
``/Contents`` (tens of kilobytes of hex) costs tens of thousands of Python steps, a third of all
PDF parsing in a verdict and in the pre-release check of every issued certificate. This reader
takes the common case — hex digits and whitespace up to ``>`` — in blocks, and hands every other
case (a comment, a stray character, a truncated file) back to pyHanko's own function from the
start of the string, so it returns exactly what pyHanko returns and raises exactly what it raises,
with the stream left in the same place. ``tests/verification/test_hexstrings.py`` compares the two
at every hex string of every corpus file and of issued certificates; the same change, proposed
upstream, is in ``docs/upstream/pyhanko-hex-strings.patch``.
"""

from __future__ import annotations

import binascii
from typing import Any

from pyhanko.pdf_utils import generic

_ORIGINAL = generic.read_hex_string_from_stream
_WHITESPACE = b" \n\r\t\f\x00"  # pyhanko.pdf_utils.misc.PDF_WHITESPACE
_HEX_DIGITS = b"0123456789abcdefABCDEF"
_BLOCK = 4096


def read_hex_string_from_stream(stream: Any) -> Any:
    """pyHanko's ``read_hex_string_from_stream``, in blocks for the common case."""
    start = stream.tell()
    stream.read(1)  # the opening '<'
    digits = bytearray()
    consumed = 1
    while True:
        block = stream.read(_BLOCK)
        end = block.find(b">")
        part = block if end < 0 else block[:end]
        clean = part.translate(None, _WHITESPACE)
        if not block or clean.translate(None, _HEX_DIGITS):
            # End of stream, a comment or a character pyHanko refuses: its own code decides.
            stream.seek(start)
            return _ORIGINAL(stream)
        digits += clean
        if end >= 0:
            stream.seek(start + consumed + end + 1)  # just past the '>', as pyHanko leaves it
            break
        consumed += len(block)
    if len(digits) % 2:
        digits += b"0"
    return generic.pdf_string(binascii.unhexlify(bytes(digits)))


def install() -> None:
    """Use the fast reader inside pyHanko (idempotent)."""
    generic.read_hex_string_from_stream = read_hex_string_from_stream


def original() -> Any:
    """pyHanko's own reader (for the equivalence test)."""
    return _ORIGINAL

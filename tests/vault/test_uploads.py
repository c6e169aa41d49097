"""Upload checks at the edge: type by magic bytes, size, names, titles, kinds."""

from __future__ import annotations

import io

import pytest

from vault.errors import UploadRejected, UploadTooLarge
from vault.uploads import LimitedReader, check_upload, sanitize_filename, sniff_media_type

PNG = b"\x89PNG\r\n\x1a\n" + bytes(100)
JPEG = b"\xff\xd8\xff\xe0" + bytes(100)
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + bytes(100)
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"


@pytest.mark.parametrize(
    "head,expected",
    [
        (PDF, "application/pdf"),
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (WEBP, "image/webp"),
        ("Plain text, اردو بھی\n".encode(), "text/plain"),
        (b"MZ\x90\x00\x03\x00\x00\x00", None),
        (b"PK\x03\x04zipfile", None),
        (b"<html>\x00</html>", None),
        (b"\x7fELF\x02\x01\x01", None),
    ],
)
def test_sniffing(head: bytes, expected: str | None) -> None:
    """The type comes from the bytes, not the name."""
    assert sniff_media_type(head) == expected


def test_text_cut_inside_a_multibyte_character_is_still_text() -> None:
    """The sniff window may end in the middle of an Urdu letter."""
    text = ("ا" * 1500).encode()
    assert sniff_media_type(text[:2047]) == "text/plain"


def _check(data: bytes, name: str = "file.pdf", **kwargs) -> object:
    return check_upload(
        io.BytesIO(data),
        filename=name,
        title=kwargs.pop("title", ""),
        kind=kwargs.pop("kind", ""),
        max_bytes=kwargs.pop("max_bytes", 10_000),
        **kwargs,
    )


def test_png_named_pdf_is_stored_as_png() -> None:
    """A PNG called .pdf is a PNG: the name gets the right extension."""
    upload = _check(PNG, "scan.pdf")
    assert upload.media_type == "image/png"
    assert upload.filename == "scan.png"


def test_executable_is_refused() -> None:
    """Types outside the list are refused with a message naming the accepted ones."""
    with pytest.raises(UploadRejected, match="PDF, PNG, JPEG, WebP or text") as info:
        _check(b"MZ\x90\x00" + bytes(100), "setup.pdf")
    assert info.value.code == "unsupported_type"


def test_empty_file_is_refused() -> None:
    with pytest.raises(UploadRejected, match="empty"):
        _check(b"")


def test_declared_size_over_limit_is_refused_before_reading() -> None:
    """A declared length over the limit is refused without touching the stream."""

    class Unreadable(io.BytesIO):
        def read(self, *a):  # pragma: no cover - must not be called
            raise AssertionError("stream was read")

    with pytest.raises(UploadTooLarge):
        check_upload(
            Unreadable(), filename="x.pdf", title="", kind="", max_bytes=10, declared_size=11
        )


def test_limited_reader_stops_at_the_limit() -> None:
    reader = LimitedReader(io.BytesIO(bytes(100)), 50)
    reader.read(40)
    with pytest.raises(UploadTooLarge):
        reader.read(40)


@pytest.mark.parametrize(
    "name,expected",
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\windows\\system32\\evil.pdf", "evil.pdf"),
        ("<script>alert(1)</script>.pdf", "script.pdf"),
        ("report\r\nSet-Cookie: x=1.pdf", "report_Set-Cookie_ x_1.pdf"),
        ("", "document.pdf"),
        ("....pdf", "pdf.pdf"),
        ("ڈگری سرٹیفکیٹ.pdf", "ڈگری سرٹیفکیٹ.pdf"),
        ("a" * 300 + ".pdf", "a" * 100 + ".pdf"),
        ("invoice.pdf.exe", "invoice.pdf.pdf"),
    ],
)
def test_hostile_file_names_are_sanitised(name: str, expected: str) -> None:
    """Paths, control characters, markup and overlong names never survive."""
    assert sanitize_filename(name, media_type="application/pdf") == expected


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(UploadRejected, match="kind"):
        _check(PDF, kind="passport-scan")


def test_title_defaults_to_the_file_name_and_is_bounded() -> None:
    assert _check(PDF, "Matric Result.pdf").title == "Matric Result"
    with pytest.raises(UploadRejected):
        _check(PDF, title="x" * 201)


def test_check_does_not_consume_the_stream() -> None:
    stream = io.BytesIO(PDF)
    check_upload(stream, filename="a.pdf", title="", kind="", max_bytes=1000)
    assert stream.read() == PDF

"""Checking uploads once, at the edge: size, type by magic bytes, file name, title, kind.

Services receive only an :class:`Upload` built here.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import BinaryIO

from vault.errors import UploadRejected, UploadTooLarge

SNIFF_BYTES = 2048


class DocumentKind(StrEnum):
    """What a document is (chosen by the citizen, or set by the issuer)."""

    ID_CARD = "id-card"
    DEGREE = "degree"
    LAND_RECORD = "land-record"
    PAY_SLIP = "pay-slip"
    CERTIFICATE = "certificate"
    OTHER = "other"


MEDIA_TYPES = {
    "application/pdf": ".pdf",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/webp": ".webp",
    "text/plain": ".txt",
}


@dataclass(frozen=True)
class Upload:
    """A checked upload: safe name, sniffed media type, title and kind."""

    filename: str
    media_type: str
    title: str
    kind: DocumentKind


def sniff_media_type(head: bytes) -> str | None:
    """The media type from the first bytes, for the types the vault accepts; else None."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if _looks_like_text(head):
        return "text/plain"
    return None


def _looks_like_text(head: bytes) -> bool:
    if not head:
        return False
    sample = head
    # The sniff window may cut a multi-byte character in two; drop a partial tail.
    for cut in range(4):
        try:
            text = sample[: len(sample) - cut].decode("utf-8")
            break
        except UnicodeDecodeError:
            continue
    else:
        return False
    return all(ch in "\t\n\r\f" or unicodedata.category(ch) != "Cc" for ch in text)


_UNSAFE = re.compile(r"[^\w.\- ()]+", re.UNICODE)


def sanitize_filename(name: str, *, media_type: str) -> str:
    """A file name safe to show and to put in a Content-Disposition header.

    Path parts, control and shell characters are dropped, the length is bounded, and the
    extension is the one of the sniffed type (a PNG called ``x.pdf`` becomes ``x.png``).
    """
    base = os.path.basename((name or "").replace("\\", "/"))
    base = unicodedata.normalize("NFC", base)
    stem = os.path.splitext(base)[0]
    stem = _UNSAFE.sub("_", stem).strip(" ._")[:100] or "document"
    return stem + MEDIA_TYPES[media_type]


def clean_title(title: str, *, fallback: str) -> str:
    """A document title: NFC, single spaces, no control characters, 1-200 characters."""
    text = " ".join(unicodedata.normalize("NFC", title or "").split())
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cc")
    text = text or fallback
    if len(text) > 200:
        raise UploadRejected("A title has at most 200 characters.", code="bad_title")
    return text


def check_upload(
    stream: BinaryIO,
    *,
    filename: str,
    title: str,
    kind: str,
    max_bytes: int,
    declared_size: int | None = None,
) -> Upload:
    """Validate an upload without consuming it (the stream is rewound)."""
    if declared_size is not None and declared_size > max_bytes:
        raise UploadTooLarge(max_bytes)
    try:
        doc_kind = DocumentKind(kind or DocumentKind.OTHER)
    except ValueError:
        raise UploadRejected("Unknown document kind.", code="bad_kind") from None
    head = stream.read(SNIFF_BYTES)
    stream.seek(0)
    if not head:
        raise UploadRejected("The file is empty.", code="empty")
    media_type = sniff_media_type(head)
    if media_type is None:
        raise UploadRejected(
            "This type of file is not accepted. Please upload a PDF, PNG, JPEG, WebP or text file.",
            code="unsupported_type",
        )
    safe = sanitize_filename(filename, media_type=media_type)
    return Upload(
        filename=safe,
        media_type=media_type,
        kind=doc_kind,
        title=clean_title(title, fallback=os.path.splitext(safe)[0]),
    )


class LimitedReader:
    """Wraps a stream; raises UploadTooLarge once more than ``limit`` bytes have been read."""

    def __init__(self, stream: BinaryIO, limit: int) -> None:
        self._stream = stream
        self._limit = limit
        self.count = 0

    def read(self, n: int = -1) -> bytes:
        data = self._stream.read(n)
        self.count += len(data)
        if self.count > self._limit:
            raise UploadTooLarge(self._limit)
        return data

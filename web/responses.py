"""Answers that carry a citizen's decrypted document (one place sets their caching and CSP)."""

from __future__ import annotations

from flask import Response, send_file

from vault import service


def send_opened(opened: service.OpenedDocument, *, download: bool) -> Response:
    """A decrypted document as a response: shown in the browser, or as a download."""
    response = send_file(
        opened.file,
        mimetype=opened.version.media_type,
        as_attachment=download,
        download_name=opened.version.filename,
        max_age=0,
        conditional=False,
        etag=False,
    )
    response.headers["Cache-Control"] = "no-store"
    if download or opened.version.media_type != "application/pdf":
        # Uploaded bytes must never run as a page of this origin (PDFs shown inline keep the
        # browser's own viewer).
        response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    return response

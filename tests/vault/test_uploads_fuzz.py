"""Upload checks over any input: a safe Upload or UploadRejected, never anything else."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st

from vault.errors import UploadRejected
from vault.uploads import MEDIA_TYPES, check_upload, sanitize_filename


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300), st.text(max_size=60), st.text(max_size=220), st.text(max_size=12))
def test_any_upload_is_accepted_safely_or_rejected(
    data: bytes, filename: str, title: str, kind: str
) -> None:
    try:
        upload = check_upload(
            io.BytesIO(data), filename=filename, title=title, kind=kind, max_bytes=10**6
        )
    except UploadRejected as exc:
        assert exc.code
        return
    assert upload.media_type in MEDIA_TYPES
    assert 1 <= len(upload.title) <= 200


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=120))
def test_a_sanitized_filename_never_leaves_its_folder_or_breaks_a_header(name: str) -> None:
    safe = sanitize_filename(name, media_type="application/pdf")
    assert "/" not in safe
    assert "\\" not in safe
    assert not safe.startswith(".")
    assert not any(ord(c) < 0x20 or c in '"\r\n' for c in safe)
    assert safe.endswith(".pdf")

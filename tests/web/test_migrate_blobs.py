"""Moving an instance's blobs from the file store to S3 (a real Swift): every document opens
from the new store, and a second run copies nothing (resumable)."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.web.test_backup import ISSUE, _documents, _env, _ok


def test_blobs_move_to_s3_and_a_second_run_copies_nothing(
    tmp_path: Path, db_url: str, swift_s3: dict[str, str]
) -> None:
    env = _env(tmp_path, db_url)
    _ok(env, "init", "--demo")
    for degree in ("BSc Physics", "MSc Physics"):
        _ok(env, *ISSUE, "--field", f"degree={degree}")
    before = _documents(env)
    target = f"s3://amanat-tests/migrated-{uuid.uuid4().hex[:10]}"
    first = _ok(env, "vault", "migrate-blobs", "--to", target)
    assert "2 copied, 0 were there already" in first
    again = _ok(env, "vault", "migrate-blobs", "--to", target)
    assert "0 copied, 2 were there already" in again
    moved = {**env, "AMANAT_BLOBSTORE": target}
    assert _documents(moved) == before  # every document opens from S3, byte for byte

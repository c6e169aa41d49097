"""Static files sent gzip-compressed to a browser that accepts it: on a slow link the script and
the style sheet are most of a first visit (app.js is 33 KB as written, about 9 KB compressed).

Each file is compressed once per process, at the highest level, and kept in memory (they are
few and small); the same bytes go to every client. Pages themselves are not compressed here: an
HTML page carries a CSRF token beside what a visitor typed, and compressing both together is
what the BREACH attack measures. Fonts (WOFF2) are compressed already.
"""

from __future__ import annotations

import functools
import gzip
from pathlib import Path

from flask import Response, request

COMPRESSIBLE = (".js", ".css", ".svg", ".json", ".txt")


@functools.lru_cache(maxsize=64)
def _gzipped(path: str, version: str) -> bytes:
    """The file's bytes, gzip level 9 (``version`` keys the cache to its content)."""
    return gzip.compress(Path(path).read_bytes(), compresslevel=9, mtime=0)


def compress_static(response: Response, *, folder: str, filename: str, version: str) -> None:
    """Send a whole static file (200) compressed, when it is text and the client takes gzip."""
    response.vary.add("Accept-Encoding")
    if (
        response.status_code != 200
        or not filename.endswith(COMPRESSIBLE)
        or not version
        or request.accept_encodings.quality("gzip") <= 0  # Werkzeug reads q= and *
    ):
        return
    data = _gzipped(str(Path(folder) / filename), version)
    response.direct_passthrough = False
    response.set_data(data)
    response.headers["Content-Encoding"] = "gzip"
    etag, weak = response.get_etag()
    if etag:
        response.set_etag(f"{etag}-gzip", weak=bool(weak))

"""A per-process fixed-window limiter for the public verification API.

Sign-in limits live in the database (every worker must share them: they stop guessing). The public
API only needs to stop floods, and a database write per request would cost more than the
verification itself; so each worker counts on its own (the effective limit is per worker).
"""

from __future__ import annotations

import threading
import time

from identity.errors import RateLimited

_MAX_KEYS = 100_000


class WindowLimiter:
    """At most ``limit`` hits per key per 60-second window, in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[int, int]] = {}

    def hit(self, key: str, *, limit: int) -> None:
        """Count a hit; RateLimited once the window is full."""
        window = int(time.monotonic() // 60)
        with self._lock:
            if len(self._counts) > _MAX_KEYS:
                self._counts = {k: v for k, v in self._counts.items() if v[0] == window}
            start, count = self._counts.get(key, (window, 0))
            if start != window:
                start, count = window, 0
            if count >= limit:
                raise RateLimited("Too many requests.", code="too_many_requests")
            self._counts[key] = (start, count + 1)

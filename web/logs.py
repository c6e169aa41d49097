"""Service logs: JSON lines on stderr, formatted and written off the request thread.

The request thread only appends the record to a bounded in-process buffer (and notes the request
id, which lives in the request's context); a writer thread wakes every 50 ms, formats what
waits and writes it to stderr in one write. No thread is woken per line (with a queue and a
listener woken on each put, the thread switches cost as much as the formatting saved).

The writer is per process: a forked worker starts its own. A clean exit writes what waits. If the
buffer is ever full (stderr blocked), lines are dropped and counted, and the next batch says how
many were lost, rather than requests waiting for the log.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import sys
import threading
from collections import deque
from typing import Any

from flask import g, has_request_context

QUEUE_LINES = 10_000
_FIELDS = ("request_id", "method", "path", "status", "ms")


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line, with the request id when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in _FIELDS:
            if getattr(record, key, None) is not None:
                entry[key] = getattr(record, key)
        if "request_id" not in entry and has_request_context() and g.get("request_id"):
            # Error and warning lines name the request they happened in, like the access line.
            entry["request_id"] = g.request_id
        if record.exc_info and record.exc_info[0] is not None:
            entry["exception"] = record.exc_info[0].__name__
        return json.dumps(entry)


class RequestQueueHandler(logging.Handler):
    """Keeps records as they are in a bounded buffer: nothing is formatted or written on the
    request thread, and nothing wakes a thread per line (the writer drains in batches)."""

    def __init__(self, limit: int = QUEUE_LINES) -> None:
        super().__init__()
        self.limit = limit
        self.pending: deque[logging.LogRecord] = deque()
        self.dropped = 0

    def emit(self, record: logging.LogRecord) -> None:
        # Only what exists on this thread alone: the request id (g is per request context).
        if getattr(record, "request_id", None) is None and has_request_context():
            record.request_id = g.get("request_id")
        if len(self.pending) >= self.limit:
            self.dropped += 1
            return
        self.pending.append(record)

    def drain(self) -> list[logging.LogRecord]:
        """Take what waits (deque pops are atomic: no lock against the request threads)."""
        taken = []
        while self.pending:
            taken.append(self.pending.popleft())
        return taken


class _Writer:
    """Formats a batch of records and writes them to stderr in one write."""

    def __init__(self, source: RequestQueueHandler) -> None:
        self._source = source
        self._format = JsonLogFormatter().format

    def write(self, records: list[logging.LogRecord]) -> None:
        dropped, self._source.dropped = self._source.dropped, 0
        if dropped:
            records = [
                logging.LogRecord(
                    "amanat.logs", logging.WARNING, __file__, 0, "log lines dropped: %d",
                    (dropped,), None,
                ),
                *records,
            ]  # fmt: skip
        if not records:
            return
        # Whatever stderr is now (a test harness or a daemon may replace it after start-up).
        stream = sys.stderr
        try:
            stream.write("".join(self._format(r) + "\n" for r in records))
            stream.flush()
        except (OSError, ValueError):
            pass  # a closed stderr loses the lines, never the request


class _Pipeline:
    """The handler on the ``amanat`` logger and the thread that writes for it."""

    INTERVAL = 0.05  # seconds between batches: a line reaches stderr within this

    def __init__(self) -> None:
        self.handler = RequestQueueHandler()
        self._writer = _Writer(self.handler)
        self._reset()
        os.register_at_fork(after_in_child=self._after_fork)
        atexit.register(self.stop)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.start()

    def start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._stop = threading.Event()
                self._thread = threading.Thread(target=self._run, name="amanat-logs", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        stop = self._stop
        while not stop.wait(self.INTERVAL):
            self._writer.write(self.handler.drain())

    def flush(self) -> None:
        """Write every waiting line now."""
        with self._lock:
            self._writer.write(self.handler.drain())

    def stop(self) -> None:
        """Stop the thread, then write what waits."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        self.flush()

    def _after_fork(self) -> None:
        # The parent's thread does not exist here; the parent writes its own waiting lines.
        self.handler.pending = deque()
        self._reset()


_pipeline: _Pipeline | None = None


def configure_logging(level: str) -> None:
    """JSON lines on stderr for the ``amanat`` loggers at ``level``, through the queue (once)."""
    global _pipeline
    root = logging.getLogger("amanat")
    if _pipeline is None:
        _pipeline = _Pipeline()
    if _pipeline.handler not in root.handlers:
        root.addHandler(_pipeline.handler)
        root.propagate = False
    root.setLevel(level.upper())


def flush_logs() -> None:
    """Write every waiting line now (a test, or a process about to exec)."""
    if _pipeline is not None:
        _pipeline.flush()

"""Fixtures for the web tests: an app on the test database with a fixed, movable clock."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import Engine

from amanat.settings import Settings
from keys.stores import FileKeyStore
from web.app import create_app
from web.runtime import build_runtime
from web.tasks import drain, task_engine


@dataclass
class Clock:
    """A clock the test moves by hand."""

    value: dt.datetime = field(
        default_factory=lambda: dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
    )

    def __call__(self) -> dt.datetime:
        return self.value

    def advance(self, **kwargs: Any) -> None:
        self.value += dt.timedelta(**kwargs)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(
    settings: Settings, engine: Engine, file_keystore: FileKeyStore, clock: Clock
) -> Iterator[Flask]:
    rt = build_runtime(settings, engine=engine, keystore=file_keystore, clock=clock)
    yield create_app(runtime_=rt, test_config={"TESTING": True})
    rt.close()


def recorded(client: FlaskClient) -> None:
    """Write the verifications the app has buffered (its thread would within a second)."""
    recorder = client.application.extensions["amanat"].recorder
    assert recorder is not None
    assert recorder.flush(), "the buffered verifications could not be written"


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def csrf_of(client: FlaskClient, path: str = "/login") -> str:
    """Load a page and return its CSRF token."""
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


Signer = Callable[..., Any]


def run_jobs(app: Flask) -> int:
    """Run every job the app has put on its task queue, here, on the app's own runtime (a worker
    process would take them the same way); how many ran."""

    return drain(task_engine(app.extensions["amanat"].settings), app=app)

"""Helpers for driving the web app through its HTTP interface."""

from __future__ import annotations

import io
from typing import Any

from flask.testing import FlaskClient

from tests.softauthn import SoftAuthenticator
from tests.web.conftest import csrf_of


def post_json(client: FlaskClient, path: str, body: dict[str, Any], csrf: str) -> Any:
    return client.post(path, json=body, headers={"X-CSRF-Token": csrf})


def register(
    client: FlaskClient,
    *,
    name: str = "Ayesha Khan",
    cnic: str = "35202-1234567-1",
    authenticator: SoftAuthenticator | None = None,
) -> SoftAuthenticator:
    """Register a citizen with a software passkey; the client ends up signed in."""
    auth = authenticator or SoftAuthenticator()
    csrf = csrf_of(client, "/register")
    begin = post_json(client, "/register/begin", {"name": name, "cnic": cnic}, csrf)
    assert begin.status_code == 200, begin.get_data(as_text=True)
    data = begin.get_json()
    done = post_json(
        client,
        "/register/complete",
        {
            "token": data["token"],
            "credential": auth.register(data["options"]),
            "passkey_name": "Phone",
        },
        csrf,
    )
    assert done.status_code == 200, done.get_data(as_text=True)
    return auth


def sign_in(client: FlaskClient, auth: SoftAuthenticator, **assert_kwargs: Any) -> Any:
    """Usernameless passkey sign-in; returns the completion response."""
    csrf = csrf_of(client, "/login")
    begin = post_json(client, "/login/begin", {}, csrf).get_json()
    return post_json(
        client,
        "/login/complete",
        {"token": begin["token"], "credential": auth.assert_(begin["options"], **assert_kwargs)},
        csrf,
    )


def upload(client: FlaskClient, data: bytes, filename: str = "degree.pdf", **form: str) -> Any:

    csrf = csrf_of(client, "/vault")
    return client.post(
        "/vault",
        data={"file": (io.BytesIO(data), filename), "csrf_token": csrf, **form},
        content_type="multipart/form-data",
        headers={"X-Requested-With": "fetch"},
    )

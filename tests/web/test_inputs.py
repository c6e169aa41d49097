"""Raw request input every view shares: redirect targets and JSON bodies (issue: no 500s)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from audit.models import AuditKey
from keys import pki
from web.inputs import MAX_JSON_DEPTH, form_fields, joined_date, json_depth, local_path


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "/\t/evil.example",
        "/\r/evil.example",
        "/\n/evil.example",
        "/\\evil.example",
        "/ /evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "evil.example",
        "/\x00",
        "",
        None,
    ],
)
def test_anything_but_a_path_on_this_site_falls_back(target) -> None:
    assert local_path(target, "/home") == "/home"


@pytest.mark.parametrize("target", ["/", "/vault", "/verify?serial=AM-1", "/a/b#c", "/%2F%2Fx"])
def test_paths_on_this_site_are_kept(target) -> None:
    assert local_path(target) == target


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=40))
def test_no_target_leaves_the_site(text) -> None:
    """Whatever comes in, the answer is a single-slash path with no control character."""
    out = local_path(text, "/")
    assert out.startswith("/")
    assert not out.startswith("//")
    assert not any(c.isspace() or ord(c) < 0x20 or c == "\\" for c in out)


@pytest.mark.parametrize("bad", ["/%09/evil.example", "/%0d/evil.example", "/%0a/x", "//x"])
def test_language_switch_never_redirects_off_site(client, bad) -> None:
    r = client.get(f"/lang/ur?next={bad}")
    assert r.status_code == 302
    assert r.headers["Location"] == "/"


def test_sign_in_page_drops_a_next_with_a_line_break(client) -> None:
    r = client.get("/login?next=/%0d%0aSet-Cookie:x=1")
    assert r.status_code == 200
    assert "Set-Cookie:x" not in r.get_data(as_text=True)


@pytest.mark.parametrize(
    ("data", "depth"),
    [(b"{}", 1), (b'{"a":[1,{"b":[]}]}', 4), (b'"[[[[["', 0), (b'["\\"[[["]', 1), (b"7", 0)],
)
def test_json_depth_is_measured_outside_strings(data, depth) -> None:
    assert json_depth(data) == depth


@pytest.mark.parametrize(
    "path", ["/login/begin", "/register/begin", "/api/v1/verify-qr", "/shares/confirm"]
)
def test_json_nested_1000_deep_is_a_400(client, path) -> None:
    body = "[" * 1000 + "]" * 1000
    r = client.post(path, data=body, content_type="application/json")
    assert 400 <= r.status_code < 500


def test_json_just_inside_the_depth_limit_still_parses(app) -> None:
    body = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert app.json.loads(body) == json.loads(body)


def test_an_oversized_json_body_is_a_400(client) -> None:
    body = json.dumps({"text": "x" * (300 * 1024)})
    r = client.post("/api/v1/verify-qr", data=body, content_type="application/json")
    assert r.status_code == 400


def test_a_wrong_method_names_the_allowed_ones(client) -> None:
    r = client.post("/api/v1/trust-list")
    assert r.status_code == 405
    assert "GET" in r.headers.get("Allow", "")


@pytest.mark.parametrize(
    "query", ["from=9223372036854775808&to=1", "from=1&to=-1", "from=1&to=99999999999999999999"]
)
def test_tree_sizes_beyond_64_bits_are_a_400(client, query) -> None:
    r = client.get(f"/api/v1/ledger/consistency?{query}")
    assert r.status_code == 400
    assert r.get_json()["error"]


def test_a_swapped_ledger_key_makes_the_tree_head_unavailable_not_a_500(app, client) -> None:
    """A database whose ledger key was replaced is an integrity failure: 503, no head given out."""


    assert client.get("/api/v1/ledger/tree-head").status_code == 200
    with app.extensions["amanat"].sessions() as s:
        s.execute(update(AuditKey).values(public_key=pki.public_key_der(pki.new_private_key())))
        s.commit()
    res = client.get("/api/v1/ledger/tree-head")
    assert res.status_code == 503
    assert res.get_json()["error"] == "ledger_unavailable"


@pytest.mark.parametrize(
    ("form", "joined"),
    [
        ({"d-day": "7", "d-month": "3", "d-year": "2001"}, "2001-03-07"),
        ({"d-day": " 27 ", "d-month": "12", "d-year": "1999"}, "1999-12-27"),
        ({"d": "2001-03-14", "d-day": "1"}, "2001-03-14"),  # the whole field (API, old form)
        ({"d-day": "", "d-month": "", "d-year": ""}, ""),
        ({"d-day": "x", "d-month": "3", "d-year": "2001"}, "2001-3-x"),  # refused by the check
    ],
)
def test_a_dates_three_boxes_are_joined_as_iso(form: dict[str, str], joined: str) -> None:
    assert joined_date(form, "d") == joined


def test_form_fields_join_dates_and_leave_out_blanks() -> None:
    form = {
        "f_name": "Ayesha",
        "f_date_of_birth-day": "7",
        "f_date_of_birth-month": "3",
        "f_date_of_birth-year": "2001",
        "f_place": " ",
        "citizen": "35202-1234567-1",
    }
    assert form_fields(form) == {"name": "Ayesha", "date_of_birth": "2001-03-07"}

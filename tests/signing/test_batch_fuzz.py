"""Any bytes as a CSV batch: a list of checked rows or a clear InvalidRequest, never a crash."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from signing.batch import parse_batch
from signing.errors import InvalidRequest

_HEADER = b"citizen,type,name,degree,year,grade\n"
_CELL = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_give_rows_or_a_clear_error(data: bytes) -> None:
    try:
        rows = parse_batch(data, department="UNI")
    except InvalidRequest as exc:
        assert str(exc)
        return
    assert all((r.request is None) != (r.error is None) for r in rows)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_CELL, max_size=8), max_size=6))
def test_any_cells_under_a_good_header_are_judged_row_by_row(table: list[list[str]]) -> None:
    body = "\n".join(",".join(c.replace(",", ";") for c in row) for row in table)
    try:
        rows = parse_batch(_HEADER + body.encode(), department="UNI")
    except InvalidRequest as exc:
        assert str(exc)
        return
    assert all(r.line >= 2 for r in rows)

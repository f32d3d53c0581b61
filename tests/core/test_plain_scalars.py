"""``to_plain`` turns the core's values into JSON-ready data: scalars kept with their
type, non-finite floats as None, enums as their values, dates as ISO text, containers
as lists and string-keyed dicts."""

from __future__ import annotations

import json
import math
from datetime import date
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from daemon.core.models import Right
from daemon.core.plain import to_plain

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),  # NaN and infinities included
    st.text(max_size=5),
    st.sampled_from(Right),
    st.dates(),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(st.text(max_size=3), inner, max_size=4),
    ),
    max_leaves=20,
)


def _expected(value: Any) -> Any:
    if isinstance(value, Right):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list | tuple):
        return [_expected(v) for v in value]
    if isinstance(value, dict):
        return {k: _expected(v) for k, v in value.items()}
    return value


@given(VALUES)
def test_plain_values_are_json_ready_and_keep_scalar_types(value: Any) -> None:
    """Every value comes out as the contract says, each scalar with its exact type (a
    bool stays a bool, an enum becomes a plain str), and the result dumps as strict JSON."""
    got = to_plain(value)
    want = _expected(value)
    assert got == want

    def types(v: Any) -> Any:
        if isinstance(v, list):
            return [types(x) for x in v]
        if isinstance(v, dict):
            return {k: types(x) for k, x in v.items()}
        return type(v)

    assert types(got) == types(want)
    json.dumps(got, allow_nan=False)

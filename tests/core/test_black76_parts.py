"""The one-output Black-76 kernels equal the general ``black76`` bit for bit.

``black76_parts.black76_price`` (the stress set's repricing) and ``black76_delta`` (the
skew's put deltas) repeat lines of ``pricing._greeks``; the oracle is the general call on
the same arrays, compared exactly (NaN where it gives NaN, the sign of a zero included),
over ordinary options and the edges the general path treats apart: T <= 0, a zero vol (the
limit at, in and out of the money), a negative vol (NaN), a strike or forward of 0.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.black76_parts import black76_delta, black76_price
from daemon.core.pricing import black76

_OPTION = st.tuples(
    st.one_of(st.floats(0.5, 8000.0), st.just(0.0), st.just(100.0)),  # F
    st.one_of(st.floats(0.5, 8000.0), st.just(0.0), st.just(100.0)),  # K
    st.one_of(st.floats(-0.1, 3.0), st.just(0.0)),  # T, years
    st.floats(-0.02, 0.1),  # r
    st.one_of(st.floats(-0.5, 3.0), st.just(0.0)),  # sigma
    st.booleans(),  # call
)

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _arrays(options: list[tuple[float, float, float, float, float, bool]]) -> Arrays:
    columns = list(zip(*options, strict=True))
    f, k, t, r, sigma = (np.array(column, dtype=np.float64) for column in columns[:5])
    return f, k, t, r, sigma, np.array(columns[5], dtype=np.bool_)


def _same(got: np.ndarray, expected: np.ndarray) -> bool:
    return np.array_equal(got, expected, equal_nan=True) and np.array_equal(
        np.signbit(got), np.signbit(expected)
    )


@settings(max_examples=300, deadline=None)
@given(options=st.lists(_OPTION, min_size=1, max_size=40))
def test_price_and_delta_kernels_are_black76s(
    options: list[tuple[float, float, float, float, float, bool]],
) -> None:
    """Every price and delta equals black76's exactly."""
    arrays = _arrays(options)
    with np.errstate(over="ignore"):  # a vol of 1e-300 overflows d1 in both, as it may
        general = black76(*arrays)
        price, delta = black76_price(*arrays), black76_delta(*arrays)
    assert _same(price, np.asarray(general.price, dtype=np.float64))
    assert _same(delta, np.asarray(general.delta, dtype=np.float64))


def test_the_edges_take_their_limits() -> None:
    """Hand-picked edges: the discounted intrinsic and its delta at zero vol, the
    undiscounted one at T <= 0, NaN for a negative vol; and black76 agrees."""
    arrays = (
        np.array([110.0, 90.0, 100.0, 120.0, 100.0]),  # F
        np.array([100.0, 100.0, 100.0, 100.0, 100.0]),  # K
        np.array([0.5, 0.5, -0.1, 0.0, 0.5]),  # T
        np.full(5, 0.03),  # r
        np.array([0.0, 0.0, 0.2, 0.2, -0.1]),  # sigma
        np.array([True, True, False, True, True]),  # call
    )
    disc = np.exp(-0.03 * 0.5)
    price, delta = black76_price(*arrays), black76_delta(*arrays)
    assert price[0] == disc * 10.0 and price[1] == 0.0  # in / out of the money
    assert price[2] == 0.0 and price[3] == 20.0  # expired: undiscounted intrinsic
    assert delta[0] == disc and delta[1] == 0.0 and delta[2] == -0.5 and delta[3] == 1.0
    assert np.isnan(price[4]) and np.isnan(delta[4])
    general = black76(*arrays)
    assert _same(price, np.asarray(general.price, dtype=np.float64))
    assert _same(delta, np.asarray(general.delta, dtype=np.float64))

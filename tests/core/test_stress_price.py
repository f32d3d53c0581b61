"""The stress set's price-only Black-76 equals the general ``black76(..).price`` bit for bit.

``stress.black76_price`` repeats the price lines of ``pricing._greeks`` for the stress
repricing (no greeks, no argument handling); the oracle is the general call on the same
arrays, compared exactly (NaN where it gives NaN), over ordinary legs and the edges the
general path treats apart: T <= 0, a zero vol (the intrinsic limit, at, in and out of
the money), a negative vol (NaN), and a strike or forward of 0.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.pricing import black76
from daemon.core.stress import black76_price

_LEG = st.tuples(
    st.one_of(st.floats(0.5, 8000.0), st.just(0.0), st.just(100.0)),  # F
    st.one_of(st.floats(0.5, 8000.0), st.just(0.0), st.just(100.0)),  # K
    st.one_of(st.floats(-0.1, 3.0), st.just(0.0)),  # T, years
    st.floats(-0.02, 0.1),  # r
    st.one_of(st.floats(-0.5, 3.0), st.just(0.0)),  # sigma
    st.booleans(),  # call
)


@settings(max_examples=300, deadline=None)
@given(legs=st.lists(_LEG, min_size=1, max_size=40))
def test_price_only_kernel_is_black76_price(
    legs: list[tuple[float, float, float, float, float, bool]],
) -> None:
    """Every element equals black76's price exactly, NaN for NaN, zero's sign included."""
    columns = list(zip(*legs, strict=True))
    f, k, t, r, sigma = (np.array(column, dtype=np.float64) for column in columns[:5])
    call = np.array([leg[5] for leg in legs], dtype=np.bool_)
    with np.errstate(over="ignore"):  # a vol of 1e-300 overflows d1 in both, as it may
        expected = np.asarray(black76(f, k, t, r, sigma, call).price, dtype=np.float64)
        got = black76_price(f, k, t, r, sigma, call)
    assert np.array_equal(got, expected, equal_nan=True)
    assert np.array_equal(np.signbit(got), np.signbit(expected))


def test_the_edges_are_covered() -> None:
    """The hand-picked edge legs price as the general path: intrinsic at zero vol or
    expiry, NaN for a negative vol (a check that the kernel's special cases run)."""
    f = np.array([110.0, 90.0, 100.0, 120.0, 100.0])
    k = np.array([100.0, 100.0, 100.0, 100.0, 100.0])
    t = np.array([0.5, 0.5, -0.1, 0.0, 0.5])
    r = np.array([0.03, 0.03, 0.03, 0.03, 0.03])
    sigma = np.array([0.0, 0.0, 0.2, 0.2, -0.1])
    call = np.array([True, True, False, True, True])
    got = black76_price(f, k, t, r, sigma, call)
    disc = np.exp(-0.03 * 0.5)
    assert got[0] == disc * 10.0 and got[1] == 0.0  # intrinsic, discounted
    assert got[2] == 0.0 and got[3] == 20.0  # T <= 0: undiscounted intrinsic
    assert np.isnan(got[4])
    expected = np.asarray(black76(f, k, t, r, sigma, call).price, dtype=np.float64)
    assert np.array_equal(got, expected, equal_nan=True)

"""The skew reads its put deltas off the delta kernel exactly as off ``black76``.

``skew_pts`` prices the smile's put deltas with ``black76_parts.black76_delta`` on the
arrays ``black76`` would broadcast its scalars to; the oracle is the construction it
replaced, written out here: the same filtering, ``black76(forward, k, t, r, iv,
Right.PUT).delta``, the module's own interpolation in delta. Compared exactly.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.models import Right
from daemon.core.pricing import black76
from daemon.core.signals.skew import _iv_at_delta, skew_pts


def _oracle(
    k: np.ndarray, iv: np.ndarray, forward: float, t: float, rate: float, target: float
) -> float | None:
    ok = np.isfinite(k) & np.isfinite(iv) & (k > 0) & (iv > 0)
    k, iv = k[ok], iv[ok]
    order = np.argsort(k)
    k, iv = k[order], iv[order]
    if len(k) < 2 or np.any(np.diff(k) <= 0) or not k[0] <= forward <= k[-1]:
        return None
    atm_iv = float(np.interp(forward, k, iv))
    deltas = np.asarray(black76(forward, k, t, rate, iv, Right.PUT).delta, dtype=np.float64)
    target_iv = _iv_at_delta(k, iv, deltas, forward, target)
    return None if target_iv is None else 100.0 * (target_iv - atm_iv)


@settings(max_examples=200, deadline=None)
@given(
    strikes=st.lists(st.floats(3000.0, 7000.0), min_size=2, max_size=40, unique=True),
    vols=st.lists(st.one_of(st.floats(0.05, 1.0), st.just(math.nan)), min_size=40, max_size=40),
    forward=st.floats(4000.0, 6000.0),
    t_years=st.floats(1e-3, 1.0),
    rate=st.floats(0.0, 0.08),
    target=st.floats(-0.45, -0.05),
)
def test_skew_equals_the_black76_construction(
    strikes: list[float],
    vols: list[float],
    forward: float,
    t_years: float,
    rate: float,
    target: float,
) -> None:
    """Same skew (or the same None) as with black76's deltas, bit for bit."""
    k = np.array(strikes)
    iv = np.array(vols[: len(strikes)])
    expected = _oracle(k, iv, forward, t_years, rate, target)
    assert skew_pts(k, iv, forward, t_years, rate, target) == expected

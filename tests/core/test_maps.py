"""Piecewise-linear raw -> z maps: the table of the model page, flat ends, invariants."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.params import SignalsParams
from daemon.core.signals.maps import clip_unit, piecewise_linear

# The model page's original RSI map as an explicit hand table (the defaults are fitted on
# history and may move; the interpolation rules must not).
RSI_MAP = ((25.0, 1.0), (50.0, 0.0), (75.0, -0.5))
TERM_MAP = ((0.85, -0.5), (0.95, 0.0), (1.05, 1.0))
SKEW_MAP = ((2.0, 0.4), (6.0, 0.6), (10.0, 0.75))


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (0.0, 1.0),  # flat below the first breakpoint
        (25.0, 1.0),
        (37.5, 0.5),  # halfway between (25, 1) and (50, 0)
        (50.0, 0.0),
        (62.5, -0.25),  # halfway between (50, 0) and (75, -0.5)
        (75.0, -0.5),
        (100.0, -0.5),  # flat above the last breakpoint
    ],
)
def test_rsi_map_table(x: float, expected: float) -> None:
    """A three-point RSI map gives the hand-computed values of the model page's table."""
    assert piecewise_linear(x, RSI_MAP) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    ("breakpoints", "x", "expected"),
    [
        (TERM_MAP, 1.0, 0.5),  # (0.95, 0) -> (1.05, 1): halfway
        (TERM_MAP, 0.9, -0.25),  # (0.85, -0.5) -> (0.95, 0): halfway
        (SKEW_MAP, 4.0, 0.5),  # (2, 0.4) -> (6, 0.6): halfway
        (SKEW_MAP, 8.0, 0.675),  # (6, 0.6) -> (10, 0.75): halfway
        (((0.0, 0.0), (1.0, 1.0)), 0.3, 0.3),  # the events identity map
    ],
)
def test_other_maps(
    breakpoints: tuple[tuple[float, float], ...], x: float, expected: float
) -> None:
    """Midpoints of the model page's other maps interpolate linearly."""
    assert piecewise_linear(x, breakpoints) == pytest.approx(expected, abs=1e-12)


# The model page's outputs at (low end, middle, high end) of each map: the calibration
# (benchmarks/calibrate_signals.py) moves the breakpoints only, never these.
MODEL_OUTPUTS = {
    "rsi": (1.0, 0.0, -0.5),
    "macd": (1.0, 0.0, -0.5),
    "breadth": (1.0, 0.0, -0.5),
    "term": (-0.5, 0.0, 1.0),
    "rv_iv": (-0.5, 0.0, 1.0),
    "proximity": (1.0, 0.0, -0.5),
    "skew": (0.4, 0.6, 0.75),
}


@pytest.mark.parametrize("name", sorted(MODEL_OUTPUTS))
def test_fitted_defaults_keep_the_model_pages_shape(name: str) -> None:
    """Each fitted default map has three breakpoints with the model page's outputs."""
    points = getattr(SignalsParams(), name).breakpoints
    assert tuple(z for _, z in points) == MODEL_OUTPUTS[name]


def test_rejects_bad_maps() -> None:
    """Fewer than two breakpoints, non-increasing raws and a NaN input are errors."""
    with pytest.raises(ValueError, match="at least 2"):
        piecewise_linear(1.0, ((0.0, 1.0),))
    with pytest.raises(ValueError, match="strictly increase"):
        piecewise_linear(1.0, ((0.0, 1.0), (0.0, 2.0)))
    with pytest.raises(ValueError, match="non-finite"):
        piecewise_linear(math.nan, RSI_MAP)


def test_clip_unit() -> None:
    """Scores are clipped to [-1, +1]."""
    assert (clip_unit(1.5), clip_unit(-3.0), clip_unit(0.25)) == (1.0, -1.0, 0.25)


finite = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False)


@st.composite
def maps(draw: st.DrawFn) -> tuple[tuple[float, float], ...]:
    raws = draw(st.lists(finite, min_size=2, max_size=6, unique=True).map(sorted))
    # Keep neighbouring raws apart so the slope stays representable.
    if any(b - a < 1e-6 for a, b in itertools.pairwise(raws)):
        raws = [float(i) for i in range(len(raws))]
    zs = draw(st.lists(st.floats(-2, 2), min_size=len(raws), max_size=len(raws)))
    return tuple(zip(raws, zs, strict=True))


@settings(max_examples=200, deadline=None)
@given(bp=maps(), x=finite, y=finite)
def test_segments_stay_within_their_breakpoints(
    bp: tuple[tuple[float, float], ...], x: float, y: float
) -> None:
    """Within a segment the map stays between its end z values and moves monotonically."""
    lo, hi = sorted((x, y))
    for (r0, z0), (r1, z1) in itertools.pairwise(bp):
        if not r0 <= lo <= hi <= r1:
            continue
        f_lo, f_hi = piecewise_linear(lo, bp), piecewise_linear(hi, bp)
        tol = 1e-9 * (1 + abs(z0) + abs(z1))
        for f in (f_lo, f_hi):
            assert min(z0, z1) - tol <= f <= max(z0, z1) + tol
        assert (f_hi - f_lo) * (z1 - z0) >= -tol


@settings(max_examples=200, deadline=None)
@given(bp=maps(), dx=st.floats(min_value=0, max_value=1e6))
def test_flat_extrapolation_and_exact_breakpoints(
    bp: tuple[tuple[float, float], ...], dx: float
) -> None:
    """Beyond the ends the end values hold; at every breakpoint the map returns its z."""
    assert piecewise_linear(bp[0][0] - dx, bp) == bp[0][1]
    assert piecewise_linear(bp[-1][0] + dx, bp) == bp[-1][1]
    for raw, z in bp:
        assert piecewise_linear(raw, bp) == pytest.approx(z, abs=1e-9)


@settings(max_examples=300, deadline=None)
@given(bp=maps(), x=st.floats(min_value=-2e3, max_value=2e3, allow_nan=False))
def test_the_map_is_numpy_interp(bp: tuple[tuple[float, float], ...], x: float) -> None:
    """``numpy.interp`` is the reference: the same value to rounding everywhere, and
    exactly the end values beyond the ends (both hold them flat)."""
    raws, zs = [p[0] for p in bp], [p[1] for p in bp]
    expected = float(np.interp(x, raws, zs))
    got = piecewise_linear(x, bp)
    if x <= raws[0] or x >= raws[-1]:
        assert got == expected
    else:
        assert got == pytest.approx(expected, abs=1e-9 * (1 + max(map(abs, zs))))


# The map remembers a checked tuple of tuples by identity (one check per config map, not
# per reading); the oracle is the same map given as a fresh list each call, never
# remembered. Zeros of both signs are drawn: equal maps that differ in a zero's sign must
# each keep their own.
_POINT = st.one_of(st.just(0.0), st.just(-0.0), st.floats(-100.0, 100.0))


@settings(max_examples=200, deadline=None)
@given(
    raws=st.lists(_POINT, min_size=2, max_size=5, unique_by=lambda v: v + 0.0),
    zs=st.lists(_POINT, min_size=5, max_size=5),
    xs=st.lists(st.one_of(_POINT, st.floats(-200.0, 200.0)), min_size=1, max_size=6),
)
def test_a_remembered_map_maps_as_a_fresh_one(
    raws: list[float], zs: list[float], xs: list[float]
) -> None:
    """Bit for bit (the sign of a zero included) the value of the unremembered map, for a
    map and for its twin with every zero's sign flipped, called in turn."""
    ordered = sorted(raws)
    twins = [
        tuple(zip(ordered, zs, strict=False)),
        tuple(
            (-r if r == 0 else r, -z if z == 0 else z) for r, z in zip(ordered, zs, strict=False)
        ),
    ]
    for x in xs:
        for points in twins * 2:
            got = piecewise_linear(x, points)
            fresh = piecewise_linear(x, [tuple(p) for p in points])
            assert got == fresh and math.copysign(1.0, got) == math.copysign(1.0, fresh)

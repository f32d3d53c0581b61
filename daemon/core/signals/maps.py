"""Piecewise-linear maps from a signal's raw value to its score z.

The model page (shared/design/alvh-model.md, section 3) gives every signal's map as a few
``raw -> z`` breakpoints so a trader can retune without code. Between two breakpoints the
map is the straight line through them; before the first and after the last it holds the
end value (flat extrapolation), so an extreme reading never scores beyond what the trader
wrote down.

Why not ``numpy.interp``, which has the same flat ends: it computes each segment as
``slope x (x - x0) + z0``, this map as ``z0 + (x - x0) / (x1 - x0) x (z1 - z0)``; the two
agree to rounding (tests/core/test_maps.py checks it against ``numpy.interp``) but not bit
for bit (about 1 value in 100 differs in its last bit on the skew map), and the scores are
journalled in full: switching would change the journal's records and the replays'
figures for no gain. It also takes NaN silently, which this map refuses (decision of
issue 11: keep this one, tested against the reference).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence


def piecewise_linear(x: float, breakpoints: Sequence[tuple[float, float]]) -> float:
    """The map through ``breakpoints`` ([(raw, z), ...], raw strictly increasing) at ``x``.

    Linear between neighbouring breakpoints, flat beyond the ends. Raises ``ValueError``
    for fewer than two breakpoints, raw values that do not strictly increase, or a
    non-finite ``x`` or breakpoint (a NaN must never turn into a score silently; config
    refuses them already, this guards a map built in code)."""
    if len(breakpoints) < 2:
        raise ValueError(f"a map needs at least 2 breakpoints, got {len(breakpoints)}")
    if not math.isfinite(x):
        raise ValueError(f"cannot map a non-finite value {x!r}")
    raws, zs = _checked_once(breakpoints)
    if x <= raws[0]:
        return zs[0]
    if x >= raws[-1]:
        return zs[-1]
    for i in range(1, len(raws)):
        if x <= raws[i]:
            left, right = raws[i - 1], raws[i]
            frac = (x - left) / (right - left)
            return zs[i - 1] + frac * (zs[i] - zs[i - 1])
    return zs[-1]  # unreachable: x < raws[-1] was handled by the loop


def _checked(
    breakpoints: Sequence[tuple[float, float]],
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The breakpoints' raw values and scores as floats, or ``ValueError`` (see
    ``piecewise_linear``)."""
    raws = tuple(float(p[0]) for p in breakpoints)
    zs = tuple(float(p[1]) for p in breakpoints)
    if not all(math.isfinite(v) for v in (*raws, *zs)):
        raise ValueError(f"breakpoints must be finite numbers, got {list(breakpoints)}")
    if any(b <= a for a, b in itertools.pairwise(raws)):
        raise ValueError(f"breakpoint raw values must strictly increase, got {list(raws)}")
    return raws, zs


# A cycle maps eight readings through the config's few maps, the same objects cycle
# after cycle: each is checked and converted once, remembered by identity (not by
# equality, which would hand one map the floats of another equal to it, 0.0 for -0.0).
# The entry keeps its object, so an id is never reused while remembered; a map built in
# code is checked again if it is a new object, and an error is never remembered.
_CHECKED: dict[int, tuple[object, tuple[float, ...], tuple[float, ...]]] = {}
_CHECKED_MAX = 64


def _checked_once(
    breakpoints: Sequence[tuple[float, float]],
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    found = _CHECKED.get(id(breakpoints))
    if found is not None and found[0] is breakpoints and isinstance(breakpoints, tuple):
        return found[1], found[2]
    raws, zs = _checked(breakpoints)
    if isinstance(breakpoints, tuple) and all(type(p) is tuple for p in breakpoints):
        # Immutable only: a list could change after it was checked.
        if len(_CHECKED) >= _CHECKED_MAX:
            _CHECKED.clear()
        _CHECKED[id(breakpoints)] = (breakpoints, raws, zs)
    return raws, zs


def clip_unit(z: float) -> float:
    """Clip a score to [-1, +1], the range every signal's z lives in (model page 3).

    A NaN raises ``ValueError``: ``max(-1.0, nan)`` is -1.0, which would turn a broken
    score into the strongest "calm" reading without a word."""
    if math.isnan(z):
        raise ValueError("cannot clip a NaN score")
    return min(1.0, max(-1.0, z))

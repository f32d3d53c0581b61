"""The enumeration's per-variable interval (``overlay_search``): the integers a variable
may take at each partial point, given each row's room left.

For a variable x with coefficients c (one per row) and, per point, each row's room
[bottom, top] for c x: the integers x in [low, high] with bottom <= c x <= top on every
row. In numpy for a frontier of many points; in plain floats for a one-point frontier
(most of them), where numpy's cost per call would be all the time.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def interval(
    coef: FloatArray, bottom: FloatArray, top: FloatArray, low: int, high: int
) -> tuple[IntArray, IntArray]:
    """Per point, the integers x in [low, high] with bottom_i <= coef_i x <= top_i for
    every row i (points in rows of ``bottom`` and ``top``, rows in columns)."""
    if bottom.shape[0] == 1:
        return interval_one(coef, bottom[0], top[0], low, high)
    return interval_many(coef, bottom, top, low, high)


def interval_many(
    coef: FloatArray, bottom: FloatArray, top: FloatArray, low: int, high: int
) -> tuple[IntArray, IntArray]:
    """``interval`` in numpy, for any number of points."""
    moving = coef != 0
    c = np.where(moving, coef, 1.0)
    positive = c > 0
    with np.errstate(invalid="ignore"):
        up = np.where(positive, top, bottom) / c
        down = np.where(positive, bottom, top) / c
        # A row n_j does not move is met or not whatever its value.
        still_bad = (~moving) & ((top < 0) | (bottom > 0))
    last = np.where(moving, np.floor(up), np.inf).min(axis=1, initial=float(high))
    first = np.where(moving, np.ceil(down), -np.inf).max(axis=1, initial=float(low))
    last = np.where(still_bad.any(axis=1) | np.isnan(last), -1.0, last)
    first = np.where(np.isnan(first), high + 1.0, first)
    return first.astype(np.int64), last.astype(np.int64)


def interval_one(
    coef: FloatArray, bottom: FloatArray, top: FloatArray, low: int, high: int
) -> tuple[IntArray, IntArray]:
    """``interval`` of a one-point frontier (most of them: the first variables placed
    have one value at the origin), in plain floats, where numpy's cost per call would be
    all the time: the same quotients, floors and ceilings; a NaN in the least (most)
    makes it NaN as numpy's ``min`` (``max``) does; the same cast to integers.
    ``tests/core/test_overlay_search_paths.py`` holds it to ``interval_many`` bit for bit."""
    last, first = float(high), float(low)
    still_bad = False
    for c, b, t in zip(coef.tolist(), bottom.tolist(), top.tolist(), strict=True):
        if c != 0:  # NaN too, as in ``interval_many``
            up, down = (t / c, b / c) if c > 0 else (b / c, t / c)
            up, down = _floor(up), _ceil(down)
            # Once NaN, stays NaN: nothing compares below (above) it.
            if up < last or math.isnan(up):
                last = up
            if down > first or math.isnan(down):
                first = down
        elif t < 0 or b > 0:
            still_bad = True
    if still_bad or math.isnan(last):
        last = -1.0
    if math.isnan(first):
        first = high + 1.0
    both = np.array([first, last]).astype(np.int64)
    return both[:1], both[1:]


def _floor(x: float) -> float:
    """``np.floor`` of a float: infinities and NaN as they are."""
    return float(math.floor(x)) if math.isfinite(x) else x


def _ceil(x: float) -> float:
    """``np.ceil`` of a float: infinities and NaN as they are."""
    return float(math.ceil(x)) if math.isfinite(x) else x

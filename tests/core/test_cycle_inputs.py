"""The signals' daily series: the rows before today, oldest first, whatever the snapshot's order.

``signal_inputs`` sorts the whole history once and cuts it at today (``_before``); the
oracle is the plain construction it replaced, written out here: keep the rows dated
before today, stable-sort them by day, read each field. Rows arrive shuffled, with
repeated days (the stable sort's order must be kept) and days on or after today.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from functools import cache

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.cycle_inputs import signal_inputs, trading_day
from daemon.core.market import MarketView, build_market_view
from daemon.core.models import BreadthDay, DailyBar, MarketSnapshot
from daemon.core.params import ModelParams
from tests.core.factories import NOW, standard_snapshot

TODAY = trading_day(NOW)
PARAMS = ModelParams()


@cache
def _market() -> tuple[MarketSnapshot, MarketView]:
    snap = standard_snapshot()
    return snap, build_market_view(snap, PARAMS)


_DAYS = st.integers(-40, 3).map(lambda offset: TODAY + timedelta(days=offset))
_BARS = st.lists(st.builds(DailyBar, _DAYS, st.floats(1.0, 9000.0)), max_size=60)
_COUNT = st.integers(0, 3000)
_BREADTH = st.lists(st.builds(BreadthDay, _DAYS, _COUNT, _COUNT, _COUNT), max_size=60)


def _expected(rows: list[DailyBar] | list[BreadthDay], today: date, field: str) -> np.ndarray:
    kept = sorted([row for row in rows if row.day < today], key=lambda row: row.day)
    return np.asarray([getattr(row, field) for row in kept], dtype=np.float64)


@settings(max_examples=100, deadline=None)
@given(bars=_BARS, breadth=_BREADTH)
def test_series_are_the_rows_before_today_in_day_order(
    bars: list[DailyBar], breadth: list[BreadthDay]
) -> None:
    """Closes and breadth equal the filter-then-stable-sort construction, value for value."""
    snap, view = _market()
    snap = replace(snap, spx_history=tuple(bars), breadth_history=tuple(breadth))
    inputs = signal_inputs(snap, view, None, PARAMS, NOW)
    assert np.array_equal(inputs.spx_closes, _expected(bars, TODAY, "close"))
    for field in ("advancing", "declining", "unchanged"):
        assert np.array_equal(getattr(inputs, field), _expected(breadth, TODAY, field))

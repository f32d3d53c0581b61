"""Each comparison policy spends what its rule says, alone and inside a replay."""

from __future__ import annotations

import json
import math
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.models import Right
from daemon.core.params import TickParams
from daemon.replay.chain import Strike, option
from daemon.replay.params import StaticParams, VxthParams
from daemon.replay.policies import static_order, vxth_order, vxth_weight_frac
from tests.replay.replay_rig import quick_config, run_replay

VIX_EXPIRY = date(2025, 2, 19)


def _call(k: float, delta: float, bid: float, ask: float) -> Strike:
    return Strike(option("VIX", "VIX", VIX_EXPIRY, k, Right.CALL), bid, ask, delta)


CALLS = [
    _call(16, 0.55, 2.10, 2.20),
    _call(19, 0.36, 1.20, 1.26),
    _call(22, 0.29, 0.80, 0.85),
    _call(26, 0.18, 0.50, 0.54),
    _call(30, 0.11, 0.30, 0.33),
    _call(35, 0.06, 0.17, 0.20),
]


@pytest.mark.parametrize(
    ("vx1", "weight"),
    [
        (12.0, 0.0),
        (15.0, 0.0),
        (15.01, 0.01),
        (30.0, 0.01),
        (30.5, 0.005),
        (50.0, 0.005),
        (50.1, 0.0),
    ],
)
def test_vxth_tiers(vx1: float, weight: float) -> None:
    """Cboe VXTH: 0 / 1 / 0.5 / 0% at VX1 <= 15 / 15-30 / 30-50 / > 50 (table by hand)."""
    assert vxth_weight_frac(vx1, VxthParams()) == weight


def test_static_buys_the_delta_spread() -> None:
    """Long nearest 35 delta (19), short nearest 10 delta above it (30)."""
    order = static_order(
        CALLS, StaticParams(), credit_usd=10_000.0, improvement_frac=0.5, ticks=TickParams()
    )
    assert order is not None
    assert [leg.contract.strike for leg in order.legs] == [19, 30]
    # natural 1.26 - 0.30 = 0.96, mid 1.23 - 0.315 = 0.915, half way 0.9375, rounded up
    # to the 0.01 VIX combo tick: 0.94
    assert order.priced.limit_usd == pytest.approx(0.94)
    assert order.quantity == math.floor(1000.0 / 94.0)


@settings(max_examples=200, deadline=None)
@given(credit=st.floats(1_000.0, 500_000.0), frac=st.floats(0.01, 1.0))
def test_static_never_spends_more_than_its_share(credit: float, frac: float) -> None:
    """Spend <= credit_frac x credit, and one more spread would exceed it."""
    order = static_order(CALLS, StaticParams(credit_frac=frac), credit, 0.5, TickParams())
    budget = frac * credit
    unit = 94.0
    if order is None:
        assert budget < unit
        return
    assert order.spend_usd <= budget + 1e-6
    assert order.spend_usd + unit > budget


@settings(max_examples=200, deadline=None)
@given(vx1=st.floats(10.0, 60.0), equity=st.floats(50_000.0, 50_000_000.0))
def test_vxth_spends_its_tier_of_equity(vx1: float, equity: float) -> None:
    """VXTH buys floor(weight x equity / unit cost) calls of the 30-delta strike (22)."""
    order = vxth_order(CALLS, VxthParams(), vx1, equity, 0.5, TickParams())
    weight = vxth_weight_frac(vx1, VxthParams())
    unit = 84.0  # half way from 0.85 to the mid 0.825 is 0.8375: 0.84 on the 0.01 tick
    expected = math.floor(weight * equity / unit + 1e-9)
    if expected < 1:
        assert order is None
        return
    assert order is not None
    assert order.legs[0].contract.strike == 22
    assert order.quantity == expected


def _orders(path: Path) -> list[dict[str, object]]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    rows = [dict(r) for r in conn.execute("SELECT * FROM orders ORDER BY intent_at")]
    conn.close()
    return rows


def test_static_in_a_replay_spends_its_share_of_each_condor_credit(tmp_path: Path) -> None:
    """In a replay, every static order follows a condor sale the same day and costs at
    most credit_frac of that condor's credit (at fill), within one spread of it."""
    config = quick_config()
    run_replay("static", config, date(2025, 1, 2), date(2025, 2, 24), tmp_path)
    orders = _orders(tmp_path / "static.sqlite")
    credits = {
        o["trading_day"]: -float(o["avg_fill_usd"]) * int(o["filled_qty"]) * 100  # type: ignore[arg-type]
        for o in orders
        if str(o["order_ref"]).startswith("book-")
    }
    statics = [o for o in orders if str(o["order_ref"]).startswith("static-")]
    assert len(statics) >= 2
    for o in statics:
        budget = config.replay.static.credit_frac * credits[o["trading_day"]]
        unit = float(o["limit_usd"]) * 100  # type: ignore[arg-type]
        spend = float(o["avg_fill_usd"]) * int(o["filled_qty"]) * 100  # type: ignore[arg-type]
        assert spend <= budget + 1e-6
        assert spend + unit > budget


def test_vxth_in_a_replay_buys_on_vix_expiries_by_its_tier(tmp_path: Path) -> None:
    """VXTH trades only on the first session and VIX expiry days, for its tier of equity."""
    config = quick_config()
    run_replay("vxth", config, date(2025, 1, 2), date(2025, 3, 20), tmp_path)
    conn = sqlite3.connect(tmp_path / "vxth.sqlite")
    sessions = {
        json.loads(d)["day"]: json.loads(d)
        for (d,) in conn.execute("SELECT detail_json FROM events WHERE kind='replay_session'")
    }
    conn.close()
    days = sorted(sessions)
    orders = [
        o for o in _orders(tmp_path / "vxth.sqlite") if str(o["order_ref"]).startswith("vxth-")
    ]
    assert orders
    allowed = {days[0], "2025-01-22", "2025-02-19", "2025-03-18"}
    for o in orders:
        day = str(o["trading_day"])
        assert day in allowed
        before = sessions[days[days.index(day) - 1]] if day != days[0] else None
        equity = 1_000_000.0 if before is None else float(before["equity_usd"])
        weight = vxth_weight_frac(float(sessions[day]["vx1"]), config.replay.vxth)
        spend = float(o["avg_fill_usd"]) * int(o["filled_qty"]) * 100  # type: ignore[arg-type]
        assert 0 < spend <= weight * equity * 1.02
